"""Name the learner's mistake: run the known-wrong implementations on the same check and
see which one fails it in exactly the same way.

A failure is "the same" when the same component is wrong with the same value (tensors
within SAME_MISTAKE), or, for a failure that carries no value (a plain assert, or an error
raised inside the implementation), when it has the same type and message. Before
blaming a mistake, the reference must pass the check: a check whose outcome does not
depend on the implementation under test can diagnose nothing. When no known mistake
matches, nothing is said beyond what the failure itself knows: we never guess.
"""

import atexit
import functools
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from kata import COURSE, SOLUTIONS, track_folder
from kata.core.compare import SAME_MISTAKE, Mismatch
from kata.course import mistakes_for

if TYPE_CHECKING:
    from kata.core.checking import Check
    from kata.core.mistakes import Mistake


@functools.cache
def _variants_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="kata-mistakes-"))
    atexit.register(shutil.rmtree, root, True)
    return root


@functools.cache
def variant_folder(mistake: "Mistake") -> Path:
    """A folder holding the reference with `mistake` applied (made once per process)."""
    return mistake.write_variant(_variants_root() / f"{mistake.track}-{mistake.exercise}-{mistake.name}")


class Reported(Exception):
    """An error that a grader's child reported: only its type name and (shortened) message."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name


def same_failure(mine: BaseException, theirs: BaseException | None) -> bool:
    """Whether two failures of one check are the same: same component, same wrong value."""
    if isinstance(mine, Reported):
        return (
            theirs is not None and type(theirs).__name__ == mine.type_name and str(theirs)[:500] == str(mine)
        )
    if isinstance(mine, Mismatch) and isinstance(theirs, Mismatch):
        if mine.what != theirs.what:
            return False
        a, b = mine.actual, theirs.actual
        if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
            return (
                isinstance(a, torch.Tensor)
                and isinstance(b, torch.Tensor)
                and a.shape == b.shape
                and bool(
                    torch.isclose(
                        a.double(), b.double(), rtol=SAME_MISTAKE, atol=SAME_MISTAKE, equal_nan=True
                    ).all()
                )
            )
        return a == b
    return type(mine) is type(theirs) and _message(mine) == _message(theirs)


def _message(error: BaseException) -> str:
    """An error's own message, without the explanation pytest appends to a failed assert
    (which shows object reprs, memory addresses included)."""
    return str(error).split("\nassert ", 1)[0]


def diagnose(
    failure: BaseException, exercise: str, run: Callable[[Path], BaseException | None], track: str = "torch"
) -> list["Mistake"]:
    """The known mistakes of `exercise` (in `track`) that fail exactly like `failure`.

    `run(folder)` runs the failed check with the implementation in `folder` and returns
    the exception it ends with, or None when it passes.
    """
    if run(track_folder(SOLUTIONS, track)) is not None:
        return []
    mistakes = mistakes_for(exercise, track)
    return [mistake for mistake in mistakes if same_failure(failure, run(variant_folder(mistake)))]


def explain(mistakes: Sequence["Mistake"]) -> str:
    """The sentence that names the mistake(s), or "" when none matched."""
    if not mistakes:
        return ""
    named = "; or you ".join(
        f"{mistake.description} ({mistake.exercise}/{mistake.name})" for mistake in mistakes
    )
    return f"\n  Diagnosis: this is exactly what you get if you {named}."


def diagnose_check(check: "Check", failure: BaseException, track: str = "torch") -> list["Mistake"]:
    """The known mistakes whose implementation fails graded `check` exactly as `failure` did.

    The grader's scores and the checks' pytest twins both use it. It runs in this process
    on the catalogue's variants of the reference: our code, never the submission's."""
    from kata.core.as_torch import as_torch
    from kata.core.checking import reference_lock, run_check
    from kata.core.loading import load

    if check.group not in COURSE:
        return []

    def run(folder: Path) -> Exception | None:
        try:
            module = load(check.group, folder, reference=track_folder(SOLUTIONS, track))
            run_check(check, as_torch(module) if track == "numpy" else module)
        except Exception as error:  # noqa: BLE001  (a known-wrong implementation may fail in any way)
            return error
        return None

    with reference_lock:  # loading modules is not thread-safe
        return diagnose(failure, check.group, run, track)
