"""The end of a learner's run (kata/feedback/end_of_run.py): on untouched stubs the next step
is the last thing on screen, above it one line per exercise instead of every FAILED line; a
run that passes says what is done; no failure's message is ever empty."""

import shutil

import pytest

from kata import COURSE, EXERCISES, REPO, SOLUTIONS, course
from kata.core.compare import Mismatch
from kata.feedback.end_of_run import done_line, never_empty

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


class Report:  # the two fields of pytest's TestReport that done_line reads
    def __init__(self, nodeid):
        self.nodeid = nodeid


def stats(passing, failing=()):
    return {
        "passed": [Report(f"tests/test_{name}.py::test_it") for name in passing],
        "failed": [Report(f"tests/test_{name}.py::test_it") for name in failing],
    }


def test_every_graded_exercise_done_says_so_though_the_optional_one_is_not():
    graded = [name for name in COURSE if course.points(name) > 0]
    line = done_line(stats(graded, failing=["embeddings"]), solutions=False)
    assert line == "Done: every graded exercise (1 to 6) passes every test. Check the grade with: kata grade"


def test_the_whole_course_done_says_so():
    assert done_line(stats(COURSE), solutions=False).startswith(
        "All done: every test of every exercise passes."
    )


def test_an_exercise_with_a_failing_test_is_not_called_done():
    line = done_line(stats(["attention", "multi_head"], failing=["multi_head"]), solutions=False)
    assert line == "Done: exercise 1 (attention) passes every test that ran."


def test_the_optional_exercise_is_called_optional_in_the_next_step(pytester, tmp_path):
    folder = tmp_path / "learner"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("numpy", "__pycache__"))
    shutil.copy(EXERCISES / "embeddings.py", folder)
    result = pytester.runpytest_inprocess(
        str(REPO / "tests" / "test_embeddings.py"),
        f"--submission={folder}",
        f"--config-file={REPO / 'pyproject.toml'}",
        "-p",
        "no:cacheprovider",
    )
    last = [line for line in result.outlines if line.strip()][-2]
    assert (
        last.startswith("Optional: Exercise 7 of 7, ") and "(optional, 0 points), is not started yet" in last
    ), last
