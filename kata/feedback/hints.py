"""Graded hints, one more each time a learner asks: `kata hint attention`.

Each exercise has two or three hints (its HINTS, in kata/course/<exercise>.py), from a nudge towards the idea to nearly the answer,
never the code itself. How many of each exercise's hints were shown is remembered in
`.kata-hints.json` at the top of the repository (or in $KATA_STATE_DIR), so asking again
gives the next one, after the earlier ones, numbered.
"""

import argparse
import json
import os
import textwrap
from pathlib import Path

from kata import COURSE, REPO, course
from kata.core.exits import EXIT_OK
from kata.grader.report import write_json

STATE_FILE = ".kata-hints.json"


def state_path(folder: str | Path | None = None) -> Path:
    """The file that remembers the hints shown: in `folder`, else $KATA_STATE_DIR, else the repository."""
    return Path(folder or os.environ.get("KATA_STATE_DIR") or REPO) / STATE_FILE


def shown_counts(path: str | Path) -> dict[str, int]:
    """{exercise: number of hints shown}; a missing or unreadable file means none yet."""
    try:
        counts = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(counts, dict):
        return {}
    return {name: count for name, count in counts.items() if name in COURSE and isinstance(count, int)}


def next_hint(exercise: str, path: str | Path | None = None) -> str:
    """Reveal one more hint of `exercise` (remembered in `path`) and return the text to show:
    every hint revealed so far, numbered, and whether more are left."""
    path = path or state_path()
    hints = course.hints(exercise)
    counts = shown_counts(path)
    already = min(counts.get(exercise, 0), len(hints))
    revealed = min(already + 1, len(hints))
    if revealed != counts.get(exercise):
        write_json(path, {**counts, exercise: revealed})
    lines = [f"Hints for exercise {COURSE.index(exercise) + 1}, {exercise}.py:"]
    for number, hint in enumerate(hints[:revealed], start=1):
        lines += [
            "",
            f"Hint {number} of {len(hints)}:",
            textwrap.fill(hint, width=92, initial_indent="  ", subsequent_indent="  "),
        ]
    if already == len(hints):
        ending = (
            f"No more hints for {exercise}: you have seen all {len(hints)}. The failing tests say "
            f"what is off and where: pytest tests/test_{exercise}.py"
        )
    elif revealed < len(hints):
        ending = f"Still stuck? kata hint {exercise} shows the next one."
    else:
        ending = f"That was the last hint for {exercise}."
    return "\n".join([*lines, "", textwrap.fill(ending, width=94)])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("exercise", metavar="NAME", choices=COURSE, help=f"the exercise: {', '.join(COURSE)}")


def run(args: argparse.Namespace) -> int:
    print(next_hint(args.exercise))
    return EXIT_OK
