"""Every known-wrong implementation in kata/mistakes.py fails its exercise's tests.

These run the real test file against each wrong variant, in-process. They are slow
compared with the rest (a whole test run per mistake), so they are deselected by
default; CI runs them with `pytest --solutions -m catalogue`.
"""

import pytest

from kata import REPO
from kata.mistakes import CATALOGUE


@pytest.mark.catalogue
@pytest.mark.parametrize("mistake", CATALOGUE, ids=lambda mistake: f"{mistake.exercise}-{mistake.name}")
def test_the_exercise_tests_catch_the_known_mistake(pytester, mistake):
    variant = mistake.write_variant(pytester.path / "variant")
    result = pytester.runpytest_inprocess(
        str(REPO / "tests" / f"test_{mistake.exercise}.py"),
        f"--submission={variant}",
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
