"""Support code for the Transformer Encoder Kata: loading, comparing, weights and stubs.

Nothing here is an exercise; learners never need to open it.
"""

import os
from pathlib import Path

# Tests and tools never download anything from a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
EXERCISES = REPO / "exercises"
SOLUTIONS = REPO / "solutions"

# The exercises in course order. Each module imports only modules before it.
COURSE = ("attention", "multi_head", "feed_forward", "layer_norm", "positional", "encoder")

# The two tracks: the course in PyTorch (exercises/, solutions/) or in plain NumPy (their
# numpy/ sub-packages). Track -> sub-folder of exercises/ and solutions/.
TRACKS = {"torch": "", "numpy": "numpy"}


def track_folder(root, track):
    """`root` (EXERCISES or SOLUTIONS) for the PyTorch track, its numpy/ sub-package for the NumPy track."""
    return root / TRACKS[track]
