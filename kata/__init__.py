"""Support code for the Transformer Encoder Kata. Nothing here is an exercise.

kata/course/      one module per exercise: its checks, points, known mistakes, hints
kata/core/        loading implementations, comparing tensors, weights, the NumPy face
kata/grader/      grading in sandboxed children; sandbox/ is all a child is given
kata/feedback/    what a learner reads: diagnosis, hints, diverge, watch, pytest's report
kata/views/       attention pictures and the offline attention page
kata/maintainer/  maintainers' tools: stubs, benchmark, Hugging Face recording
kata/cli.py       the `kata` command and its sub-commands
"""

import os
from pathlib import Path

from kata.course import COURSE, GROUPS

# Tests and tools never download anything from a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"

__version__ = "0.2.0"

REPO = Path(__file__).resolve().parent.parent
EXERCISES = REPO / "exercises"
SOLUTIONS = REPO / "solutions"

# The two tracks: the course in PyTorch (exercises/, solutions/) or in plain NumPy (their
# numpy/ sub-packages). Track -> sub-folder of exercises/ and solutions/.
TRACKS = {"torch": "", "numpy": "numpy"}


def track_folder(root: Path, track: str) -> Path:
    """`root` (EXERCISES or SOLUTIONS) for the PyTorch track, its numpy/ sub-package for the NumPy track."""
    return root / TRACKS[track]


__all__ = ["COURSE", "EXERCISES", "GROUPS", "REPO", "SOLUTIONS", "TRACKS", "track_folder"]
