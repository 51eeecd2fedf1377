"""No held-out mistake (maintainer_tests/held_out_mistakes.py, none of them in the catalogue)
gets a false "exactly": a diagnosis is exact only when it is. Each is run as a learner runs
the exercise's test file, on the variant, in process.
The terminal summary counts how many got a useful pointer (a "looks like" diagnosis, a
"fix ... first", or a hint that says where to look). CI runs it with `-m catalogue`.
"""

import pytest

from kata import REPO
from maintainer_tests.held_out_mistakes import HELD_OUT

EXACT = "Diagnosis: this is exactly what you get if you"
POINTERS = (
    "Diagnosis: this looks like",
    "first: this test uses it",
    "Where to look:",
    "What the numbers show:",
)


@pytest.fixture(scope="module", autouse=True)
def hugging_face_imported_once():
    """As in test_catalogue.py: BertModel once, before the first inner run."""
    from transformers import BertModel  # noqa: F401


@pytest.mark.catalogue
@pytest.mark.parametrize("mistake", HELD_OUT, ids=lambda mistake: mistake.test_id)
def test_no_held_out_mistake_gets_a_false_exactly(pytester, mistake, record_property):
    variant = mistake.write_variant(pytester.path / "variant")
    result = pytester.runpytest_inprocess(
        str(REPO / "tests" / f"test_{mistake.exercise}.py"),
        f"--submission={variant}",
        f"--track={mistake.track}",
        f"--config-file={REPO / 'pyproject.toml'}",
        "-p",
        "no:cacheprovider",
        "-q",  # the whole file, as a learner runs it: its own tests' diagnoses count too
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) > 0, f"no test fails for the held-out mistake {mistake.name!r}"
    false = [line for line in result.outlines if EXACT in line]
    assert not false, f"a false 'exactly' for the held-out mistake {mistake.name!r}:\n" + "\n".join(false)
    pointed = any(pointer in line for line in result.outlines for pointer in POINTERS)
    record_property("pointer", pointed)
    print(f"held-out {mistake.test_id}: {'a pointer' if pointed else 'no pointer'}")
