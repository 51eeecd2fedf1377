"""The end of a learner's run (kata/feedback/end_of_run.py): on untouched stubs the next step
is the last thing on screen, above it one line per exercise instead of every FAILED line; a
run that passes says what is done; no failure's message is ever empty."""

import pytest

from kata import EXERCISES, REPO, SOLUTIONS
from kata.core.compare import Mismatch
from kata.feedback.end_of_run import never_empty

pytestmark = pytest.mark.maintainer


@pytest.fixture(scope="module", autouse=True)
def hugging_face_imported_once():
    """As in test_catalogue.py: BertModel once, before the first inner run."""
    from transformers import BertModel  # noqa: F401


def run(pytester, folder, *options):
    return pytester.runpytest_inprocess(
        str(REPO / "tests" / "test_attention.py"),
        f"--submission={folder}",
        f"--config-file={REPO / 'pyproject.toml'}",
        "-p",
        "no:cacheprovider",
        *options,
    )


def test_a_stub_run_ends_with_the_next_step_and_no_failed_lines(pytester):
    lines = [line for line in run(pytester, EXERCISES).outlines if line.strip()]
    assert not any(line.startswith("FAILED ") for line in lines), "\n".join(lines[-20:])
    assert lines[-2].startswith("Exercise 1 of "), "\n".join(lines[-8:])
    assert "exercise 1, attention: " in "\n".join(lines[-6:]) and "not implemented yet" in lines[-4]


def test_rA_brings_every_failed_line_back(pytester):
    assert any(line.startswith("FAILED ") for line in run(pytester, EXERCISES, "-rA").outlines)


def test_finishing_an_exercise_says_so(pytester):
    text = "\n".join(run(pytester, SOLUTIONS).outlines)
    assert "Done: exercise 1 (attention) passes every test that ran." in text, text[-1500:]


@pytest.mark.parametrize("error", [Mismatch(""), AssertionError(), AssertionError("  \n")])
def test_no_failure_message_is_empty(error):
    assert never_empty("", error).strip()
    assert never_empty("values differ", error) == "values differ"
