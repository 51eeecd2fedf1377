"""A known mistake: an exact edit of the reference that gives a plausible wrong implementation.

Each exercise lists its own in kata/course/<exercise>.py. Applied to a copy of solutions/
(or of solutions/numpy/, for a mistake of the NumPy track), a mistake gives a plausible
wrong implementation; the catalogue proof (maintainer_tests/test_catalogue.py) shows that
the exercise's checks fail on every one of them and that the diagnosis names it. That is
how we know the tests are worth trusting.
"""

import shutil
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .. import SOLUTIONS, track_folder


@dataclass(frozen=True)
class Mistake:
    exercise: str  # the module it breaks, e.g. "attention"
    name: str  # a stable identifier, e.g. "unscaled_scores"
    description: str  # what the learner did, in one sentence
    find: str  # an exact snippet of the solution file (must occur once)
    replace: str  # what the learner wrote instead
    track: str = "torch"  # "torch": solutions/<exercise>.py; "numpy": solutions/numpy/<exercise>.py

    @property
    def solution_file(self) -> Path:
        return track_folder(SOLUTIONS, self.track) / f"{self.exercise}.py"

    @property
    def test_id(self) -> str:
        """How the tests name it: exercise-name, with the track first for the NumPy track."""
        return ("numpy-" if self.track == "numpy" else "") + f"{self.exercise}-{self.name}"

    def stale(self, source: str | None = None) -> str | None:
        """Why this mistake no longer applies to `source` (its solution file's text by default):
        its snippet does not occur exactly once; None while it applies."""
        if source is None:
            try:
                source = self.solution_file.read_text()
            except OSError as error:
                return f"mistake {self.test_id!r}: cannot read {self.solution_file.name} ({error})"
        count = source.count(self.find)
        if count == 1:
            return None
        return (
            f"mistake {self.test_id!r}: its snippet occurs {count} times in "
            f"{self.solution_file.relative_to(SOLUTIONS.parent)}, expected once; update its entry in kata/course/{self.exercise}.py"
        )

    def apply(self, source: str) -> str:
        problem = self.stale(source)
        if problem is not None:
            raise ValueError(problem)
        return source.replace(self.find, self.replace)

    def write_variant(self, folder: str | Path) -> Path:
        """Copy the track's solutions into `folder` with this mistake applied; return the folder."""
        folder = Path(folder)
        variant = self.apply(self.solution_file.read_text())  # a stale entry raises before any folder is made
        ignored = shutil.ignore_patterns("__pycache__", "numpy")  # the NumPy track is a package of its own
        shutil.copytree(track_folder(SOLUTIONS, self.track), folder, ignore=ignored)
        (folder / f"{self.exercise}.py").write_text(variant)
        return folder


class StaleMistake(UserWarning):
    """A known mistake whose snippet is no longer in its solution file (solutions/ was edited)."""


_warned: set[Mistake] = set()


def applicable(mistakes: Iterable[Mistake]) -> tuple[Mistake, ...]:
    """The mistakes that still apply to today's solutions/. Each stale one is left out with a
    StaleMistake warning (once per process): a diagnosis or a grade goes on without it, and
    `kata stubs --check` and the catalogue proof name it for the maintainer. A student handout has no
    edits to apply (kata/core/recorded.py): none."""
    from kata.core.recorded import handout_mode

    if handout_mode():
        return ()
    kept = []
    for mistake in mistakes:
        problem = mistake.stale()
        if problem is None:
            kept.append(mistake)
        elif mistake not in _warned:
            _warned.add(mistake)
            where = Path(__file__).parents[1] / "course" / f"{mistake.exercise}.py"
            line = next(
                (
                    n
                    for n, text in enumerate(where.read_text().splitlines(), 1)
                    if f'"{mistake.name}"' in text
                ),
                0,
            )  # the entry's line in its course module: where to update it
            warnings.warn_explicit(
                f"{problem} (skipped: no diagnosis names it)", StaleMistake, f"kata/course/{where.name}", line
            )
    return tuple(kept)


def stale_entries(mistakes: Iterable[Mistake]) -> list[str]:
    """Why each of `mistakes` that no longer applies to solutions/ is stale (none: an empty list)."""
    return [problem for mistake in mistakes if (problem := mistake.stale()) is not None]


def on_numpy_too(mistakes: "tuple[Mistake, ...]", *names: str) -> tuple[Mistake, ...]:
    """The NumPy track's copies of the mistakes called `names`: the same edit, where both tracks' solutions read alike."""
    by_name = {mistake.name: mistake for mistake in mistakes}
    return tuple(replace(by_name[name], track="numpy") for name in names)
