"""What the grader shows: the learner's table and next step, Gradescope's results.json, the class CSV."""

import csv
import dataclasses
import functools
import io
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kata import COURSE, EXERCISES, REPO, __version__, course, track_folder
from kata.core.paths import shown_path
from kata.grader.bounded import clean

if TYPE_CHECKING:  # grading imports torch; the report needs none of it
    from kata.grader.grading import Report

TRACK_NAMES = {"torch": "PyTorch track", "numpy": "NumPy track"}


def table(report: "Report") -> str:
    lines = [
        f"Transformer Encoder Kata: grading {shown_path(report.submission)}/ ({TRACK_NAMES[report.track]})",
        "",
        f"  {'#':>2}  {'exercise':<13} {'checks':>7}  {'points':>9}  status",
    ]
    for group in report.groups:
        number = str(COURSE.index(group.group) + 1) if group.group in COURSE else "-"
        passed = sum(result.passed for result in group.results)
        points = f"{group.score:g} / {sum(r.check.points for r in group.results):g}"
        lines.append(
            f"  {number:>2}  {group.group:<13} {passed:>3}/{len(group.results):<3}  {points:>9}  {group.status}"
        )
    lines.append(f"      {'total':<13} {'':>7}  {f'{report.score:g} / {report.max_score:g}':>9}")
    if report.isolation:
        lines += ["", f"  {report.isolation}"]
    return "\n".join(lines)


def next_step(report: "Report") -> str:
    """One short paragraph: the first unfinished exercise, its first failing check and why."""
    for group in report.groups:
        failing = [result for result in group.results if not result.passed and result.kind != "skipped"]
        if not failing:
            continue
        first = root_failure(failing, group.results, report.track)
        module = "encoder" if group.group == "capstone" else group.group
        where = f"{shown_path(report.submission)}/{module}.py"
        if group.group == "capstone":
            heading = (
                f"Next: your whole stack ({where} and the modules under it) does not reproduce BERT yet."
            )
        elif course.points(group.group, report.track) == 0 and report.score == report.max_score:
            heading = (
                f"Done: every graded exercise passes, {report.score:g} / {report.max_score:g}. Optional next: "
                f"exercise {COURSE.index(group.group) + 1}, {where} (0 points), is {group.status}."
            )
        else:
            heading = f"Next: exercise {COURSE.index(group.group) + 1}, {where}, is {group.status}."
        lines = [heading, f"  First failing check: {first.check.name} ({first.check.title})"]
        message = clean(first.message).strip() or "failed, without a message"
        lines += [f"  {line}" for line in message.splitlines()[:6]]
        if not any(word in message for word in ("Where to look:", "Diagnosis:", "first (")):
            lines.append(f"  Where to look: {hint_for(first.check, module, message)}")
        if group.problem:
            lines.append(f"  The process {group.problem}")
        if group.output.strip():
            lines.append(f"  It printed: {clean(group.output.strip().splitlines()[0], 120)}")
        options = " --track numpy" if report.track == "numpy" else ""
        if Path(report.submission).resolve() != track_folder(EXERCISES, report.track).resolve():
            options += f" --submission={shown_path(report.submission)}"  # pytest tests exercises/ unless told
        lines.append(f"  See every failing test: pytest tests/test_{module}.py{options}")
        return "\n".join(lines)
    not_graded = [group for group in report.groups if group.status == "not graded"]
    if not_graded:
        names = ", ".join(group.group for group in not_graded)
        reason = not_graded[0].results[0].message
        why = "" if "--only" in reason else f" ({reason})"
        return f"Everything graded passes. Not graded in this run: {names}{why}."
    return "All done: every check passes, and your encoder reproduces pretrained BERT. Well done!"


def root_failure(failing: list[Any], results: list[Any], track: str = "torch") -> Any:
    """The failing result whose failure explains the others: the first failing check that no
    more basic failing check of its exercise is used by (kata/feedback/diagnosis.py root_cause)."""
    from kata.feedback.diagnosis import root_cause

    passed = {result.check.name: result.passed or result.kind == "skipped" for result in results}
    for result in failing:
        root = root_cause(result.check, lambda check: passed.get(check.name, True), track)
        if root is None:
            return result
    return failing[0]


def hint_for(check: Any, module: str, message: str = "") -> str:
    """A hint for a failure that carries none: the hint of the output the message is about (it
    starts with that output's name), else the exercise's graded hints (never another output's)."""
    for what, hint in getattr(check, "hints", {}).values():
        if hint and message.startswith(what):
            return hint
    return f"`kata hint {module}` gives this exercise's hints, one more each time"


def gradescope(report: "Report") -> dict[str, Any]:
    """Gradescope's results.json: every known check appears, max scores add up to 100. Each test has
    its visibility: "visible" for a public check, the zip's choice for a hidden one (kata/grader/hidden.py);
    the top-level output, which students see at once, shows the public checks only."""
    from kata.grader import hidden

    settings = hidden.settings()
    tests = []
    for group in report.groups:
        for result in group.results:
            output = clean(result.message) or "passed"
            if not result.passed and group.output.strip():
                output += f"\n\nWhat {group.group}.py printed (first lines):\n{clean(group.output, 1000)}"
            tests.append(
                {
                    "name": f"{result.check.name}: {result.check.title}",
                    "score": result.score,
                    "max_score": result.check.points,
                    "status": "passed" if result.passed else "failed",
                    "output": output,
                    "visibility": hidden.visibility(result.check, settings),
                }
            )
    public = public_view(report)
    return {
        "score": report.score,
        "execution_time": round(report.seconds, 2),
        "output": table(public) + "\n\n" + next_step(public) + hidden_note(report, settings),
        "tests": tests,
        "extra_data": {
            "track": report.track,
            "kata_version": __version__,
            "kata_commit": commit(),
            "isolation": report.isolation,
            "submission_sha256": report.submission_sha256,
            "checks": [result.check.name for group in report.groups for result in group.results],
        },
    }


WHEN_SHOWN = {
    "after_due_date": "after the due date",
    "after_published": "once the grades are published",
    "hidden": "never (your instructor sees them)",
    "visible": "now, below",
}


def public_view(report: "Report") -> "Report":
    """`report` without its hidden checks: what the top-level output of results.json shows."""
    groups = [
        dataclasses.replace(group, results=[r for r in group.results if not r.check.hidden])
        for group in report.groups
    ]
    return dataclasses.replace(report, groups=groups)


def hidden_note(report: "Report", settings: Any) -> str:
    """The sentence that says hidden checks were graded (never how they went), or "" when none were."""
    hidden = [result for group in report.groups for result in group.results if result.check.hidden]
    if not hidden:
        return ""
    points = sum(result.check.points for result in hidden)
    when = WHEN_SHOWN.get(getattr(settings, "visibility", ""), WHEN_SHOWN["after_due_date"])
    return (
        f"\n\nThe table shows the public checks only. {len(hidden)} hidden checks ({points:g} points) "
        "test the same properties on inputs you have not seen (other values and sizes, other sentences); "
        f"their results are shown {when}."
    )


def failed_gradescope(error: object, seconds: float = 0.0, track: str = "torch") -> dict[str, Any]:
    """A results.json for when the grader itself failed: zero, with every check of the track listed
    (a zip's hidden checks too)."""
    from kata.grader import hidden

    settings = hidden.settings()
    checks = [
        c
        for group in course.GROUPS
        for c in hidden.graded_checks(course.group_checks(group, track), None, settings)
    ]
    tests = [
        {
            "name": f"{check.name}: {check.title}",
            "score": 0,
            "max_score": check.points,
            "status": "failed",
            "output": "not graded: the grader failed",
            "visibility": hidden.visibility(check, settings),
        }
        for check in checks
    ]
    tests.insert(
        0,
        {
            "name": "autograder failed, tell your instructor",
            "score": 0,
            "max_score": 0,
            "status": "failed",
            "output": clean(f"The grader itself failed, not your code: {error}"),
            "visibility": "visible",
        },
    )
    return {
        "score": 0,
        "execution_time": round(seconds, 2),
        "output": f"The grader failed: {error}",
        "tests": tests,
        "extra_data": {"track": track, "kata_version": __version__, "kata_commit": commit()},
    }


@functools.cache
def commit() -> str:
    """The kata's git commit (the repository's HEAD, or COMMIT beside the package in a zip), or ""."""
    shipped = REPO / "kata" / "COMMIT"
    if shipped.is_file():
        return shipped.read_text().strip()
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def write_atomically(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: a reader never sees half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_json(path: str | Path, data: object) -> None:
    write_atomically(path, json.dumps(data, indent=2) + "\n")


def class_summary(results: Mapping[str, dict[str, Any]]) -> str:
    """CSV text: learner, score, then points per exercise, from {learner: results.json data}."""
    groups = [group for group in course.GROUPS if course.points(group) > 0]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["learner", "score", *groups])
    for learner, data in sorted(results.items()):
        per_group = dict.fromkeys(groups, 0.0)
        for test in data["tests"]:
            group = test["name"].split("/", 1)[0]
            if group in per_group:
                per_group[group] += test["score"]
        writer.writerow([learner, f"{data['score']:g}", *(f"{per_group[g]:g}" for g in groups)])
    return buffer.getvalue()
