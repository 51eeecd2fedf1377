"""Watch mode: grade the exercise you are working on each time you save, as rustlings does.

    kata watch                    watch exercises/ (python grader.py --watch does the same)
    kata watch --submission DIR   watch the modules in DIR

It grades every exercise once, then shows the course's progress and the exercise to work
on: the first one, in course order, that is not done (after the six, the capstone). Each
time a file in the folder is saved it grades that exercise again, any other whose file
changed, and the capstone (it runs every module); once it is done, it moves on to the
next. Once everything is done it keeps watching, so a later save is graded too. Ctrl-C leaves.

It notices saves by polling the files' modification times twice a second: six small
files, so this costs nothing, needs no dependency and behaves the same on every system
and editor (including those that save by writing a new file and renaming it).
"""

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from kata import COURSE, GROUPS, SOLUTIONS
from kata.cli import exercises_folder, source_options, timeout_option
from kata.core.exits import EXIT_OK
from kata.core.paths import shown_path
from kata.grader import report
from kata.grader.grading import GroupResult, Limits, Report, find_submission
from kata.grader.grading import grade as grade_in_children

POLL_SECONDS = 0.5
CLEAR_SCREEN = "\033[2J\033[H"  # ANSI: clear, cursor to the top left; any terminal of this century
STEPS = GROUPS  # the order the learner works in: the exercises, the capstone after the encoder
BAR_WIDTH = 30


def finished(group: GroupResult) -> bool:
    """Done, or nothing of it can be graded here (the capstone without the pretrained weights)."""
    return group.status == "done" or all(result.kind == "skipped" for result in group.results)


def current_exercise(result: Report) -> str | None:
    """The step to work on: the first exercise not done, then the capstone; None when all is done."""
    groups = {group.group: group for group in result.groups}
    return next((step for step in STEPS if step in groups and not finished(groups[step])), None)


def progress_bar(result: Report) -> str:
    done = sum(group.status == "done" for group in result.groups if group.group in COURSE)
    filled = round(BAR_WIDTH * done / len(COURSE))
    return (
        f"Progress [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{len(COURSE)} exercises done, "
        f"{result.score:g}/{result.max_score:g} points"
    )


def describe(step: str) -> str:
    if step == "capstone":
        return "the capstone (your whole encoder against pretrained BERT)"
    return f"exercise {COURSE.index(step) + 1} ({step})"


def screen(result: Report, step: str | None, note: str = "") -> str:
    """The text of one screen: the course's progress, then the current step's line and next step."""
    folder = shown_path(result.submission)
    lines = [f"Transformer Encoder Kata, watching {folder}/", "", progress_bar(result), ""]
    if note:
        lines += [note, ""]
    if step is None:
        lines.append(
            "All done: every exercise passes and your encoder reproduces pretrained BERT. Well done!"
        )
        return "\n".join(lines)
    group = next(group for group in result.groups if group.group == step)
    alone = Report(result.submission, [group], group.seconds)
    module = "encoder" if step == "capstone" else step
    lines += report.table(alone).splitlines()[2:4]  # the header and this step's row
    lines += ["", report.next_step(alone), ""]
    if module == "encoder":
        lines.append('Where do your numbers part from BERT\'s? kata diverge "Any sentence."')
    lines.append(f"Stuck? kata hint {module}")
    lines.append(f"Save a file in {folder}/ to grade it again. Ctrl-C to quit.")
    return "\n".join(lines)


def modification_times(folder: str | Path) -> dict[str, int]:
    """{file name: modification time} of the folder's Python files."""
    times = {}
    for path in Path(folder).glob("*.py"):
        try:
            times[path.name] = path.stat().st_mtime_ns
        except FileNotFoundError:  # removed between listing and looking: an editor's save in progress
            continue
    return times


def changed_exercises(before: Mapping[str, int], after: Mapping[str, int]) -> set[str]:
    names = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    return {Path(name).stem for name in names} & set(COURSE)


def to_regrade(result: Report, step: str | None, changed: set[str]) -> set[str]:
    """What a save grades again: the current step, every exercise whose file changed, and the
    capstone whenever any file changed (it runs the whole stack: every module is its module)."""
    graded = {group.group for group in result.groups}
    steps = ({step} if step else set()) | changed
    if changed and "capstone" in graded:
        steps.add("capstone")
    return steps & graded


def merged(result: Report, fresh: Report, graded: Collection[str]) -> Report:
    """`result` with the groups in `graded` replaced by their fresh results."""
    fresh_groups = {group.group: group for group in fresh.groups}
    groups = [fresh_groups[group.group] if group.group in graded else group for group in result.groups]
    return Report(result.submission, groups, fresh.seconds)


@contextlib.contextmanager
def interrupt_note(out: TextIO) -> Iterator[None]:
    """While grading, Ctrl-C first says why leaving takes a moment: the running exercises finish first."""

    def note(signum, frame):
        print("\nStopping once the exercises being graded are finished...", file=out, flush=True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source_options(parser, "watch")
    # Declared so that `--track numpy` is refused with a reason, not as an unknown option.
    parser.add_argument(
        "--track", choices=("torch",), default="torch", help="the PyTorch track only, for now"
    )
    timeout_option(parser, Limits.timeout)


def run(args: argparse.Namespace) -> int:
    folder = SOLUTIONS if args.solutions else args.submission or exercises_folder()
    return watch(folder, limits=Limits(timeout=args.timeout))


def watch(
    folder: str | Path,
    grade: Callable[..., Report] = grade_in_children,
    poll: float = POLL_SECONDS,
    out: TextIO | None = None,
    limits: Limits | None = None,
    rounds: int | None = None,
) -> int:
    """Watch `folder` until Ctrl-C (also once all is done), or after `rounds` gradings (for tests); exit code 0."""
    out = out or sys.stdout
    try:
        _watch(Path(find_submission(folder)), grade, poll, out, limits, rounds)
    except KeyboardInterrupt:
        print("\nBye", file=out, flush=True)
    return EXIT_OK


def _watch(folder, grade, poll, out, limits, rounds):
    def show(text):
        out.write((CLEAR_SCREEN if out.isatty() else "\n" + "-" * 80 + "\n") + text + "\n")
        out.flush()

    def progress(group):
        print(f"  graded {group.group:<13} {group.status}", file=out, flush=True)

    print(f"Grading every exercise in {shown_path(folder)}/ once (this takes a little while)...", file=out)
    seen = modification_times(folder)
    with interrupt_note(out):
        result = grade(folder, limits=limits, progress=progress)
    step = current_exercise(result)
    show(screen(result, step))
    graded_rounds = 0
    # Everything done is no reason to stop: a file saved later (broken, or improved) is graded too.
    while rounds is None or graded_rounds < rounds:
        time.sleep(poll)
        now = modification_times(folder)
        if now == seen:
            continue
        to_grade = sorted(to_regrade(result, step, changed_exercises(seen, now)), key=STEPS.index)
        if not to_grade:  # a file that is no exercise of the course
            seen = now
            continue
        seen = now  # a save while grading is seen on the next look
        print(f"\nSaved: grading {', '.join(to_grade)}...", file=out, flush=True)
        with interrupt_note(out):
            result = merged(result, grade(folder, only=to_grade, limits=limits), to_grade)
        graded_rounds += 1
        previous, step = step, current_exercise(result)
        note = ""
        if (
            previous is not None
            and step != previous
            and finished(next(g for g in result.groups if g.group == previous))
        ):
            note = f"{describe(previous).capitalize()} is done." + (
                f" On to {describe(step)}." if step else ""
            )
        show(screen(result, step, note))
