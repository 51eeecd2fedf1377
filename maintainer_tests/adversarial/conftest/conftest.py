# ADVERSARIAL FIXTURE (tests/test_grader.py): a grader that would run pytest in the submission's
# folder. This conftest.py (with the pytest.ini beside it) turns every test outcome into a pass.
# The grader never runs pytest or any file but the six modules, so the wrong attention.py beside
# it must lose all of attention's 15 points.
# pytest never loads this file from the kata's own tests: pyproject.toml's norecursedirs skips
# tests/adversarial.
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.outcome = "passed"
    report.longrepr = None
    return report


def pytest_collection_modifyitems(config, items):
    items[:] = []  # nothing to fail


def pytest_sessionfinish(session, exitstatus):
    session.exitstatus = 0
    print("100/100: every check passed")
