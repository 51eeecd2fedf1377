"""The course: its exercises in order, and everything about each one in a module of its own.

    kata/course/attention.py ... encoder.py   one exercise each: checks, mistakes, hints, diverge
    kata/course/capstone.py                   the whole stack, every module the learner's
    kata/course/embeddings.py                 the optional finale: sentence embeddings (no points by default)

Each exercise module defines NAME, CHECKS (the graded checks; an exercise's points are
the sum of its checks' points), MISTAKES and NUMPY_MISTAKES (the known-wrong catalogue),
HINTS and DIVERGE. This file only puts them in order and gathers them; importing it
imports no exercise module (and no torch) until one is asked for.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.checking import Check
    from ..core.mistakes import Mistake

# The exercises in course order. Each module imports only modules before it.
COURSE = ("attention", "multi_head", "feed_forward", "layer_norm", "positional", "encoder", "embeddings")
# The exercise the capstone runs the learner's whole stack of: the encoder, exercise 6.
CAPSTONE_OF = "encoder"
# What the grader grades: each exercise up to the encoder, then the capstone (the learner's whole
# stack), then the optional exercises after it (embeddings: no points unless an instructor gives some).
_AFTER_CAPSTONE = COURSE.index(CAPSTONE_OF) + 1
GROUPS = (*COURSE[:_AFTER_CAPSTONE], "capstone", *COURSE[_AFTER_CAPSTONE:])
TRACKS = ("torch", "numpy")


def exercise(group: str) -> ModuleType:
    """The course module of `group` (an exercise of COURSE, or "capstone")."""
    if group not in GROUPS:
        raise KeyError(f"no exercise {group!r}: the course has {', '.join(GROUPS)}")
    return importlib.import_module(f"{__name__}.{group}")


def number(name: str) -> int:
    """The exercise's number in the course, from 1."""
    return COURSE.index(name) + 1


@functools.cache
def checks(track: str = "torch") -> tuple[Check, ...]:
    """Every graded check of `track`, in course order."""
    from ..core.checking import for_track

    return tuple(check for group in GROUPS for check in for_track(exercise(group).CHECKS, track))


def group_checks(group: str, track: str = "torch") -> tuple[Check, ...]:
    """The checks of one group (an exercise or the capstone) on `track`."""
    return tuple(check for check in checks(track) if check.group == group)


def points(group: str, track: str = "torch") -> float:
    """An exercise's points: the sum of its checks' points."""
    return sum(check.points for check in group_checks(group, track))


def mistakes_for(name: str, track: str = "torch") -> tuple[Mistake, ...]:
    """The known mistakes of exercise `name` on `track`."""
    module = exercise(name)
    return tuple(module.MISTAKES if track == "torch" else module.NUMPY_MISTAKES)


def catalogue() -> tuple[Mistake, ...]:
    """Every known mistake of every exercise, PyTorch track first."""
    return tuple(mistake for track in TRACKS for name in COURSE for mistake in mistakes_for(name, track))


def hints(name: str) -> tuple[str, ...]:
    """The graded hints of exercise `name`, from a nudge to nearly the answer."""
    return tuple(exercise(name).HINTS)


def diverge_explanation(stage_kind: str) -> str:
    """What `kata diverge` says of a stage of this kind once every stage before it matched."""
    for name in COURSE:
        if stage_kind in exercise(name).DIVERGE:
            return exercise(name).DIVERGE[stage_kind]
    raise KeyError(f"no exercise explains the stage {stage_kind!r}")
