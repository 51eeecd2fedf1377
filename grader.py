"""Grade the Transformer Encoder Kata.

    python grader.py                      grade exercises/ (your work)
    python grader.py --solutions          grade solutions/ (the reference: 100/100)
    python grader.py --submission DIR     grade the modules in DIR (or DIR/exercises)
    python grader.py --only attention     grade some exercises (repeatable)
    python grader.py --json results.json  also write Gradescope's results.json
    python grader.py --track numpy        grade the NumPy track: exercises/numpy/ (or with any option above)
    python grader.py --watch              grade the exercise you work on each time you save
    python grader.py --hint attention     show the next hint for an exercise
    python grader.py --class DIR --out OUT
                                          grade every learner folder in DIR: OUT/<learner>.json
                                          and OUT/summary.csv; run it again to resume
    python grader.py --gradescope-zip autograder.zip
                                          write the zip Gradescope's autograder takes

Exit code: 0 when every point graded is earned, 1 when not, 2 on a usage or internal error.
The score depends only on what the submitted functions return: each exercise runs in a
fresh, sandboxed child process and is judged here, against the reference.
"""

import argparse
import json
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kata import COURSE, EXERCISES, SOLUTIONS, TRACKS, course, track_folder
from kata.grader import report
from kata.grader.grading import Limits, grade

EXIT_ALL_EARNED, EXIT_NOT_ALL, EXIT_ERROR = 0, 1, 2


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="grader.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--solutions", action="store_true", help="grade solutions/ instead of exercises/")
    source.add_argument("--submission", metavar="DIR", help="grade the modules in DIR instead of exercises/")
    source.add_argument("--class", dest="class_dir", metavar="DIR", help="grade every learner folder in DIR")
    source.add_argument("--gradescope-zip", metavar="PATH", help="write Gradescope's autograder zip and stop")
    parser.add_argument(
        "--only", metavar="NAME", action="append", choices=course.GROUPS, help="grade this exercise"
    )
    parser.add_argument("--json", metavar="PATH", help="also write Gradescope's results.json to PATH")
    parser.add_argument(
        "--track", choices=TRACKS, default="torch", help="the course's track (default %(default)s)"
    )
    # When you are stuck (kata/watch.py, kata/hints.py)
    parser.add_argument(
        "--watch", action="store_true", help="grade the current exercise each time a file is saved"
    )
    parser.add_argument("--hint", metavar="NAME", choices=COURSE, help="show the next hint for this exercise")
    parser.add_argument("--out", metavar="DIR", help="with --class: where the results go")
    parser.add_argument(
        "--timeout", type=float, default=Limits.timeout, help="seconds per exercise (default %(default)g)"
    )
    args = parser.parse_args(argv)
    if args.class_dir and not args.out:
        parser.error("--class needs --out DIR for the results")
    if args.out and not args.class_dir:
        parser.error("--out goes with --class")
    if args.watch and (args.class_dir or args.gradescope_zip):
        parser.error("--watch grades one folder: exercises/, --solutions or --submission DIR")
    if args.watch and args.track != "torch":
        parser.error("--watch works on the PyTorch track only, for now")
    if args.json and Path(args.json).is_dir():
        parser.error(
            f"--json {args.json} is a folder; give the file to write, e.g. {Path(args.json) / 'results.json'}"
        )
    folder = args.submission or args.class_dir
    if folder and not Path(folder).is_dir():
        parser.error(f"{folder} is not a folder")
    return args


def progress(group):
    print(
        f"  graded {group.group:<13} {group.status:<12} ({group.seconds:.1f} s)", file=sys.stderr, flush=True
    )


def grade_one(folder, args):
    limits = Limits(timeout=args.timeout)
    result = grade(folder, only=args.only, limits=limits, progress=progress, track=args.track)
    print(report.table(result))
    print()
    print(report.next_step(result))
    if args.json:
        report.write_json(args.json, report.gradescope(result))
        print(f"\nWrote {args.json}")
    graded = [r for group in result.groups for r in group.results if r.kind != "skipped"]
    return EXIT_ALL_EARNED if graded and all(r.passed for r in graded) else EXIT_NOT_ALL


def grade_class(args):
    """Grade each learner folder, several at a time; each result is written as soon as it is ready."""
    out = Path(args.out)
    folders = sorted(path for path in Path(args.class_dir).iterdir() if path.is_dir())
    for link in [path for path in folders if path.is_symlink()]:  # it could point anywhere, solutions/ too
        print(f"  {link.name:<24} skipped: a link, not a learner's folder", file=sys.stderr)
    learners = [path for path in folders if not path.is_symlink()]
    done = {}
    for learner in learners:
        try:
            done[learner.name] = json.loads((out / f"{learner.name}.json").read_text())
        except (OSError, ValueError):
            continue
    to_grade = [learner for learner in learners if learner.name not in done]
    print(
        f"{len(learners)} learners in {args.class_dir}: {len(done)} already graded, {len(to_grade)} to grade"
    )

    def grade_learner(learner):
        try:
            limits = Limits(timeout=args.timeout)
            data = report.gradescope(grade(learner, only=args.only, limits=limits, track=args.track))
        except Exception as error:  # not saved, so the next run tries this learner again
            print(f"  {learner.name:<24} the grader failed: {type(error).__name__}: {error}", file=sys.stderr)
            return learner.name, None
        report.write_json(out / f"{learner.name}.json", data)
        return learner.name, data

    failed = []
    with ThreadPoolExecutor(max_workers=2) as pool:  # the children themselves are limited to the cores
        for name, data in pool.map(grade_learner, to_grade):
            if data is None:
                failed.append(name)
                continue
            done[name] = data
            report.write_atomically(out / "summary.csv", report.class_summary(done))
            print(f"  {name:<24} {data['score']:g} / 100", flush=True)
    report.write_atomically(out / "summary.csv", report.class_summary(done))
    print(f"Wrote {len(done)} results and {out / 'summary.csv'}")
    if failed:
        print(f"Not graded (the grader failed; run again to retry): {', '.join(failed)}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_ALL_EARNED if all(data["score"] == 100 for data in done.values()) else EXIT_NOT_ALL


def main(argv=None):
    start = time.monotonic()
    args = parse_args(argv)  # exits 2 on a usage error
    try:
        if args.hint:
            from kata.feedback.hints import next_hint

            print(next_hint(args.hint))
            return EXIT_ALL_EARNED
        if args.watch:
            from kata.feedback.watch import watch

            folder = SOLUTIONS if args.solutions else Path(args.submission or EXERCISES)
            return watch(folder, limits=Limits(timeout=args.timeout))
        if args.gradescope_zip:
            from kata.grader.gradescope import write_zip

            print(f"Wrote {write_zip(args.gradescope_zip, args.track)}")
            return EXIT_ALL_EARNED
        if args.class_dir:
            return grade_class(args)
        if args.solutions:
            return grade_one(track_folder(SOLUTIONS, args.track), args)
        return grade_one(Path(args.submission or track_folder(EXERCISES, args.track)), args)
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
            except OSError as unwritable:  # e.g. --json names a folder: say so, still exit 2
                print(f"Could not write {args.json}: {unwritable}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
