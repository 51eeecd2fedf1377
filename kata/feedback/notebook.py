"""The kata in a notebook (Jupyter, Colab): one call per exercise shows what pytest says, as HTML.

    from kata.feedback import notebook as kata
    kata.check("attention")    # tests/test_attention.py on exercises/attention.py: what fails, why, the next step
    kata.grade()               # the grader's table and next step
    kata.attention("The cat sat on the mat.", pair="It was asleep.")  # the offline attention page, inline
    kata.search("How do I keep my bread from going stale?")           # your encoder searching a corpus

Which implementation: exercises/ by default; the environment variables KATA_NOTEBOOK_SUBMISSION
(`solutions`, or a folder) and KATA_NOTEBOOK_TRACK (`numpy`) change it for every call, as
CI does to run the course notebook on the reference (kata.maintainer.notebooks).

Each check runs pytest in a fresh Python process, with the kata's plugin and this module as a
second plugin (`-p kata.feedback.notebook`) that writes the run's reports as JSON: so the learner's
file is tested as it is on disk now (a module imported once in the kernel would stay as it was), a
hang or a crash cannot take the kernel with it, and the messages, diagnoses and next step are the
ones `pytest tests/test_<exercise>.py` prints in a terminal.
"""

import argparse
import html
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from kata import COURSE, EXERCISES, REPO, SOLUTIONS, track_folder
from kata.core.paths import shown_path

if TYPE_CHECKING:
    from kata.grader.grading import Report

REPORT_OPTION = "--kata-notebook-report"
SHOWN_OPEN = 3  # failures shown unfolded, as many as pytest diagnoses (DIAGNOSED_FAILURES)
CHECK_TIMEOUT = 600  # seconds of one exercise's tests before the run is stopped (an infinite loop?)
COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700", "todo": "#57606a"}


def target(submission: str | Path | None = None, track: str | None = None) -> tuple[str | None, str]:
    """(submission, track): the arguments, else the environment's KATA_NOTEBOOK_*, else exercises/."""
    submission = str(submission or os.environ.get("KATA_NOTEBOOK_SUBMISSION") or "") or None
    track = track or os.environ.get("KATA_NOTEBOOK_TRACK") or "torch"
    return submission, track


def folder_of(submission: str | None, track: str) -> Path:
    """The folder the implementation lives in: solutions/ for "solutions", exercises/ for None."""
    if submission == "solutions":
        return track_folder(SOLUTIONS, track)
    return Path(submission).resolve() if submission else track_folder(EXERCISES, track)


def path(exercise: str, submission: str | Path | None = None, track: str | None = None) -> Path:
    """The file to write an exercise in (for %%writefile, or to open in the notebook's editor)."""
    _known(exercise)
    return folder_of(*target(submission, track)) / f"{exercise}.py"


def _known(exercise):
    if exercise not in COURSE:
        raise ValueError(f"no exercise {exercise!r}: the course has {', '.join(COURSE)}")


# ---- check(): one exercise's tests, in a fresh pytest process -------------------------------


@dataclass
class Test:
    name: str
    outcome: str  # passed, failed, skipped
    message: str = ""  # what the kata's plugin reports (a failure's paragraph, a skip's reason)

    @property
    def todo(self) -> bool:
        return self.outcome == "failed" and self.message.startswith("not implemented yet")


@dataclass
class CheckReport:
    """What one exercise's pytest run said; shown as HTML in a notebook, as text elsewhere."""

    exercise: str
    folder: str
    tests: list = field(default_factory=list)
    next_step: list = field(default_factory=list)
    problem: str = ""  # when pytest itself could not run: why, and what it printed

    @property
    def passed(self) -> bool:
        return not self.problem and bool(self.tests) and all(test.outcome != "failed" for test in self.tests)

    def counts(self) -> dict[str, int]:
        return {
            kind: sum(test.outcome == kind for test in self.tests) for kind in ("passed", "failed", "skipped")
        }

    def headline(self) -> str:
        number = COURSE.index(self.exercise) + 1
        where = f"exercise {number} of {len(COURSE)}, {self.folder}/{self.exercise}.py"
        if self.problem:
            return f"{where}: the tests could not run"
        counts = self.counts()
        todo = sum(test.todo for test in self.tests)
        if counts["failed"] == 0:
            state = f"all {counts['passed']} tests pass" + (
                f" ({counts['skipped']} skipped)" if counts["skipped"] else ""
            )
        elif todo == counts["failed"] and counts["passed"] == 0:
            state = "not started yet: every test says 'not implemented yet'"
        else:
            state = f"{counts['passed']} of {len(self.tests)} tests pass, {counts['failed']} fail"
        return f"{where[0].upper()}{where[1:]}: {state}"

    def failures(self) -> list[tuple[str, list[str]]]:
        """[(message, [test names])]: failures with the same message shown once."""
        grouped: dict[str, list[str]] = {}
        for test in self.tests:
            if test.outcome == "failed":
                grouped.setdefault(test.message, []).append(test.name)
        return list(grouped.items())

    def __str__(self):
        lines = [self.headline()]
        if self.problem:
            lines.append(self.problem)
        for message, names in self.failures():
            lines += [
                "",
                f"{names[0]}" + (f" (and {len(names) - 1} more)" if len(names) > 1 else ""),
                message,
            ]
        if self.next_step:
            lines += ["", "Next step:", *self.next_step]
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        colour = COLOURS["passed"] if self.passed else COLOURS["failed"]
        parts = [f'<div style="border-left:6px solid {colour};padding:4px 12px;font-family:sans-serif">']
        parts.append(f"<h3 style='margin:6px 0;color:{colour}'>{_e(self.headline())}</h3>")
        if self.problem:
            parts.append(_pre(self.problem))
        failures = self.failures()
        for number, (message, names) in enumerate(failures):
            if number == SHOWN_OPEN:  # the first few are the ones pytest diagnoses: the rest folded away
                parts.append(f"<details><summary>{len(failures) - number} more failures</summary>")
            more = (
                f" <span style='color:#57606a'>and {len(names) - 1} more tests</span>"
                if len(names) > 1
                else ""
            )
            parts.append(
                f"<details {'open' if number < SHOWN_OPEN else ''}>"
                f"<summary><b style='color:{COLOURS['failed']}'>&#10007;</b> {_e(names[0])}{more}</summary>"
                f"{_message(message)}"
                + (
                    f"<div style='color:#57606a;font-size:90%'>{_e(', '.join(names[1:]))}</div>"
                    if len(names) > 1
                    else ""
                )
                + "</details>"
            )
        if len(failures) > SHOWN_OPEN:
            parts.append("</details>")
        skipped = [test for test in self.tests if test.outcome == "skipped"]
        if skipped:
            parts.append(
                f"<details><summary style='color:{COLOURS['skipped']}'>{len(skipped)} skipped</summary>"
                + "".join(f"<div>{_e(test.name)}: {_e(test.message)}</div>" for test in skipped)
                + "</details>"
            )
        passed = [test.name for test in self.tests if test.outcome == "passed"]
        if passed:
            parts.append(
                f"<details><summary style='color:{COLOURS['passed']}'>&#10003; {len(passed)} passed</summary>"
                f"<div style='font-size:90%'>{_e(', '.join(passed))}</div></details>"
            )
        if self.next_step:
            parts.append(
                "<div style='margin-top:8px;padding:6px 10px;background:#ddf4ff;border-radius:4px'>"
                "<b>Next step</b><br>" + "<br>".join(_e(line) for line in self.next_step) + "</div>"
            )
        parts.append("</div>")
        return "".join(parts)


def _e(text):
    return html.escape(str(text))


def _pre(text):
    return f"<pre style='white-space:pre-wrap;margin:4px 0 8px 18px'>{_e(text)}</pre>"


def _message(message):
    """A failure's paragraph, its Diagnosis and Where to look lines set off."""
    lines = []
    for line in message.splitlines():
        escaped = _e(line)
        stripped = line.strip()
        if stripped.startswith("Diagnosis:"):
            escaped = f"<b style='color:{COLOURS['failed']}'>{escaped}</b>"
        elif stripped.startswith("Where to look:"):
            escaped = f"<span style='color:#0550ae'>{escaped}</span>"
        lines.append(escaped)
    return "<pre style='white-space:pre-wrap;margin:4px 0 8px 18px'>" + "\n".join(lines) + "</pre>"


def check(
    exercise: str,
    submission: str | Path | None = None,
    track: str | None = None,
    timeout: float = CHECK_TIMEOUT,
) -> CheckReport:
    """Run exercise `exercise`'s tests (tests/test_<exercise>.py) and return what they say, which a
    notebook shows as HTML: each failure's message and diagnosis (identical ones once), the
    skipped and passed tests, and the next step."""
    _known(exercise)
    submission, track = target(submission, track)
    folder = folder_of(submission, track)
    options = (
        ["--solutions"] if submission == "solutions" else [f"--submission={folder}"] if submission else []
    )
    with tempfile.TemporaryDirectory(prefix="kata-notebook-") as scratch:
        out = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            f"tests/test_{exercise}.py",
            *options,
            f"--track={track}",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            __name__,
            f"{REPORT_OPTION}={out}",
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        try:
            done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return CheckReport(
                exercise,
                shown_path(folder.relative_to(REPO)) if folder.is_relative_to(REPO) else str(folder),
                problem=f"the tests were still running after {timeout} s, and were stopped: an infinite loop?",
            )
        shown = str(folder.relative_to(REPO)) if folder.is_relative_to(REPO) else str(folder)
        if not out.is_file():
            printed = (done.stdout + done.stderr).strip().splitlines()[-25:]
            return CheckReport(
                exercise, shown, problem=f"pytest exited {done.returncode}:\n" + "\n".join(printed)
            )
        data = json.loads(out.read_text())
    tests = [Test(**test) for test in data["tests"]]
    return CheckReport(exercise, shown, tests, data["next_step"])


# ---- the plugin half: loaded in the pytest process by check() ---------------------------------

_state = SimpleNamespace(path=None, tests={})  # the reporter's, in the pytest process


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        REPORT_OPTION, metavar="PATH", help="(kata notebook) write the run's reports as JSON to PATH"
    )


def pytest_configure(config: pytest.Config) -> None:
    _state.path = config.getoption(REPORT_OPTION)
    _state.tests = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _state.path is None:
        return
    name = report.nodeid.split("::", 1)[-1]
    if report.failed or (report.skipped and name not in _state.tests) or report.when == "call":
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            message = reason.removeprefix("Skipped: ")
        else:
            message = str(report.longrepr) if report.failed else ""
        previous = _state.tests.get(name)
        if previous is None or previous["outcome"] != "failed":
            _state.tests[name] = {"name": name, "outcome": report.outcome, "message": message}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if _state.path is None:
        return
    from kata.feedback.pytest_plugin import next_step

    data = {"tests": list(_state.tests.values()), "next_step": next_step(config, terminalreporter.stats)}
    Path(_state.path).write_text(json.dumps(data))


# ---- grade(): the grader's table ------------------------------------------------------------


@dataclass
class GradeReport:
    report: "Report"  # the grader's

    def __str__(self):
        from kata.grader import report

        return report.table(self.report) + "\n\n" + report.next_step(self.report)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        from kata.grader import report

        rows = []
        for group in self.report.groups:
            number = str(COURSE.index(group.group) + 1) if group.group in COURSE else "-"
            passed = sum(result.passed for result in group.results)
            possible = sum(result.check.points for result in group.results)
            colour = COLOURS["passed"] if group.status == "done" else COLOURS["todo"]
            if group.status not in ("done", "not started", "not graded"):
                colour = COLOURS["failed"]
            rows.append(
                f"<tr><td>{number}</td><td>{_e(group.group)}</td><td>{passed}/{len(group.results)}</td>"
                f"<td>{group.score:g} / {possible:g}</td><td style='color:{colour}'><b>{_e(group.status)}</b></td></tr>"
            )
        total = f"{self.report.score:g} / {self.report.max_score:g}"
        return (
            "<div style='font-family:sans-serif'>"
            f"<h3 style='margin:6px 0'>{_e(report.table(self.report).splitlines()[0])}</h3>"
            "<table><thead><tr><th>#</th><th>exercise</th><th>checks</th><th>points</th><th>status</th></tr></thead>"
            f"<tbody>{''.join(rows)}<tr><td></td><td><b>total</b></td><td></td><td><b>{total}</b></td><td></td></tr>"
            "</tbody></table>"
            f"<div style='color:#57606a;font-size:90%'>{_e(self.report.isolation)}</div>"
            f"{_pre(report.next_step(self.report))}</div>"
        )


def grade(
    only: str | list[str] | None = None, submission: str | Path | None = None, track: str | None = None
) -> GradeReport:
    """Grade the implementation as `python grader.py` does (every exercise, or those in `only`)."""
    from kata.grader.grading import grade as run_grader

    submission, track = target(submission, track)
    only = [only] if isinstance(only, str) else only
    return GradeReport(run_grader(folder_of(submission, track), only=only, track=track))


# ---- attention(): the offline attention page, inline ---------------------------------------------


@dataclass
class Shown:
    """HTML for a notebook, text elsewhere."""

    html: str
    text: str

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        return self.html


def _cannot(what, reason):
    return Shown(
        f"<div style='border-left:6px solid {COLOURS['todo']};padding:4px 12px;font-family:sans-serif'>"
        f"<b>{_e(what)}</b>{_pre(reason)}</div>",
        f"{what}\n{reason}",
    )


def attention(
    sentence: str,
    pair: str | None = None,
    pad: int = 0,
    submission: str | Path | None = None,
    track: str | None = None,
    height: int = 720,
) -> Shown:
    """The kata's offline attention page (kata view's attention.html) for the implementation's
    whole encoder and BertModel on the text, shown inline; then bertviz's head view of the
    encoder's attention when bertviz is installed (its scripts come from the network)."""
    from kata.views.attention_page import page
    from kata.views.attention_view import CannotShow, choose, run_both

    submission, track = target(submission, track)
    if track != "torch":
        return _cannot("The attention view", "it runs on the PyTorch track (kata view does the same)")
    folder = folder_of(submission, track)
    name = "the reference encoder" if submission == "solutions" else f"the encoder in {shown_path(folder)}"
    args = argparse.Namespace(sentence=sentence, pair=pair, pad=pad, layer=None, head=None)
    try:
        seen = run_both(folder, name, args)
        layer, head = choose(args, seen)[:2]
    except CannotShow as reason:
        return _cannot("The attention view cannot be drawn yet", str(reason))
    text = f'"{sentence}"' + (f' + "{pair}"' if pair else "") + (f" + {pad} [PAD]" if pad else "")
    sources = [
        (name, "attention", seen.encoder),
        ("Hugging Face's BertModel", "attention", seen.bertmodel),
        (f"{name} minus BertModel", "difference", seen.difference),
    ]
    from kata.core.compare import WHOLE_MODEL

    document = page(
        seen.tokens,
        sources,
        title=f"Attention: {name}",
        subtitle=text,
        layer=layer,
        head=head,
        tolerance=WHOLE_MODEL,
    )
    frame = (
        f"<iframe srcdoc=\"{html.escape(document, quote=True)}\" style='width:100%;height:{height}px;border:0' "
        "sandbox='allow-scripts'></iframe>"
    )
    extra = ""
    try:
        from bertviz import head_view  # optional
    except ImportError:
        extra = "<div style='color:#57606a;font-size:90%'>(pip install bertviz to see its head view here too.)</div>"
    else:
        from kata.views.attention_view import encoder_attention

        attentions, tokens = encoder_attention(sentence, pair, folder)
        shown = head_view(list(attentions), tokens, html_action="return")
        extra = "<h4>bertviz's head view of the same attention</h4>" + getattr(shown, "data", str(shown))
    return Shown(frame + extra, f"attention page of {name} on {text} (layer {layer}, head {head})")


# ---- search(): what the finished encoder can do ---------------------------------------------


def search(
    *queries: str,
    corpus: str | Path | None = None,
    top: int = 5,
    submission: str | Path | None = None,
    track: str | None = None,
) -> Shown:
    """`kata search` in the notebook: the corpus's best lines for each query, by the implementation's
    SentenceEncoder, with sentence-transformers' scores beside them when it is installed."""
    from kata.core import sentences
    from kata.views import search as searching

    submission, track = target(submission, track)
    folder = folder_of(submission, track)
    try:
        result = searching.search(
            queries,
            corpus or sentences.CORPUS,
            top,
            solutions=submission == "solutions",
            submission=None if submission in (None, "solutions") else folder,
            track=track,
        )
    except searching.CannotSearch as reason:
        return _cannot("The search cannot run yet", str(reason))
    parts = [f"<div style='font-family:sans-serif'><p>{_e(searching.report(result).splitlines()[0])}</p>"]
    for ranking in result.rankings:
        head = "<th>#</th><th>yours</th>" + (
            "<th>s-t</th><th>s-t #</th>" if result.sentence_transformers else ""
        )
        rows = "".join(
            f"<tr><td>{rank}</td><td>{match.score:.3f}</td>"
            + (f"<td>{match.theirs:.3f}</td><td>{match.their_rank}</td>" if match.theirs is not None else "")
            + f"<td style='text-align:left'>{_e(match.text)}</td></tr>"
            for rank, match in enumerate(ranking.matches, 1)
        )
        parts.append(
            f"<h4 style='margin:10px 0 4px'>{_e(ranking.query)}</h4>"
            f"<table><thead><tr>{head}<th style='text-align:left'>line</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<div style='color:#57606a;font-size:90%'>{_e(ranking.agreement())}</div>"
        )
    if result.sentence_transformers:
        parts.append(
            "<p style='color:#57606a;font-size:90%'>s-t: sentence-transformers' own encode of the same model.</p>"
        )
    parts.append("</div>")
    return Shown("".join(parts), searching.report(result))
