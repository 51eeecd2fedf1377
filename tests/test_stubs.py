"""The repository itself: exercises/ is generated from solutions/, and the stubs are fit for learners.

Marked `maintainer`: these run with `pytest --solutions` (the instructor's and CI's run),
not on a learner's `pytest`, where exercises/ is being edited on purpose.
"""

import inspect

import pytest

from kata import COURSE, EXERCISES, SOLUTIONS
from kata.loading import load
from kata.mistakes import CATALOGUE
from kata.stubs import out_of_date

pytestmark = pytest.mark.maintainer


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
        "Regenerate it with `python -m kata.stubs`; never edit exercises/ by hand"
    )


@pytest.mark.parametrize("name", COURSE)
def test_each_stub_imports_and_keeps_every_public_name_signature_and_docstring(name):
    stub = load(name, EXERCISES, reference=EXERCISES)
    solution = load(name, SOLUTIONS)
    assert stub.__doc__ == solution.__doc__, f"exercises/{name}.py lost its module docstring"
    stub_names, solution_names = public_names(stub), public_names(solution)
    assert stub_names.keys() == solution_names.keys(), (
        f"exercises/{name}.py defines {sorted(stub_names)}, solutions/{name}.py {sorted(solution_names)}"
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
                f"exercises/{name}.py: {qualified} has a different docstring from the solution"
            )
            if callable(reference_member) and not inspect.isclass(reference_member):
                assert inspect.signature(stub_member) == inspect.signature(reference_member), (
                    f"exercises/{name}.py: {qualified} has a different signature from the solution"
                )


@pytest.mark.parametrize("name", COURSE)
def test_each_stub_says_which_exercise_to_write(name):
    text = (EXERCISES / f"{name}.py").read_text()
    raises = [
        line.strip() for line in text.splitlines() if line.strip().startswith("raise NotImplementedError")
    ]
    assert raises, f"exercises/{name}.py has nothing for the learner to write"
    for line in raises:
        assert f"exercise {COURSE.index(name) + 1}, {name}.py: write " in line, (
            f"exercises/{name}.py: {line!r} does not name its exercise"
        )


@pytest.mark.parametrize("mistake", CATALOGUE, ids=lambda mistake: f"{mistake.exercise}-{mistake.name}")
def test_each_known_mistake_still_applies_to_the_solutions(mistake):
    source = (SOLUTIONS / f"{mistake.exercise}.py").read_text()
    assert mistake.apply(source) != source
