"""Every known mistake (the MISTAKES of each kata/course/<exercise>.py) fails its exercise's
graded checks, and the diagnosis names it: one pass proves both pytest and the grader.

Each check's pytest twin (test_passes_the_graded_check in tests/test_<exercise>.py) runs the
grader's own probe, verdict and diagnosis in process, so a mistake that the twins fail and
name is failed and named by the grader too; that a child only carries the same outputs over
is proven by maintainer_tests/test_grader.py's adversarial submissions. The pass runs the
real test file against each wrong variant, in-process: slow compared with the rest, so it
is deselected by default; CI runs it with `pytest --solutions -m catalogue`.
"""

import pytest

from kata import REPO
from kata.course import catalogue


@pytest.fixture(scope="module", autouse=True)
def hugging_face_imported_once():
    """Import BertModel before the first inner run: pytester forgets the modules an inner run
    imports, and torch refuses to register the operators transformers brings in a second time."""
    from transformers import BertModel  # noqa: F401


def run_exercise_tests(pytester, mistake, *options):
    """Run the mistake's exercise's test file, in process, on the reference with `mistake` applied
    (as a learner runs it: `pytest tests/test_<exercise>.py`, with `options`)."""
    variant = mistake.write_variant(pytester.path / "variant")
    return pytester.runpytest_inprocess(
        str(REPO / "tests" / f"test_{mistake.exercise}.py"),
        f"--submission={variant}",
        f"--track={mistake.track}",  # a NumPy-track mistake runs the same checks on the NumPy track
        f"--config-file={REPO / 'pyproject.toml'}",
        "-p",
        "no:cacheprovider",
        "-q",
        *options,
    )


@pytest.mark.catalogue
@pytest.mark.parametrize("mistake", catalogue(), ids=lambda mistake: mistake.test_id)
def test_the_graded_checks_fail_and_name_the_known_mistake(pytester, mistake):
    result = run_exercise_tests(pytester, mistake, "-k", "test_passes_the_graded_check")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) > 0, (
        f"no graded check of {mistake.exercise} fails for the known mistake {mistake.name!r} "
        f"({mistake.description}): kata/course/{mistake.exercise}.py needs a check that catches it"
    )
    named = f"({mistake.exercise}/{mistake.name})"
    # Exactly: the learner's code is the mistake, so it agrees with it on every graded check.
    exact = "Diagnosis: this is exactly what you get if you"
    assert any(named in line and exact in line for line in result.outlines), (
        f"the graded checks fail for the known mistake {mistake.name!r}, but no diagnosis names it "
        f"{named} exactly: a failing check must compare values the mistake changes\n"
        + "\n".join(result.outlines[-40:])
    )
