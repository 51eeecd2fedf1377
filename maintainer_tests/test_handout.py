"""The student handout (kata handout OUT, kata/maintainer/handout.py): it holds no solution line,
no catalogue edit, nothing hidden, and the leak check finds a solution line wherever it is put."""

import json
from pathlib import Path

import pytest
import torch

from kata import SOLUTIONS
from kata.cli import main
from kata.maintainer import handout

pytestmark = pytest.mark.maintainer


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("handout") / "out"
    handout.build(folder)
    return folder


@pytest.fixture(scope="module")
def lines() -> dict[str, str]:
    return handout.solution_lines()


def test_the_handout_holds_no_solution_line_and_nothing_a_handout_may_not(out, lines):
    assert len(lines) > 100  # the rule looks for something: both tracks' regions
    assert handout.leaks(out, lines) == []
    assert handout.structure_problems(out) == []
    assert main(["handout", "--check", str(out)]) == 0


def test_the_handout_has_what_a_student_repository_needs(out):
    for name in (
        "exercises/attention.py",
        "exercises/numpy/encoder.py",
        "tests/test_encoder.py",
        "grader.py",
    ):
        assert (out / name).is_file(), name
    for name in (
        "kata/core/data/handout/reference.pt",
        "kata/core/recorded.py",
        "kata/core/foundation/numpy/positional.py",
    ):
        assert (out / name).is_file(), name
    for name in ("README.md", "LICENSE", "pyproject.toml", ".github/workflows/handout.yml"):
        assert (out / name).is_file(), name
    assert not (out / "solutions").exists() and not (out / "maintainer_tests").exists()
    assert sorted(p.name for p in (out / "kata" / "maintainer").iterdir()) == ["__init__.py", "handout.py"]
    classroom = json.loads((out / ".github/classroom/autograding.json").read_text())["tests"]
    assert sum(test["points"] for test in classroom) == 100
    assert all(test["run"].startswith("python grader.py --only ") for test in classroom)
    workflow = (out / ".github/workflows/classroom.yml").read_text()
    assert workflow.count("education/autograding-command-grader@v1") == len(classroom)


def test_no_known_mistake_keeps_its_edit_in_the_handout(out):
    source = (out / "kata" / "course" / "attention.py").read_text()
    assert '"unscaled_scores"' in source and "forgot to divide the scores by sqrt(d)" in source
    assert "scores = q @ k.transpose(-2, -1) / math.sqrt(d)" not in source


def test_hidden_files_never_reach_the_handout(tmp_path):
    """The Gradescope zip's hidden tests (kata/core/data/hidden_*) are neither copied nor allowed."""
    assert handout._ignored("data", ["hidden_sentences.txt", "corpus.txt"]) == {"hidden_sentences.txt"}
    (tmp_path / "kata" / "core" / "data").mkdir(parents=True)
    (tmp_path / "kata" / "core" / "data" / "hidden_sentences.txt").write_text("a sentence\n")
    assert any("hidden_sentences.txt" in problem for problem in handout.structure_problems(tmp_path))


@pytest.mark.parametrize(
    "where, text",
    [
        ("tests/test_attention.py", "{line}\n"),  # a line as it is
        ("kata/course/attention.py", 'find = "{line}"\n'),  # quoted, as a catalogue entry quotes it
        ("docs/notes.md", "    {line}   # with a comment\n"),
    ],
)
def test_the_leak_check_finds_a_solution_line_wherever_it_is(out, lines, tmp_path, where, text):
    line = next(iter(lines))
    copy = tmp_path / "copy"
    (copy / where).parent.mkdir(parents=True)
    (copy / where).write_text(text.format(line=line.replace('"', '\\"') if "find" in text else line))
    found = handout.leaks(copy, lines)
    assert len(found) == 1 and found[0].startswith(where), found


def test_the_leak_check_reads_recordings_for_source_text(lines, tmp_path):
    line = next(iter(lines))
    torch.save({"outputs": {"x": torch.zeros(2)}, "note": f"a\n{line}\n"}, tmp_path / "recording.pt")
    assert len(handout.leaks(tmp_path, lines)) == 1
    torch.save({"outputs": {"x": torch.zeros(2)}}, tmp_path / "recording.pt")
    assert handout.leaks(tmp_path, lines) == []


def test_a_kept_edit_or_a_solutions_folder_is_a_structure_problem(out, tmp_path):
    course = tmp_path / "kata" / "course"
    course.mkdir(parents=True)
    (course / "attention.py").write_text((SOLUTIONS.parent / "kata/course/attention.py").read_text())
    (tmp_path / "solutions").mkdir()
    problems = handout.structure_problems(tmp_path)
    assert any("keeps its edit" in problem for problem in problems)
    assert any(problem.startswith("solutions/") for problem in problems)


def test_without_edits_keeps_the_module_importable_and_its_names():
    source = (SOLUTIONS.parent / "kata/course/multi_head.py").read_text()
    stripped = handout.without_edits(source)
    compile(stripped, "multi_head.py", "exec")
    assert stripped.count("Mistake(") == source.count("Mistake(")
