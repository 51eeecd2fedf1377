"""`kata grade` (and `python grader.py`): grade a folder, a class of learners, or write Gradescope's zip.

The score depends only on what the submitted functions return: each exercise runs in a
fresh, sandboxed child process and is judged here, against the reference. Exit code: 0
when every point graded is earned, 1 when not, 2 on a usage or internal error.
"""

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kata import SOLUTIONS, TRACKS, course, track_folder
from kata.cli import (
    UsageError,
    exercises_folder,
    existing_folder,
    file_to_write,
    source_options,
    timeout_option,
)
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_INTERRUPTED, EXIT_NOT_YET, EXIT_OK
from kata.grader import grading, report, scale
from kata.grader.grading import GroupResult, Limits, Report, grade


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = source_options(parser, "grade")
    source.add_argument(
        "--class",
        dest="class_dir",
        metavar="DIR",
        type=existing_folder,
        help="grade every learner folder in DIR, each one's results in --out DIR",
    )
    source.add_argument(
        "--gradescope-zip",
        metavar="PATH",
        type=file_to_write("autograder.zip"),
        help="write Gradescope's autograder zip to PATH and stop",
    )
    parser.add_argument(
        "--hidden-visibility",
        choices=("after_due_date", "hidden", "after_published", "visible"),
        help="with --gradescope-zip: when Gradescope shows students the hidden checks (default after_due_date)",
    )
    parser.add_argument(
        "--hidden-points",
        metavar="SHARE",
        type=float,
        help="with --gradescope-zip: the share of each check's points its hidden twin carries, 0 to 1 (default 0.5)",
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, help="with --class (and only with it): where the results go"
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        type=scale.jobs_count,
        help="children at once across the whole run, each grading one exercise "
        "(default: the cores this process may use, from its CPU affinity and cgroup quota)",
    )
    parser.add_argument(
        "--shard",
        metavar="K/N",
        type=scale.shard,
        help="with --class: grade only the K-th of N slices of the learners (sorted by folder name), "
        "writing OUT/summary-K-of-N.csv; `kata merge` joins the shards' results",
    )
    parser.add_argument(
        "--regrade",
        metavar="LEARNER",
        action="append",
        default=[],
        help="with --class: grade this learner again even if a result is saved (repeatable)",
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        choices=course.GROUPS,
        help="grade this exercise (repeatable)",
    )
    parser.add_argument(
        "--json",
        metavar="PATH",
        type=file_to_write("results.json"),
        help="also write Gradescope's results.json to PATH",
    )
    parser.add_argument(
        "--track", choices=TRACKS, default="torch", help="the course's track (default %(default)s)"
    )
    timeout_option(parser, Limits.timeout)


def run(args: argparse.Namespace) -> int:
    """Grade what the options say; the exit code says whether every point graded was earned."""
    if (args.class_dir is None) != (args.out is None):  # the one pairing argparse cannot declare
        raise UsageError(
            "--class DIR and --out DIR go together: the learners' folders, and where their results go"
        )
    if args.regrade and args.class_dir is None:
        raise UsageError("--regrade LEARNER goes with --class DIR --out DIR")
    if (args.hidden_visibility or args.hidden_points is not None) and not args.gradescope_zip:
        raise UsageError("--hidden-visibility and --hidden-points go with --gradescope-zip PATH")
    if args.hidden_points is not None and not 0 <= args.hidden_points <= 1:
        raise UsageError(
            f"--hidden-points {args.hidden_points:g}: a share of each check's points, from 0 to 1"
        )
    if args.shard and args.class_dir is None:
        raise UsageError("--shard K/N goes with --class DIR --out DIR: it slices a class")
    if args.jobs:
        grading.limit_children(args.jobs)
    start = time.monotonic()
    try:
        if args.gradescope_zip:
            from kata.grader.gradescope import write_zip

            choices = {"hidden_visibility": args.hidden_visibility, "hidden_points": args.hidden_points}
            written = write_zip(
                args.gradescope_zip, args.track, **{k: v for k, v in choices.items() if v is not None}
            )
            print(f"Wrote {written} (with a new secret for its hidden checks)")
            return EXIT_OK
        if args.class_dir:
            return grade_class(args)
        if args.solutions:
            return grade_one(track_folder(SOLUTIONS, args.track), args)
        return grade_one(args.submission or exercises_folder(args.track), args)
    except KeyboardInterrupt:  # Ctrl-C: the children are killed, what was written stays
        grading.stop()
        print("\nStopped (Ctrl-C).", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except Exception as error:
        traceback.print_exc()
        print(
            f"\nThe grader itself failed ({type(error).__name__}: {error}); this is not your fault.",
            file=sys.stderr,
        )
        if args.json:
            try:
                failure = f"{type(error).__name__}: {error}"
                report.write_json(
                    args.json, report.failed_gradescope(failure, time.monotonic() - start, args.track)
                )
            except OSError as unwritable:  # a folder made since the options were read: say so, still exit 2
                print(f"Could not write {args.json}: {unwritable}", file=sys.stderr)
        return EXIT_CANNOT_RUN


def progress(group: GroupResult) -> None:
    print(
        f"  graded {group.group:<13} {group.status:<12} ({group.seconds:.1f} s)", file=sys.stderr, flush=True
    )


def grade_one(folder: Path, args: argparse.Namespace) -> int:
    limits = Limits(timeout=args.timeout)
    result = grade(folder, only=args.only, limits=limits, progress=progress, track=args.track)
    print(report.table(result))
    print()
    print(report.next_step(result))
    if args.json:
        report.write_json(args.json, report.gradescope(result))
        print(f"\nWrote {args.json}")
    return EXIT_OK if all_earned(result) else EXIT_NOT_YET


def all_earned(result: Report) -> bool:
    """Every point of the checks graded in this run is earned (the contract's exit code 0); a
    check worth no points (the capstone, exercise 7) does not decide it."""
    graded = [r for group in result.groups for r in group.results if r.kind != "skipped"]
    deciding = [r for r in graded if r.check.points > 0] or graded  # --only capstone: its own checks
    return bool(deciding) and all(r.passed for r in deciding)


def grade_class(args: argparse.Namespace) -> int:
    """Grade each learner folder (of the shard, with --shard), several at a time; each result is
    written as soon as it is ready. Ctrl-C stops at once: the results written stay, and so does
    the summary of them; running the same command again grades the learners left."""
    out = args.out
    folders = sorted(path for path in args.class_dir.iterdir() if path.is_dir())
    for link in [path for path in folders if path.is_symlink()]:  # it could point anywhere, solutions/ too
        print(f"  {link.name:<24} skipped: a link, not a learner's folder", file=sys.stderr)
    learners = [path for path in folders if not path.is_symlink()]
    where, summary_path = f"{args.class_dir}", out / "summary.csv"
    if args.shard:  # a deterministic slice of the sorted folders: every machine computes the same ones
        k, n = args.shard
        learners = scale.shard_of(learners, k, n)
        where, summary_path = f"{args.class_dir} (shard {k}/{n})", out / scale.summary_name(k, n)
    unknown = sorted(set(args.regrade) - {learner.name for learner in learners})
    if unknown:
        raise UsageError(f"--regrade: no learner folder {', '.join(unknown)} in {where}")
    done = {}
    for learner in learners:
        if learner.name in args.regrade:
            continue
        try:
            done[learner.name] = json.loads((out / f"{learner.name}.json").read_text())
        except (OSError, ValueError):
            continue
    to_grade = [learner for learner in learners if learner.name not in done]
    print(f"{len(learners)} learners in {where}: {len(done)} already graded, {len(to_grade)} to grade")

    def grade_learner(learner):
        try:
            limits = Limits(timeout=args.timeout)
            graded = grade(learner, only=args.only, limits=limits, track=args.track)
            data = report.gradescope(graded)
        except Exception as error:  # not saved, so the next run tries this learner again
            if not grading.STOPPING.is_set():  # stopped: Ctrl-C was said once, for everyone
                print(
                    f"  {learner.name:<24} the grader failed: {type(error).__name__}: {error}",
                    file=sys.stderr,
                )
            return learner.name, None
        if grading.STOPPING.is_set():  # its children may have been killed: never a final grade
            return learner.name, None
        disturbed = [group.group for group in graded.groups if group.status == "disturbed: regrade"]
        if disturbed:  # twice disturbed: the machine's trouble, never a final grade
            print(
                f"  {learner.name:<24} not saved: the grader was disturbed grading {', '.join(disturbed)}",
                file=sys.stderr,
            )
            return learner.name, None
        report.write_json(out / f"{learner.name}.json", data)
        return learner.name, data

    # --jobs limits the children (grading.CHILDREN); enough learners at once to keep them all busy
    # while one learner's last exercises finish, and no more (Ctrl-C loses the learners under way).
    jobs = args.jobs or scale.usable_cores()
    groups = len(set(args.only or course.GROUPS))
    pool = ThreadPoolExecutor(max_workers=min(jobs, math.ceil(jobs / groups) + 1))
    failed = []
    try:
        for name, data in pool.map(grade_learner, to_grade):
            if data is None:
                failed.append(name)
                continue
            done[name] = data
            report.write_atomically(summary_path, report.class_summary(done))
            print(f"  {name:<24} {data['score']:g} / 100", flush=True)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while stopping changes nothing
        grading.stop()
        report.write_atomically(summary_path, report.class_summary(done))
        left = len(learners) - len(done)
        print(
            f"\nStopped (Ctrl-C): {len(done)} results kept in {out}; run the same command again to grade the {left} left.",
            file=sys.stderr,
            flush=True,
        )
        if not settle(pool):  # a child would not die: leave without waiting for it
            sys.stdout.flush()
            os._exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    pool.shutdown()
    report.write_atomically(summary_path, report.class_summary(done))
    print(f"Wrote {len(done)} results and {summary_path}")
    if failed:
        print(
            f"Not graded (the grader failed or was disturbed; run again to retry): {', '.join(failed)}",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN
    return EXIT_OK if all(data["score"] == 100 for data in done.values()) else EXIT_NOT_YET


def settle(pool: ThreadPoolExecutor, seconds: float = 10.0) -> bool:
    """After grading.stop(): wait, at most `seconds`, for the learners under way to give up, killing
    any child started meanwhile (one that was starting as Ctrl-C came); whether they all did."""
    waiter = threading.Thread(target=pool.shutdown, kwargs={"cancel_futures": True}, daemon=True)
    waiter.start()
    deadline = time.monotonic() + seconds
    while waiter.is_alive() and time.monotonic() < deadline:
        grading.stop()
        waiter.join(0.2)
    return not waiter.is_alive()
