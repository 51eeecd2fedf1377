"""Watch mode (kata/feedback/watch.py): which exercise is current, what the screen says, and one real cycle of
the loop with a fake grader (no child processes)."""

import io
import os
import shutil

import pytest

from kata import COURSE, SOLUTIONS, course
from kata.feedback.watch import current_exercise, screen, watch
from kata.grader.grading import CheckResult, GroupResult, Report

pytestmark = pytest.mark.maintainer  # checks the kata's own tool, not the learner's code

KINDS = {"done": "passed", "not started": "todo", "in progress": "wrong", "skipped": "skipped"}


def fake_report(statuses, folder=SOLUTIONS):
    """A Report in which each group has the given status ('done' unless said otherwise)."""
    groups = []
    for group in course.GROUPS:
        kind = KINDS[statuses.get(group, "done")]
        results = [
            CheckResult(check, kind == "passed", "" if kind == "passed" else f"{check.name} is {kind}", kind)
            for check in course.checks()
            if check.group == group
        ]
        groups.append(GroupResult(group, results, seconds=0.1))
    return Report(folder, groups, 0.5)


def test_the_current_exercise_is_the_first_not_done_in_course_order():
    result = fake_report({"multi_head": "in progress", "layer_norm": "not started"})
    assert current_exercise(result) == "multi_head"


def test_after_the_six_exercises_comes_the_capstone():
    assert current_exercise(fake_report({"capstone": "in progress"})) == "capstone"


def test_all_is_done_when_the_capstone_cannot_be_graded_without_weights():
    assert current_exercise(fake_report({"capstone": "skipped"})) is None


def test_the_screen_shows_progress_the_current_row_and_the_next_step():
    result = fake_report(
        {"feed_forward": "not started", "positional": "not started", "encoder": "not started"}
    )
    text = screen(result, "feed_forward")
    done = len(COURSE) - 3
    points = sum(course.points(name) for name in ("attention", "multi_head", "layer_norm"))
    assert f"{done}/{len(COURSE)} exercises done, {points}/100 points" in text, text
    assert "feed_forward" in text and "not started" in text, text
    assert "Next: exercise 3" in text and "kata hint feed_forward" in text, text
    assert "layer_norm  " not in text, "only the current exercise's row is shown"


def test_the_screen_says_when_everything_is_done():
    assert "All done" in screen(fake_report({}), None)


def test_a_save_regrades_the_current_exercise_and_moves_on_once_it_is_done(tmp_path):
    for name in COURSE:
        shutil.copyfile(SOLUTIONS / f"{name}.py", tmp_path / f"{name}.py")
    calls = []

    def grade(folder, only=None, limits=None, progress=None):
        calls.append(only)
        if only is None:  # the first, full grading; the learner saves while it runs
            saved = tmp_path / "feed_forward.py"
            os.utime(saved, ns=(saved.stat().st_atime_ns, saved.stat().st_mtime_ns + 10**9))
            return fake_report({"feed_forward": "in progress", "layer_norm": "not started"}, tmp_path)
        return fake_report({"layer_norm": "not started"}, tmp_path)

    out = io.StringIO()
    assert watch(tmp_path, grade=grade, poll=0.01, out=out, rounds=1) == 0
    text = out.getvalue()
    # The capstone runs the whole stack: any saved module may change its result.
    assert calls == [None, ["feed_forward", "capstone"]], (
        f"expected a full grading, then feed_forward and the capstone: {calls}"
    )
    assert "Saved: grading feed_forward, capstone" in text, text
    assert "Exercise 3 (feed_forward) is done. On to exercise 4 (layer_norm)." in text, text
    assert "\033[2J" not in text, "the screen is cleared only in a terminal"


def test_ctrl_c_says_bye_and_exits_0(tmp_path):
    def interrupted(folder, **options):
        raise KeyboardInterrupt

    out = io.StringIO()
    assert watch(tmp_path, grade=interrupted, poll=0.01, out=out) == 0
    assert out.getvalue().rstrip().endswith("Bye")


def save(path, seconds=1):
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + seconds * 10**9))


def test_a_save_regrades_the_capstone_and_drops_its_stale_failure(tmp_path):
    for name in COURSE:
        shutil.copyfile(SOLUTIONS / f"{name}.py", tmp_path / f"{name}.py")
    calls = []

    def grade(folder, only=None, limits=None, progress=None):
        calls.append(only)
        if only is None:  # the capstone fails because of a lower module, which the learner then fixes
            save(tmp_path / "layer_norm.py")
            return fake_report({"capstone": "in progress"}, tmp_path)
        return fake_report({}, tmp_path)

    out = io.StringIO()
    watch(tmp_path, grade=grade, poll=0.01, out=out, rounds=1)
    assert calls == [None, ["layer_norm", "capstone"]], calls
    assert out.getvalue().rstrip().endswith("Well done!"), "the capstone's stale failure was kept"


def test_watch_keeps_watching_once_everything_is_done(tmp_path):
    for name in COURSE:
        shutil.copyfile(SOLUTIONS / f"{name}.py", tmp_path / f"{name}.py")
    calls = []

    def grade(folder, only=None, limits=None, progress=None):
        calls.append(only)
        if only is None:  # all done; then the learner breaks a file
            save(tmp_path / "attention.py")
            return fake_report({}, tmp_path)
        return fake_report({"attention": "in progress"}, tmp_path)

    out = io.StringIO()
    watch(tmp_path, grade=grade, poll=0.01, out=out, rounds=1)
    assert calls == [None, ["attention", "capstone"]], "a save after everything was done was not graded"
    assert "exercise 1, " in out.getvalue().split("Saved: grading")[-1].lower(), out.getvalue()
