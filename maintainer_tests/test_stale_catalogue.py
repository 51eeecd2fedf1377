"""Editing the reference is safe: a known mistake whose snippet is no longer in its solution (a stale
catalogue entry) fails `kata stubs --check`, and never crashes a diagnosis or a grade: it is skipped
with a warning (kata/core/mistakes.py, applicable).
"""

import argparse
import dataclasses

import pytest

from kata import course
from kata.core.checking import run_check
from kata.core.compare import Mismatch
from kata.core.loading import load
from kata.core.mistakes import StaleMistake, applicable, stale_entries
from kata.feedback import diagnosis
from kata.maintainer import stubs

pytestmark = pytest.mark.maintainer


def named(exercise, name):
    return next(mistake for mistake in course.mistakes_for(exercise) if mistake.name == name)


def stale_copy(mistake, suffix="stale"):
    """The mistake as it reads after its solution changed under it: its snippet is gone (a name of
    its own per test: each stale entry warns once per process)."""
    return dataclasses.replace(
        mistake, name=f"{mistake.name}_{suffix}", find=mistake.find + "  # edited away"
    )


def test_a_stale_entry_is_left_out_with_a_warning_that_names_it_and_its_course_module():
    fresh, stale = named("layer_norm", "eps_ignored"), stale_copy(named("layer_norm", "unbiased_variance"))
    with pytest.warns(StaleMistake, match=r"layer_norm-unbiased_variance_stale.*occurs 0 times") as caught:
        assert applicable([fresh, stale]) == (fresh,)
    assert caught[0].filename == "kata/course/layer_norm.py"
    assert stale_entries([fresh, stale]) == [stale.stale()]
    with pytest.raises(ValueError, match="occurs 0 times in solutions/layer_norm.py"):
        stale.apply((stale.solution_file).read_text())


def test_a_diagnosis_skips_a_stale_entry_and_still_names_the_mistake(tmp_path, monkeypatch):
    mistake = named("layer_norm", "eps_outside_sqrt")
    learner = load("layer_norm", mistake.write_variant(tmp_path / "learner"))
    check = course.group_checks("layer_norm")[0]
    with pytest.raises(Mismatch) as failure:
        run_check(check, learner)
    real = diagnosis.mistakes_for
    monkeypatch.setattr(
        diagnosis,
        "mistakes_for",
        lambda exercise, track="torch": (stale_copy(real(exercise)[0], "gone"), *real(exercise)),
    )
    with pytest.warns(StaleMistake):
        said = diagnosis.explain(diagnosis.diagnose_check(check, failure.value))
    assert "layer_norm/eps_outside_sqrt" in said


def test_kata_stubs_check_fails_on_a_stale_entry(monkeypatch, capsys):
    assert stubs.run(argparse.Namespace(check=True)) == 0, capsys.readouterr().out
    real = course.catalogue
    monkeypatch.setattr(
        course, "catalogue", lambda: (*real(), stale_copy(named("attention", "unscaled_scores")))
    )
    assert stubs.run(argparse.Namespace(check=True)) == 1
    assert "stale catalogue entry: mistake 'attention-unscaled_scores_stale'" in capsys.readouterr().out
