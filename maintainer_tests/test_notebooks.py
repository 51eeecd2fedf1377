"""The course notebook: notebooks/kata.ipynb is generated from notebooks/kata.py, and a check in
the notebook (kata/feedback/notebook.py) shows what pytest says: the failure, its diagnosis, the
next step. .ci/run executes the whole notebook (kata/maintainer/notebooks.py --execute).
"""

import pytest

from kata import course
from kata.feedback import notebook

pytestmark = pytest.mark.maintainer


def test_the_ipynb_is_generated_from_the_py():
    pytest.importorskip("jupytext", reason="jupytext is in the dev extra")
    from kata.maintainer.notebooks import out_of_date

    stale = out_of_date()
    assert not stale, f"{stale} out of date with the .py: run `python -m kata.maintainer.notebooks`"


def test_a_check_shows_the_failure_its_diagnosis_and_the_next_step(tmp_path):
    mistake = next(m for m in course.mistakes_for("layer_norm") if m.name == "eps_outside_sqrt")
    variant = mistake.write_variant(tmp_path / "variant")
    shown = notebook.check("layer_norm", submission=variant)
    page = shown._repr_html_()
    assert not shown.passed and "fail" in shown.headline(), str(shown)
    assert "Diagnosis:" in page and "(layer_norm/eps_outside_sqrt)" in page, page
    assert "Next step" in page and "pytest tests/test_layer_norm.py" in page, page
    assert "Traceback" not in page, page


def test_a_check_of_the_reference_says_every_test_passes():
    shown = notebook.check("layer_norm", submission="solutions")
    assert shown.passed and "tests pass" in shown.headline(), str(shown)
