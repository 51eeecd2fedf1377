"""The course manifest (kata/course/) is the one place for each exercise: its checks are the
tests' graded checks, one twin each, and its points are the ones the README states."""

import re
import subprocess
import sys

import pytest

from kata import COURSE, REPO, course

pytestmark = pytest.mark.maintainer


def collected_twins(track):
    """The graded-check twins that pytest collects from tests/ on `track`: their check names."""
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--solutions", f"--track={track}", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stdout + listing.stderr
    return re.findall(r"::test_passes_the_graded_check\[(.+)\]$", listing.stdout, flags=re.M)


@pytest.mark.parametrize("track", course.TRACKS)
def test_every_graded_check_has_exactly_one_pytest_twin(track):
    twins = collected_twins(track)
    checks = [check.name for check in course.checks(track)]
    doubled = sorted({name for name in twins if twins.count(name) > 1})
    assert not doubled, f"{track} track: checks with more than one pytest twin: {doubled}"
    assert sorted(twins) == sorted(checks), (
        f"{track} track: checks without a twin {sorted(set(checks) - set(twins))}; "
        f"twins without a check {sorted(set(twins) - set(checks))}"
    )


@pytest.mark.parametrize("track", course.TRACKS)
def test_the_points_add_up_to_100_on_each_track(track):
    total = sum(course.points(group, track) for group in course.GROUPS)
    assert total == 100, f"{track} track: the checks' points add up to {total:g}, expected 100"


def test_the_readme_states_each_exercises_points_as_the_course_sets_them():
    stated = re.search(
        r"\*\*points\*\*: out of 100 for the whole course \(([^)]*)\)",
        " ".join((REPO / "README.md").read_text().split()),
    )
    assert stated, "README.md no longer says each exercise's points ('**points**: out of 100 ... (...)')"
    expected = ", ".join(f"{name.replace('_', ' ')} {course.points(name):g}" for name in COURSE)
    written = stated[1].replace("multi-head", "multi head").replace("feed-forward", "feed forward")
    assert written == expected, f"README.md says points ({stated[1]}); the course sets ({expected})"


def test_importing_the_manifest_imports_no_exercise_module():
    code = "import sys, kata.course; print(sorted(m for m in sys.modules if m.startswith('kata.course.')))"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert shown.stdout.strip() == "[]", shown.stdout
