"""A known mistake: an exact edit of the reference that gives a plausible wrong implementation.

Each exercise lists its own in kata/course/<exercise>.py. Applied to a copy of solutions/
(or of solutions/numpy/, for a mistake of the NumPy track), a mistake gives a plausible
wrong implementation; the catalogue proof (maintainer_tests/test_catalogue.py) shows that
the exercise's checks fail on every one of them and that the diagnosis names it. That is
how we know the tests are worth trusting.
"""

import shutil
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

    def apply(self, source: str) -> str:
        count = source.count(self.find)
        if count != 1:
            raise ValueError(
                f"mistake {self.name!r}: its snippet occurs {count} times in "
                f"{self.solution_file.relative_to(SOLUTIONS.parent)}, expected once; update the catalogue"
            )
        return source.replace(self.find, self.replace)

    def write_variant(self, folder: str | Path) -> Path:
        """Copy the track's solutions into `folder` with this mistake applied; return the folder."""
        folder = Path(folder)
        ignored = shutil.ignore_patterns("__pycache__", "numpy")  # the NumPy track is a package of its own
        shutil.copytree(track_folder(SOLUTIONS, self.track), folder, ignore=ignored)
        path = folder / f"{self.exercise}.py"
        path.write_text(self.apply(path.read_text()))
        return folder


def on_numpy_too(mistakes: "tuple[Mistake, ...]", *names: str) -> tuple[Mistake, ...]:
    """The NumPy track's copies of the mistakes called `names`: the same edit, where both tracks' solutions read alike."""
    by_name = {mistake.name: mistake for mistake in mistakes}
    return tuple(replace(by_name[name], track="numpy") for name in names)
