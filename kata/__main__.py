"""`python -m kata COMMAND ...`: the `kata` command, for when its script is not on PATH."""

import sys

from kata.cli import main

sys.exit(main())
