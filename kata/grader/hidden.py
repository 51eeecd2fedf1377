"""The hidden checks of the instructor's Gradescope zip: the public checks on inputs no student has seen.

`python grader.py --gradescope-zip autograder.zip` draws a secret (secrets.randbits) and writes
it into the zip, in kata/HIDDEN.json, with the instructor's choices: the share of each check's
points its hidden twin carries (--hidden-points, default 0.5) and when Gradescope shows the hidden
results to students (--hidden-visibility, default after_due_date). The secret never exists in a
repository nor in a handout, and nothing prints it. A grader that finds the file grades, besides
every public check, its hidden twin (kata/core/checking.py hidden_twin): the same probe, its seeds
moved and its declared sizes redrawn by a seed made from the secret and the submission's own
bytes, and, for the whole-model checks, pretrained BERT on sentences drawn from
kata/core/data/hidden_sentences.txt (instructors' only). So a submission that has learnt the
public inputs' answers, or printed its hidden inputs in an earlier submission, earns nothing
from it there. Each child is given only its submission's seed, never the secret, and the
reference outputs are computed in the grader's process as for every check.

Without the file (practice grading, `python grader.py`, pytest) nothing changes: only the public
checks, at their full points.
"""

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from kata import REPO
from kata.core.checking import Check, hidden_twin

SECRET_FILE = REPO / "kata" / "HIDDEN.json"  # only in a Gradescope zip: never in a repository
VISIBILITIES = ("after_due_date", "hidden", "after_published", "visible")  # Gradescope's, for a test
DEFAULT_VISIBILITY = "after_due_date"
DEFAULT_SHARE = 0.5


@dataclass(frozen=True)
class Hidden:
    secret: int  # drawn when the zip is built
    visibility: str = (
        DEFAULT_VISIBILITY  # of the hidden checks in results.json; the public ones are "visible"
    )
    share: float = DEFAULT_SHARE  # of each check's points, carried by its hidden twin

    def __post_init__(self) -> None:
        if self.visibility not in VISIBILITIES:
            raise ValueError(
                f"hidden visibility {self.visibility!r}: Gradescope's are {', '.join(VISIBILITIES)}"
            )
        if not 0 <= self.share <= 1:
            raise ValueError(f"hidden points share {self.share!r}: a fraction of each check's points, 0 to 1")

    def seed_for(self, submission: str | Path) -> int:
        """The seed of `submission`'s hidden inputs: from the secret and the submission's modules' bytes,
        so a regrade of the same files draws the same inputs and any other submission draws others."""
        from kata.grader.grading import submission_digest

        digest = hashlib.sha256(f"{self.secret}:{submission_digest(submission)}".encode()).digest()
        return int.from_bytes(digest[:6], "big")  # 48 bits: every seed a probe adds to it stays a valid seed

    def split(self, points: float) -> tuple[float, float]:
        """A check's points as (public, hidden twin's); they add up to `points`."""
        hidden = round(points * self.share, 2)
        return round(points - hidden, 2), hidden


def make(visibility: str = DEFAULT_VISIBILITY, share: float = DEFAULT_SHARE) -> Hidden:
    """A new secret, with the instructor's choices."""
    return Hidden(secrets.randbits(128), visibility, share)


def to_json(hidden: Hidden) -> str:
    return json.dumps(asdict(hidden)) + "\n"


def settings(path: Path = SECRET_FILE) -> Hidden | None:
    """The zip's hidden-check settings, or None where there are none (a repository, a handout)."""
    if not path.is_file():
        return None
    return Hidden(**json.loads(path.read_text()))


def graded_checks(
    checks: Sequence[Check], submission: str | Path | None, hidden: Hidden | None = None
) -> list[Check]:
    """What the grader grades of one group of `submission`: `checks` unchanged without hidden settings;
    with them, each public check at its public share of the points, then the hidden twins (with no
    submission, only their names and points are meant: their seed is 0)."""
    hidden = hidden or settings()
    if hidden is None:
        return list(checks)
    seed = 0 if submission is None else hidden.seed_for(submission)
    public = [replace(check, points=hidden.split(check.points)[0]) for check in checks]
    twins = [hidden_twin(check, seed, hidden.split(check.points)[1]) for check in checks]
    return public + twins


def seed_of(checks: Sequence[Check]) -> int | None:
    """The hidden seed of a group's checks (what its child is given), or None when none is hidden."""
    return next((check.hidden_seed for check in checks if check.hidden_seed is not None), None)


def visibility(check: Check, hidden: Hidden | None = None) -> str:
    """Gradescope's visibility of `check`'s test: "visible" for a public check, the settings' for a hidden one."""
    if not check.hidden:
        return "visible"
    hidden = hidden or settings()
    return hidden.visibility if hidden else DEFAULT_VISIBILITY
