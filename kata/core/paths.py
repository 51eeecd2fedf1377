"""Saying where things are: a path as the learner would type it, the line their code raised at.

Plain standard library: kata/grader/sandbox/child.py uses these in its sandbox.
"""

import os
import traceback
from pathlib import Path

PathLike = str | os.PathLike[str]


def shown_path(path: PathLike) -> str:
    """`path` as the reader would type it: relative to the current folder when it is inside it
    (exercises/attention.py), a relative path as it was given, any other as it is."""
    path = Path(path)
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def raised_in(error: BaseException, folder: PathLike | None = None) -> traceback.FrameSummary | None:
    """The innermost frame of `error`'s traceback that runs a file inside `folder` (any file when
    `folder` is None), or None when the error never went through one."""
    frames: list[traceback.FrameSummary] = traceback.extract_tb(error.__traceback__)
    if folder is not None:
        inside = Path(folder).resolve()
        frames = [frame for frame in frames if Path(frame.filename).resolve().is_relative_to(inside)]
    return frames[-1] if frames else None


def where_raised(error: BaseException, folder: PathLike | None = None) -> str | None:
    """'exercises/attention.py:42': where `error` was raised in the code inside `folder` (see
    raised_in), the file as shown_path shows it; None when it was not raised there."""
    frame = raised_in(error, folder)
    return f"{shown_path(frame.filename)}:{frame.lineno}" if frame else None
