"""Hints (kata/feedback/hints.py): two or three per exercise, one more on each request, remembered, never the code."""

import re

import pytest

import grader
from kata import COURSE, SOLUTIONS, course
from kata.core.exits import EXIT_OK
from kata.feedback.hints import STATE_FILE, next_hint, state_path

HINTS = {name: course.hints(name) for name in COURSE}

pytestmark = pytest.mark.maintainer  # checks the kata's own tool, not the learner's code


def solution_lines(exercise):
    """The code lines a learner writes in `exercise` (between BEGIN and END SOLUTION), comments cut off."""
    source = (SOLUTIONS / f"{exercise}.py").read_text()
    regions = re.findall(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", source, re.DOTALL)
    lines = (line.split("  #")[0].strip() for region in regions for line in region.splitlines())
    return [line for line in lines if len(line) >= 12 and not line.startswith("#")]


def test_every_exercise_has_two_or_three_hints():
    assert set(HINTS) == set(COURSE), f"hints for {sorted(HINTS)}, exercises {sorted(COURSE)}"
    for exercise, hints in HINTS.items():
        assert 2 <= len(hints) <= 3, f"{exercise} has {len(hints)} hints, expected two or three"


@pytest.mark.parametrize("exercise", COURSE)
def test_no_hint_contains_a_line_of_the_solution(exercise):
    hints = " ".join(HINTS[exercise])
    copied = [line for line in solution_lines(exercise) if line in hints]
    assert not copied, f"a hint for {exercise} gives away solution code: {copied}"


def test_each_request_shows_one_more_hint_after_the_earlier_ones(tmp_path):
    total = len(HINTS["attention"])
    first = next_hint("attention", tmp_path / STATE_FILE)
    assert f"Hint 1 of {total}:" in first and "Hint 2" not in first, first
    assert "kata hint attention" in first, "the first hint should say how to get the next"
    second = next_hint("attention", tmp_path / STATE_FILE)
    assert f"Hint 1 of {total}:" in second and f"Hint 2 of {total}:" in second, second


def test_after_the_last_hint_it_says_there_are_no_more(tmp_path):
    path = tmp_path / STATE_FILE
    texts = [next_hint("layer_norm", path) for _ in range(len(HINTS["layer_norm"]) + 1)]
    assert "That was the last hint" in texts[-2], texts[-2]
    assert "No more hints for layer_norm" in texts[-1], texts[-1]
    assert texts[-1].count("Hint ") == len(HINTS["layer_norm"]), "every hint is shown again"


def test_the_count_is_remembered_per_exercise_in_the_state_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KATA_STATE_DIR", str(tmp_path))
    assert state_path() == tmp_path / STATE_FILE
    next_hint("attention")
    next_hint("attention")
    assert "Hint 1 of" in next_hint("encoder") and "Hint 2 of" not in next_hint("multi_head")
    assert f"Hint 3 of {len(HINTS['attention'])}" in next_hint("attention")


def test_an_unreadable_state_file_starts_the_hints_over(tmp_path):
    path = tmp_path / STATE_FILE
    path.write_text("{not json")
    assert "Hint 2" not in next_hint("positional", path)


def test_grader_hint_prints_the_next_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KATA_STATE_DIR", str(tmp_path))
    assert grader.main(["--hint", "feed_forward"]) == EXIT_OK
    assert "Hint 1 of" in capsys.readouterr().out
    assert (tmp_path / STATE_FILE).is_file()


def test_grader_hint_refuses_an_unknown_exercise(capsys):
    with pytest.raises(SystemExit) as exit_:
        grader.main(["--hint", "attentoin"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
