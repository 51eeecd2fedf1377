"""No held-out mistake (kata/maintainer/held_out.py: plausible, and none of them in the catalogue)
gets a false "exactly", from pytest's plugin or from the grader; and the known-wrong variants
the diagnosis runs stay silent.

Each held-out mistake is applied to a copy of the reference and
  - run as a learner runs its exercise's test file (in process, as test_catalogue.py does),
  - graded as grader.py grades it: the child's probes and records (its own describe()), in
    this process, then the grader's judge_group and the report's next step, in the grader's
    own code (that a child only carries the same outputs over is test_grader.py's proof).
Every check must fail somewhere, no line may say "this is exactly what you get if you" (the
mistake is in no catalogue, so any "exactly" is false), and nothing a catalogue variant prints
or warns may reach either output: while these run, every variant the diagnosis builds prints
and warns (noisy_variants). The summary counts how many got a useful pointer: a "looks like"
diagnosis or a hint that uses the words of the right place (held_out.RIGHT_PLACE).

CI runs it with `pytest --solutions -m catalogue`.
"""

import functools
import warnings

import pytest
import torch

from kata import course
from kata.core import wire
from kata.core.mistakes import Mistake
from kata.feedback import diagnosis
from kata.feedback.diagnosis import (
    EXACTLY,
    diagnose_check,
    explain,
    learner_outcomes,
    variant_failure,
    variant_folder,
)
from kata.maintainer.held_out import HELD_OUT, in_the_catalogue, verdict
from maintainer_tests.test_catalogue import hugging_face_imported_once, run_exercise_tests

__all__ = ["hugging_face_imported_once"]  # test_catalogue's fixture, used here too

VERDICTS: dict[str, tuple[str, str]] = {}  # test id -> what the learner was told (held_out.verdict)
NOISE = "KATA-VARIANT-NOISE"
# Appended to every variant the diagnosis builds: each public function and forward() prints to
# stdout and stderr and warns before it runs, and the module does as it is imported.
NOISY = f'''

import functools as _noise_functools
import sys as _noise_sys
import types as _noise_types
import warnings as _noise_warnings


def _noisy(function):
    @_noise_functools.wraps(function)
    def noisy(*args, **kwargs):
        print("{NOISE} on stdout")
        print("{NOISE} on stderr", file=_noise_sys.stderr)
        _noise_warnings.warn("{NOISE} as a warning", stacklevel=2)
        return function(*args, **kwargs)

    return noisy


for _name, _value in list(globals().items()):
    if isinstance(_value, type) and _value.__module__ == __name__ and "forward" in vars(_value):
        _value.forward = _noisy(_value.forward)
    elif isinstance(_value, _noise_types.FunctionType) and _value.__module__ == __name__ and _name[0] != "_":
        globals()[_name] = _noisy(_value)
_noisy(lambda: None)()
'''


@pytest.fixture(scope="module")
def noisy_variants(tmp_path_factory):
    """While the module runs, every known-wrong variant the diagnosis builds is noisy (NOISY)."""
    root = tmp_path_factory.mktemp("noisy-variants")

    @functools.cache
    def noisy_variant_folder(mistake: Mistake):
        folder = mistake.write_variant(root / f"{mistake.track}-{mistake.exercise}-{mistake.name}")
        path = folder / f"{mistake.exercise}.py"
        path.write_text(path.read_text() + NOISY)
        return folder

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diagnosis, "variant_folder", noisy_variant_folder)
        yield noisy_variant_folder


def graded(mistake: Mistake, folder):
    """The grader's results and next step for `mistake` applied in `folder`: a child's work done in
    this process (its probes, its records, its describe() of an error), then the grader's own."""
    from kata.feedback.pytest_plugin import Implementation
    from kata.grader import grading, report
    from kata.grader.launch import ChildOutcome
    from kata.grader.sandbox.child import describe

    variant = mistake.write_variant(folder)
    checks = course.group_checks(mistake.exercise, mistake.track)
    records = {"done": {}}
    module = Implementation(variant, mistake.track).module(mistake.exercise)
    for check in checks:
        try:
            outputs = check.probe(module)
            records[check.name] = {"outputs": {key: wire.encode(value) for key, value in outputs.items()}}
        except Exception as error:  # noqa: BLE001  (a wrong implementation may fail in any way)
            records[check.name] = {"error": describe(error, variant)}
    ended_well = ChildOutcome(b"", b"", 0, None, False, False, False)
    group = grading.judge_group(
        mistake.exercise, checks, records, ended_well, grading.Limits(), mistake.track
    )
    next_step = report.next_step(grading.Report(variant, [group], 0.0, mistake.track))
    return group.results, next_step


@pytest.mark.catalogue
@pytest.mark.parametrize("mistake", HELD_OUT, ids=lambda mistake: mistake.test_id)
def test_no_held_out_mistake_gets_a_false_exactly(pytester, mistake, noisy_variants, capsys):
    same = in_the_catalogue(mistake)
    assert same is None, (
        f"the held-out mistake {mistake.test_id} is the catalogue's {same.name!r}: move it out of "
        "kata/maintainer/held_out.py and write another in its place"
    )
    result = run_exercise_tests(pytester, mistake)  # the whole file: its own tests' diagnoses count too
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) > 0, (
        f"no test of {mistake.exercise} fails for the held-out {mistake.test_id}"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results, next_step = graded(mistake, pytester.path / "graded")
    assert not all(r.passed for r in results), f"the grader passes the held-out mistake {mistake.test_id}"
    graders = [line for r in results for line in r.message.splitlines()] + next_step.splitlines()
    told = [*graders, *result.outlines, *result.errlines]

    false = [line.strip() for line in told if EXACTLY in line]
    assert not false, f"a false 'exactly' for the held-out mistake {mistake.test_id}:\n" + "\n".join(false)
    printed = capsys.readouterr()
    heard = [*told, *printed.out.splitlines(), *printed.err.splitlines(), *(str(w.message) for w in caught)]
    noise = [line for line in heard if NOISE in line]
    assert not noise, "what a known-wrong variant printed or warned reached the learner:\n" + "\n".join(noise)
    VERDICTS[mistake.test_id] = verdict(mistake, told)


@pytest.mark.catalogue
def test_the_variants_are_noisy_when_nothing_silences_them(noisy_variants, capsys):
    """The proof above is worth something only if the variants do print and warn."""
    from kata.feedback.pytest_plugin import Implementation

    mistake = course.mistakes_for("feed_forward")[0]
    with pytest.warns(UserWarning, match=NOISE):  # as it is imported, and as gelu runs
        Implementation(noisy_variants(mistake)).module("feed_forward").gelu(torch.zeros(1))
    printed = capsys.readouterr()
    assert NOISE in printed.out and NOISE in printed.err


@pytest.mark.catalogue
def test_exact_only_when_every_check_agrees_and_weaker_matches_rank_by_agreement():
    """A learner whose outcomes are a known mistake's on every check but one (changed, and still
    failing) gets a "looks like", never "exactly"; the weaker matches come most agreeing first."""
    mistake = next(m for m in course.mistakes_for("attention") if m.name == "unscaled_scores")
    learner = learner_outcomes("attention", variant_folder(mistake))
    check = next(check for check, _ in learner.values() if variant_failure(mistake, check) is not None)
    failure = variant_failure(mistake, check)
    assert explain(diagnose_check(check, failure, learner=learner)).strip().startswith(EXACTLY)

    changed = next(
        c
        for c, outcome in learner.values()
        if c is not check and outcome[0] == "outputs" and variant_failure(mistake, c) is not None
    )
    kind, outputs = learner[changed.name][1]
    shifted = {
        key: value + 1.0 if isinstance(value, torch.Tensor) else value for key, value in outputs.items()
    }
    learner[changed.name] = (changed, (kind, shifted))
    matches = diagnose_check(check, failure, learner=learner)
    assert matches and not any(match.exact for match in matches), explain(matches)
    assert [match.agreeing for match in matches] == sorted(
        (match.agreeing for match in matches), reverse=True
    )
    assert EXACTLY not in explain(matches)


@pytest.mark.catalogue
def test_summary_of_the_held_out_verdicts(capsys):
    """How many held-out mistakes got a useful pointer (a "looks like" or a hint at the right place)."""
    if len(VERDICTS) < len(HELD_OUT):
        pytest.skip("the summary counts a whole run of the held-out set")
    useful = [test_id for test_id, (said, _) in VERDICTS.items() if said in ("looks like", "pointer")]
    with capsys.disabled():
        print(f"\nheld-out mistakes: {len(useful)} of {len(VERDICTS)} got a useful pointer")
        for test_id, (said, line) in VERDICTS.items():
            print(f"  {said:<13} {test_id}: {line[:150]}")
    assert not [test_id for test_id, (said, _) in VERDICTS.items() if said == "false exactly"]
