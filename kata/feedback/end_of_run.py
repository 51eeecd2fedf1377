"""The end of a learner's pytest run, so the next step is the last thing on screen.

Instead of pytest's one FAILED line per failing test (hundreds, on untouched stubs), a short
line per exercise; `-v` or any `-r` option brings the full list back. A run in which every
test passes says which exercise is done, or that the whole course is. A failure whose
message would be empty says what it was instead. Registered by kata/feedback/pytest_plugin.py.
"""

from pathlib import Path
from typing import Any

import pytest

from kata import COURSE, course

DEFAULT_REPORTCHARS = "fE"  # pytest's own default: what a learner gets without asking


def exercise_of(report: pytest.TestReport) -> str | None:
    stem = Path(report.nodeid.split("::", 1)[0]).stem.removeprefix("test_")
    return stem if stem in COURSE else None


def per_exercise(stats: dict[str, list[Any]]) -> list[str]:
    """One line per exercise with failing tests: how many, and how many are not implemented yet."""
    lines = []
    failed = stats.get("failed", []) + stats.get("error", [])
    for name in COURSE:
        mine = [report for report in failed if exercise_of(report) == name]
        if not mine:
            continue
        todo = sum(str(report.longrepr).startswith("not implemented yet") for report in mine)
        what = f"{len(mine)} failing" + (f" ({todo} not implemented yet)" if todo else "")
        lines.append(f"  exercise {COURSE.index(name) + 1}, {name}: {what}")
    return lines


def done_line(stats: dict[str, list[Any]], solutions: bool) -> str:
    """What the run says of the exercises whose every test passes: those exercises, or that every
    graded one (or the whole course) is done. Exercises with a failing test are left out."""
    if solutions:
        return ""
    failing = {exercise_of(report) for report in stats.get("failed", []) + stats.get("error", [])}
    passed = {exercise_of(report) for report in stats.get("passed", [])} - failing - {None}
    if not passed:
        return ""
    if set(COURSE) <= passed:
        return "All done: every test of every exercise passes. Check the grade with: kata grade"
    graded = [name for name in COURSE if course.points(name) > 0]
    if set(graded) <= passed:
        numbers = f"{COURSE.index(graded[0]) + 1} to {COURSE.index(graded[-1]) + 1}"
        return f"Done: every graded exercise ({numbers}) passes every test. Check the grade with: kata grade"
    names = [name for name in COURSE if name in passed]
    done = ", ".join(f"exercise {COURSE.index(name) + 1} ({name})" for name in names)
    return f"Done: {done} {'passes' if len(names) == 1 else 'pass'} every test that ran."


class EndOfRun:
    @pytest.hookimpl(tryfirst=True)  # before the kata's next step, which is the run's last line
    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        full = config.option.verbose > 0 or config.option.reportchars != DEFAULT_REPORTCHARS
        lines = per_exercise(terminalreporter.stats)
        if not full and lines:
            terminalreporter.reportchars = ""  # pytest's per-test FAILED lines would come after the next step
            terminalreporter.write_sep("-", "failing tests (pytest -v or -rA lists every one)")
            for line in lines:
                terminalreporter.write_line(line)
        done = done_line(terminalreporter.stats, config.getoption("--solutions"))
        if done:
            terminalreporter.write_sep("-", "done")
            terminalreporter.write_line(done)


def never_empty(text: str | None, error: BaseException) -> str | None:
    """A failure's short report, never empty: an error without a message is named by its type."""
    if text is None or text.strip():
        return text
    return f"{type(error).__name__} with no message (the test's own assert, or an error raised without one)"
