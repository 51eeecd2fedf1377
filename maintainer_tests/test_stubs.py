"""The repository itself: exercises/ is generated from solutions/, and the stubs are fit for learners.

Marked `maintainer`: these run with `pytest --solutions` (the instructor's and CI's run),
not on a learner's `pytest`, where exercises/ is being edited on purpose.
"""

import inspect

import pytest

from kata import COURSE, EXERCISES, SOLUTIONS, TRACKS, course, track_folder
from kata.core.loading import load
from kata.core.paths import shown_path
from kata.course import catalogue
from kata.maintainer.stubs import out_of_date

pytestmark = pytest.mark.maintainer

MODULES = [(track, name) for track in TRACKS for name in COURSE]  # every module of both tracks


def public_names(module):
    return {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    }


def test_exercises_are_generated_from_the_current_solutions():
    stale = out_of_date()
    assert not stale, (
        f"exercises/ is out of date with solutions/ ({', '.join(stale)}). "
        "Regenerate it with `kata stubs`; never edit exercises/ by hand"
    )


@pytest.mark.parametrize("track, name", MODULES)
def test_each_stub_imports_and_keeps_every_public_name_signature_and_docstring(track, name):
    exercises, solutions = track_folder(EXERCISES, track), track_folder(SOLUTIONS, track)
    stub = load(name, exercises, reference=exercises)
    solution = load(name, solutions, reference=solutions)
    where = shown_path(exercises / f"{name}.py")
    assert stub.__doc__ == solution.__doc__, f"{where} lost its module docstring"
    stub_names, solution_names = public_names(stub), public_names(solution)
    assert stub_names.keys() == solution_names.keys(), (
        f"{where} defines {sorted(stub_names)}, {shown_path(solutions / f'{name}.py')} {sorted(solution_names)}"
    )
    for public, solution_object in solution_names.items():
        members = {public: solution_object}
        if inspect.isclass(solution_object):
            for attr in vars(solution_object):
                method = getattr(solution_object, attr)
                if callable(method) and (attr == "__init__" or not attr.startswith("__")):
                    members[f"{public}.{attr}"] = method
        for qualified, reference_member in members.items():
            stub_member = stub
            for part in qualified.split("."):
                stub_member = getattr(stub_member, part)
            assert inspect.getdoc(stub_member) == inspect.getdoc(reference_member), (
                f"{where}: {qualified} has a different docstring from the solution"
            )
            if callable(reference_member) and not inspect.isclass(reference_member):
                assert inspect.signature(stub_member) == inspect.signature(reference_member), (
                    f"{where}: {qualified} has a different signature from the solution"
                )


@pytest.mark.parametrize("track, name", MODULES)
def test_each_stub_says_which_exercise_to_write(track, name):
    where = track_folder(EXERCISES, track) / f"{name}.py"
    raises = [
        line.strip()
        for line in where.read_text().splitlines()
        if line.strip().startswith("raise NotImplementedError")
    ]
    assert raises, f"{shown_path(where)} has nothing for the learner to write"
    for line in raises:
        assert f"exercise {COURSE.index(name) + 1}, {name}.py: write " in line, (
            f"{shown_path(where)}: {line!r} does not name its exercise"
        )


@pytest.mark.parametrize("mistake", catalogue(), ids=lambda mistake: mistake.test_id)
def test_each_known_mistake_still_applies_to_the_solutions(mistake):
    source = mistake.solution_file.read_text()
    assert mistake.apply(source) != source


@pytest.mark.parametrize("track", course.TRACKS)
def test_the_grader_points_add_up_per_exercise_and_to_100(track):
    per_group = {group: 0 for group in course.GROUPS}
    for check in course.checks(track):
        per_group[check.group] += check.points
    assert per_group == {group: course.points(group) for group in course.GROUPS}
    assert sum(per_group.values()) == 100, (
        f"{track} track: the checks' points add up to {sum(per_group.values())}"
    )
    names = [check.name for check in course.checks(track)]
    assert len(names) == len(set(names)), f"{track} track: two checks share a name"
