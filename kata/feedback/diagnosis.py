"""Name the learner's mistake: run the known-wrong implementations on the same check and
see which one fails it in the same way, then on every graded check of the exercise to
tell an exact diagnosis from a "looks like" (see Match below).

A failure is "the same" when the same component is wrong with the same value (tensors
within SAME_MISTAKE), or, for a failure that carries no value (a plain assert, or an error
raised inside the implementation), when it has the same type and message. Before
blaming a mistake, the reference must pass the check: a check whose outcome does not
depend on the implementation under test can diagnose nothing. When no known mistake
matches, nothing is said beyond what the failure itself knows: we never guess.
"""

import atexit
import contextlib
import functools
import io
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import torch

from kata import COURSE, SOLUTIONS, track_folder
from kata.core.compare import SAME_MISTAKE, Mismatch
from kata.core.mistakes import applicable
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


# ---- exact or "looks like": the learner's outcomes on every graded check of the exercise ----
#
# A failure of one check matching a mistake's is a clue, not a proof (a softmax without the max
# fails a fully hidden row exactly as a -inf fill does). A diagnosis is *exact* only when the
# learner's code and the mistake's agree on every graded check of the exercise they were both
# run on: the same outputs (tensors within SAME_MISTAKE), or the same error. It *looks like* the
# mistake when the failed check fails the same way and the same checks pass and fail, but some
# values elsewhere differ. Anything less says nothing.


# What a diagnosis says (explain): "exactly" only of an exact match, "looks like" of a weaker one.
EXACTLY = "Diagnosis: this is exactly what you get if you"
LOOKS_LIKE = "Diagnosis: this looks like what you get if you"


@dataclass(frozen=True)
class Match:
    mistake: "Mistake"
    exact: bool
    # On how many graded checks the learner's outcome is the mistake's: what ranks the weaker matches.
    agreeing: int = 0


# An outcome: ("outputs", {key: value}) or ("raised", type name, message).
Outcome = tuple
# The learner's outcomes on an exercise's graded checks: {check name: (check, outcome)}.
Outcomes = dict


def outcome_of(check: "Check", module: ModuleType) -> Outcome:
    """What running `check`'s probe on `module` gives, as the grader would receive it."""
    return _outcome_and_error(check, module)[0]


def _outcome_and_error(check: "Check", module: ModuleType) -> tuple[Outcome, Exception | None]:
    from kata.core.checking import through_the_wire

    try:
        return ("outputs", through_the_wire(check.probe(module))), None
    except Exception as error:  # noqa: BLE001  (any implementation may fail in any way)
        return _raised(error), error


def _raised(error: BaseException) -> Outcome:
    return ("raised", type(error).__name__, str(error)[:300])


def outcome_from_record(record: object) -> Outcome | None:
    """A grader child's record of one check as an outcome (None when it is unreadable)."""
    from kata.core import wire

    if not isinstance(record, dict):
        return None
    try:
        if isinstance(record.get("error"), dict):
            error = record["error"]
            return ("raised", str(error.get("type")), str(error.get("message"))[:300])
        return ("outputs", {key: wire.decode(value) for key, value in dict(record["outputs"]).items()})
    except Exception:  # noqa: BLE001  (untrusted data)
        return None


def same_outcome(a: Outcome | None, b: Outcome | None) -> bool:
    if a is None or b is None or a[0] != b[0]:
        return False
    if a[0] == "raised":
        return a[1:] == b[1:]
    mine, theirs = a[1], b[1]
    if mine.keys() != theirs.keys():
        return False
    for key, value in mine.items():
        other = theirs[key]
        if isinstance(value, torch.Tensor) or isinstance(other, torch.Tensor):
            if not (
                isinstance(value, torch.Tensor)
                and isinstance(other, torch.Tensor)
                and value.shape == other.shape
                and bool(
                    torch.isclose(
                        value.double(), other.double(), rtol=SAME_MISTAKE, atol=SAME_MISTAKE, equal_nan=True
                    ).all()
                )
            ):
                return False
        elif value != other:
            return False
    return True


def passes(check: "Check", outcome: Outcome | None) -> bool:
    from kata.core.checking import reference_outputs

    if outcome is None or outcome[0] != "outputs":
        return False
    try:
        check.compare(outcome[1], reference_outputs(check))
    except Exception:  # noqa: BLE001
        return False
    return True


@contextlib.contextmanager
def silently() -> Iterator[None]:
    """Nothing a variant (or the reference) prints or warns reaches the learner."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def _load(group: str, folder: Path, track: str) -> ModuleType:
    from kata.core.as_torch import as_torch
    from kata.core.loading import load

    module = load(group, folder, reference=track_folder(SOLUTIONS, track))
    return as_torch(module) if track == "numpy" else module


_variant_outcomes: dict[tuple, Outcome] = {}
_variant_errors: dict[tuple, Exception] = {}  # the error itself, for an outcome that is one


def variant_outcome(mistake: "Mistake", check: "Check") -> Outcome:
    """The mistake's outcome on `check` (computed once per process)."""
    from kata.core.checking import reference_lock

    key = (mistake, check.name)
    if key not in _variant_outcomes:
        with reference_lock, silently():
            failure: Exception | None
            try:
                module = _load(check.group, variant_folder(mistake), mistake.track)
            except Exception as error:  # noqa: BLE001
                outcome, failure = _raised(error), error
            else:
                outcome, failure = _outcome_and_error(check, module)
            if failure is not None:
                # Without its traceback: the frames would keep every tensor of the probe alive.
                _variant_errors[key] = failure.with_traceback(None)
            _variant_outcomes[key] = outcome
    return _variant_outcomes[key]


def variant_failure(mistake: "Mistake", check: "Check") -> BaseException | None:
    """How the mistake fails graded `check` (None when it passes): what run_check raises on its
    variant, from its outcome (variant_outcome: the same probe, encoding and comparison), so the
    grader's diagnosis of each failing check does not run every variant again."""
    from kata.core.checking import reference_outputs

    outcome = variant_outcome(mistake, check)
    if outcome[0] == "raised":
        return _variant_errors[mistake, check.name]
    try:
        check.compare(outcome[1], reference_outputs(check))
    except Exception as error:  # noqa: BLE001  (a judge may fail in any way on a wrong output)
        return error
    return None


def _mistake_at(folder: Path, exercise: str, track: str) -> "Mistake | None":
    """The known mistake of `exercise` whose variant_folder is `folder`, or None."""
    for mistake in mistakes_for(exercise, track):
        with contextlib.suppress(ValueError):  # a stale entry (its snippet is gone) has no variant
            if variant_folder(mistake) == folder:
                return mistake
    return None


_reproducible: dict[tuple[str, str], bool] = {}


def reproducible(check: "Check", track: str) -> bool:
    """Whether the track's reference gives the same outputs twice (a dropout probe of the NumPy
    track draws from NumPy's generator, which no probe seeds): values of a check that is not
    cannot tell two implementations apart, only whether each passes."""
    from kata.core.checking import reference_lock

    if (check.name, track) not in _reproducible:
        with reference_lock, silently():
            module = _load(check.group, track_folder(SOLUTIONS, track), track)
            _reproducible[check.name, track] = same_outcome(
                outcome_of(check, module), outcome_of(check, module)
            )
    return _reproducible[check.name, track]


def learner_outcomes(exercise: str, folder: Path, track: str = "torch") -> "Outcomes":
    """The learner's outcomes on every graded check of `exercise` that needs no pretrained weights."""
    from kata.core.checking import reference_lock
    from kata.course import group_checks

    outcomes = {}
    with reference_lock, silently():
        try:
            module = _load(exercise, folder, track)
        except Exception as error:  # noqa: BLE001
            module, failed = None, ("raised", type(error).__name__, str(error)[:300])
        for check in group_checks(exercise, track):
            if not check.needs_weights:
                outcomes[check.name] = (check, failed if module is None else outcome_of(check, module))
    return outcomes


def _strength(mistake: "Mistake", learner: "Outcomes | None") -> Match | None:
    """The match: exact when the mistake agrees with the learner on every graded check compared
    (one at least); weaker when the same checks pass and fail but some values differ (`agreeing`
    counts the checks that do agree); None when different checks fail."""
    compared = agreeing = 0
    for check, mine in (learner or {}).values():
        if check.needs_weights or check.hidden:  # the whole pretrained model: slow; hidden: the public decide
            continue
        compared += 1
        theirs = variant_outcome(mistake, check)
        if same_outcome(mine, theirs) or (
            not reproducible(check, mistake.track) and passes(check, mine) == passes(check, theirs)
        ):
            agreeing += 1
        elif passes(check, mine) != passes(check, theirs):
            return None
    return Match(mistake, exact=compared > 0 and agreeing == compared, agreeing=agreeing)


def diagnose(
    failure: BaseException,
    exercise: str,
    run: Callable[[Path], BaseException | None],
    track: str = "torch",
    learner: "Outcomes | Callable[[], Outcomes] | None" = None,
) -> list[Match]:
    """The known mistakes of `exercise` (in `track`) that fail like `failure`: the exact ones
    alone when there are any, else the weaker ones, those that agree on more checks first.

    `run(folder)` runs the failed test or check with the implementation in `folder` and returns
    the exception it ends with, or None when it passes. `learner` holds the learner's outcomes
    on the exercise's graded checks (learner_outcomes); without it no match is exact.
    A callable `learner` is called only when some mistake fails like `failure`.
    """
    known = applicable(mistakes_for(exercise, track))  # a stale entry is skipped, with a warning
    with silently():
        if run(track_folder(SOLUTIONS, track)) is not None:
            return []
        candidates = [mistake for mistake in known if same_failure(failure, run(variant_folder(mistake)))]
    if not candidates:
        return []
    if callable(learner):
        learner = learner()
    matches = [match for match in (_strength(mistake, learner) for mistake in candidates) if match]
    exact = [match for match in matches if match.exact]
    return exact or sorted(matches, key=lambda match: -match.agreeing)  # stable: course order among equals


def explain(matches: "Sequence[Match | Mistake]") -> str:
    """The sentence that names the mistake(s), or "" when none matched.

    "exactly" only for exact matches (diagnose puts them first and alone); "looks like" else."""
    if not matches:
        return ""
    # A bare Mistake (kata diverge's own diagnosis, which compares every stage) counts as exact.
    as_matches = [match if isinstance(match, Match) else Match(match, True) for match in matches]
    named = "; or you ".join(
        f"{match.mistake.description} ({match.mistake.exercise}/{match.mistake.name})" for match in as_matches
    )
    if all(match.exact for match in as_matches):
        return f"\n  {EXACTLY} {named}."
    return f"\n  {LOOKS_LIKE} {named} (not every check agrees)."


def diagnose_check(
    check: "Check",
    failure: BaseException,
    track: str = "torch",
    learner: "Outcomes | Callable[[], Outcomes] | None" = None,
) -> list[Match]:
    """The known mistakes whose implementation fails graded `check` as `failure` did.

    The grader's scores and the checks' pytest twins both use it. It runs in this process
    on the catalogue's variants of the reference: our code, never the submission's.
    `learner`: the learner's outcomes on the exercise's graded checks (see diagnose)."""
    from kata.core.checking import reference_lock, run_check

    if check.group not in COURSE or check.hidden:  # a hidden check's message is its comparison's alone
        return []

    def run(folder: Path) -> BaseException | None:
        known = _mistake_at(folder, check.group, track)
        if known is not None:  # a known mistake's variant: its outcome is computed once
            return variant_failure(known, check)
        try:
            run_check(check, _load(check.group, folder, track))
        except Exception as error:  # noqa: BLE001  (a known-wrong implementation may fail in any way)
            return error
        return None

    with reference_lock:  # loading modules is not thread-safe
        return diagnose(failure, check.group, run, track, learner)


# ---- the cause first: a failing check that a later check of the same exercise runs too ----


def uses(check: "Check", track: str = "torch") -> tuple["Check", ...]:
    """The checks of `check`'s exercise whose code it runs too (the course module's USES:
    {slug: slugs}), in course order: when one of them fails, fix that first."""
    from kata.course import exercise, group_checks

    if check.group not in COURSE:
        return ()
    slug = check.slug.removesuffix("_inference_only")
    used = getattr(exercise(check.group), "USES", {}).get(slug, ())
    return tuple(
        other
        for other in group_checks(check.group, track)
        if other.slug.removesuffix("_inference_only") in used
    )


def root_cause(check: "Check", passed: Callable[["Check"], bool], track: str = "torch") -> "Check | None":
    """The first check that `check` uses (directly or through another) and that fails by
    `passed(check)`, the most basic first; None when every one of them passes."""
    for used in uses(check, track):
        deeper = root_cause(used, passed, track)
        if deeper is not None:
            return deeper
        if not passed(used):
            return used
    return None


def fix_first(root: "Check", used: bool = True) -> str:
    """What a failure says instead of its own hint when a more basic check fails: `used` when the
    failed check is known to use it (USES), else only that the rest of the exercise builds on it."""
    why = "this test uses it" if used else "it fails too, and the rest of this exercise builds on it"
    return f"\n  Fix {root.name} first ({root.title}): {why}."


def basics(exercise: str, track: str = "torch") -> tuple["Check", ...]:
    """The checks of `exercise` that others use and that use none themselves, in course order."""
    from kata.course import group_checks

    if exercise not in COURSE:
        return ()
    checks = group_checks(exercise, track)
    used = {other.name for check in checks for other in uses(check, track)}
    return tuple(check for check in checks if check.name in used and not uses(check, track))
