"""Grade the Transformer Encoder Kata.

    python grader.py                      grade exercises/ (your work)
    python grader.py --solutions          grade solutions/ (the reference: 100/100)
    python grader.py --submission DIR     grade the modules in DIR (or DIR/exercises)
    python grader.py --only attention     grade some exercises (repeatable)
    python grader.py --json results.json  also write Gradescope's results.json
    python grader.py --track numpy        grade the NumPy track: exercises/numpy/ (or with any option above)
    python grader.py --watch              grade the exercise you work on each time you save
    python grader.py --hint attention     show the next hint for an exercise
    python grader.py --class DIR --out OUT
                                          grade every learner folder in DIR: OUT/<learner>.json
                                          and OUT/summary.csv; run it again to resume
    python grader.py --class DIR --out OUT --shard K/N
                                          grade the K-th of N slices of the class (`kata merge`
                                          joins the shards); --jobs N: children at once
    python grader.py --gradescope-zip autograder.zip
                                          write the zip Gradescope's autograder takes

Exit code: 0 when every point graded is earned, 1 when not, 2 on a usage or internal error.
The score depends only on what the submitted functions return: each exercise runs in a
fresh, sandboxed child process and is judged here, against the reference.

This script is the `kata` command under its first name: --watch is `kata watch`, --hint
NAME is `kata hint NAME`, and everything else is `kata grade` (kata/grader/command.py).
"""

import argparse
import sys
from collections.abc import Sequence

from kata import cli


def translate(argv: Sequence[str]) -> tuple[str, str, list[str]]:
    """(the `kata` command, its name in messages, its arguments) for grader.py's arguments."""
    modes = argparse.ArgumentParser(prog="grader.py", add_help=False, allow_abbrev=False)
    modes.add_argument("--hint", metavar="NAME")
    modes.add_argument("--watch", action="store_true")
    mode, rest = modes.parse_known_args(argv)  # the rest, in order, is the command's to judge
    if mode.hint is not None:
        return "hint", "grader.py --hint", [mode.hint, *rest]
    if mode.watch:
        return "watch", "grader.py --watch", rest
    return "grade", "grader.py", rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run grader.py's command line; return the exit code (argparse exits 2 on a usage error)."""
    command, prog, arguments = translate(sys.argv[1:] if argv is None else argv)
    parser = cli.command_parser(command, prog)
    if command == "grade":
        parser.description = __doc__  # --help shows every mode, --watch and --hint included
    return cli.run(parser, parser.parse_args(arguments))


if __name__ == "__main__":
    sys.exit(main())
