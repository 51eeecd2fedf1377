"""`kata merge`: join the results of a class graded in shards into one summary.csv.

    kata grade --class learners/ --out out-1 --shard 1/2     # on one machine (or array task)
    kata grade --class learners/ --out out-2 --shard 2/2     # on another
    kata merge out-1 out-2 --out results/                    # results/summary.csv, as one run writes it

Each shard writes its learners' <learner>.json and summary-K-of-N.csv in its --out (shards
may share a folder). The merge needs every shard of the same N exactly once, and each
learner in one shard only; it refuses anything else, saying what is missing or doubled. It
writes --out/summary.csv (the same columns and order, by learner, as a single run's) and
copies each learner's <learner>.json there, so --out holds what one run would have written.
"""

import argparse
import csv
import io
import re
import shutil
import sys
from pathlib import Path

from kata.cli import existing_folder
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_OK
from kata.grader import report

SHARD_SUMMARY = re.compile(r"summary-(\d+)-of-(\d+)\.csv")


class MergeError(Exception):
    """Shards that do not make one class: the message says what is missing or doubled."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "shards",
        nargs="+",
        metavar="DIR",
        type=existing_folder,
        help="the --out folders of the shards (each holds summary-K-of-N.csv and its learners' results)",
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, required=True, help="where summary.csv and the results go"
    )


def shard_summaries(folders: list[Path]) -> tuple[int, dict[int, Path]]:
    """(N, {K: the summary-K-of-N.csv}) found in `folders`: every K from 1 to N exactly once."""
    found: dict[tuple[int, int], list[Path]] = {}
    for folder in folders:
        summaries = sorted(p for p in folder.iterdir() if SHARD_SUMMARY.fullmatch(p.name))
        if not summaries:
            raise MergeError(
                f"{folder} holds no shard summary (summary-K-of-N.csv): was it graded with --shard K/N?"
            )
        for path in summaries:
            match = SHARD_SUMMARY.fullmatch(path.name)
            assert match is not None
            found.setdefault((int(match.group(1)), int(match.group(2))), []).append(path)
    splits = sorted({n for _, n in found})
    if len(splits) > 1:
        listed = ", ".join(f"{k}/{n} ({paths[0].parent})" for (k, n), paths in sorted(found.items()))
        raise MergeError(f"shards of different splits ({' and '.join(map(str, splits))} slices): {listed}")
    n = splits[0]
    doubled = [(k, paths) for (k, _), paths in sorted(found.items()) if len(set(paths)) > 1]
    if doubled:
        k, paths = doubled[0]
        raise MergeError(f"shard {k}/{n} is given twice: {' and '.join(map(str, sorted(set(paths))))}")
    missing = [k for k in range(1, n + 1) if (k, n) not in found]
    if missing:
        names = ", ".join(f"{k}/{n}" for k in missing)
        raise MergeError(
            f"shard {names} missing: the merge needs all {n} (grade it with --shard {missing[0]}/{n})"
        )
    return n, {k: paths[0] for (k, _), paths in found.items()}


def merge(folders: list[Path], out: Path) -> tuple[int, int]:
    """Write out/summary.csv from the shards in `folders`, and copy their results; (shards, learners)."""
    n, summaries = shard_summaries(folders)
    header: list[str] | None = None
    rows: dict[str, tuple[int, list[str]]] = {}
    for k, path in sorted(summaries.items()):
        with open(path, newline="") as file:
            lines = list(csv.reader(file))
        if not lines:
            raise MergeError(f"{path} is empty: grade shard {k}/{n} again")
        if header is not None and lines[0] != header:
            raise MergeError(f"{path} has other columns than shard 1/{n}: {lines[0]} against {header}")
        header = lines[0]
        for row in lines[1:]:
            learner = row[0]
            if learner in rows:
                other = rows[learner][0]
                raise MergeError(
                    f"learner {learner} is in shard {other}/{n} and in shard {k}/{n} ({path}): "
                    "were the shards cut from different class folders?"
                )
            rows[learner] = (k, row)
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # as report.class_summary writes it: the same bytes as a single run's
    writer.writerow(header or [])
    for learner in sorted(rows):
        writer.writerow(rows[learner][1])
    out.mkdir(parents=True, exist_ok=True)
    for learner, (k, _) in rows.items():
        source = summaries[k].parent / f"{learner}.json"
        target = out / source.name
        if source.is_file() and source.resolve() != target.resolve():
            shutil.copyfile(source, target)
    report.write_atomically(out / "summary.csv", buffer.getvalue())
    return n, len(rows)


def run(args: argparse.Namespace) -> int:
    """Merge the shards; exit code 2, with the reason, when they do not make one class."""
    try:
        shards, learners = merge(args.shards, args.out)
    except MergeError as error:
        print(f"kata merge: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(f"Merged {shards} shards, {learners} learners: wrote {args.out / 'summary.csv'}")
    return EXIT_OK
