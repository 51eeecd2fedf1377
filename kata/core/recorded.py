"""The student handout's switch (kata handout OUT): where the reference is when solutions/ is not.

A handout has no solutions/ and has its recording (data/handout/reference.pt): the reference's
outputs of every graded check, recorded when the handout was built. There the graded checks are
held to the recording, and each exercise is tested on top of the foundation (foundation/, written
with the library functions the exercises forbid) instead of the reference's modules before it.
In the kata's own repository nothing changes. kata/maintainer/handout_record.py writes both.
"""

import functools
from pathlib import Path

from kata import SOLUTIONS, track_folder

HERE = Path(__file__).resolve().parent
RECORDING = HERE / "data" / "handout" / "reference.pt"
FOUNDATION = HERE / "foundation"


def handout_mode() -> bool:
    """True in a student handout: no solutions/, and the recording of the reference's outputs."""
    return not SOLUTIONS.is_dir() and RECORDING.is_file()


def foundation(track: str = "torch") -> Path:
    """The folder each exercise's earlier modules come from: solutions/ (or solutions/numpy/), or in
    a handout its foundation."""
    return track_folder(FOUNDATION if handout_mode() else SOLUTIONS, track)


@functools.cache
def recording() -> dict[str, dict[str, object]]:
    """{check name: the reference's outputs}, as recorded when the handout was built."""
    import torch

    return torch.load(RECORDING, weights_only=True)


def recorded_outputs(check_name: str) -> dict[str, object]:
    """The reference's recorded outputs of one graded check (KeyError: a check the recording lacks)."""
    return recording()[check_name]
