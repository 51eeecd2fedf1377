"""Every known-wrong implementation in kata/mistakes.py fails its exercise's tests, and the
diagnosis (kata/diagnosis.py) names it.

These run the real test file against each wrong variant, in-process. They are slow
compared with the rest (a whole test run per mistake), so they are deselected by
default; CI runs them with `pytest --solutions -m catalogue`.
"""

import pytest

from kata import REPO
from kata.course import catalogue


@pytest.fixture(scope="module", autouse=True)
def hugging_face_imported_once():
    """Import BertModel before the first inner run: pytester forgets the modules an inner run
    imports, and torch refuses to register the operators transformers brings in a second time."""
    from transformers import BertModel  # noqa: F401


@pytest.mark.catalogue
@pytest.mark.parametrize("mistake", catalogue(), ids=lambda mistake: mistake.test_id)
def test_the_exercise_tests_catch_the_known_mistake(pytester, mistake):
    variant = mistake.write_variant(pytester.path / "variant")
    result = pytester.runpytest_inprocess(
        str(REPO / "tests" / f"test_{mistake.exercise}.py"),
        f"--submission={variant}",
        f"--track={mistake.track}",  # a NumPy-track mistake runs the same tests on the NumPy track
        f"--config-file={REPO / 'pyproject.toml'}",
        "-p",
        "no:cacheprovider",
        "-x",
        "-q",
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) > 0, (
        f"no test in tests/test_{mistake.exercise}.py fails for the known mistake "
        f"{mistake.name!r} ({mistake.description}): the tests need a check that catches it"
    )
    named = f"({mistake.exercise}/{mistake.name})"
    assert any(named in line and "Diagnosis:" in line for line in result.outlines), (
        f"the tests fail for the known mistake {mistake.name!r}, but no failure's diagnosis names it "
        f"{named}: a failing test must compare values the mistake changes"
    )


@pytest.mark.catalogue
@pytest.mark.parametrize("mistake", catalogue(), ids=lambda mistake: f"grader-{mistake.test_id}")
def test_the_grader_fails_and_names_the_known_mistake(mistake):
    """The grader's checks fail the mistake and its diagnosis names it. The probes run here,
    in-process, on our own variant: a child would only carry these outputs over (that part
    is proven by maintainer_tests/test_grader.py's adversarial submissions)."""
    from kata import SOLUTIONS, course, track_folder
    from kata.core import wire
    from kata.core.as_torch import as_torch
    from kata.core.loading import load
    from kata.feedback.diagnosis import variant_folder
    from kata.grader import grading

    track = mistake.track
    failures = []
    for check in course.checks(track):
        if check.group != mistake.exercise:
            continue
        try:
            module = load(check.group, variant_folder(mistake), reference=track_folder(SOLUTIONS, track))
            outputs = check.probe(as_torch(module) if track == "numpy" else module)
        except Exception as error:  # reported by a child as its type and message
            reported = {"type": type(error).__name__, "message": str(error)[:500]}
            result = grading.error_result(check, reported, track)
        else:
            result = grading.verdict(
                check, {key: wire.encode(value) for key, value in outputs.items()}, track
            )
        if not result.passed:
            failures.append(f"{check.name}: {result.message}")
    assert failures, f"no grader check of {mistake.exercise} fails for the known mistake {mistake.name!r}"
    named = f"({mistake.exercise}/{mistake.name})"
    assert any(named in failure for failure in failures), (
        f"the grader fails the known mistake {mistake.name!r}, but no diagnosis names it {named}:\n"
        + "\n".join(failures)
    )
