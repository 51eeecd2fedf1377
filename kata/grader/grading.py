"""The grader's own process: sandboxes, child processes, verdicts, scores and reports.

For each group of checks (an exercise, or the capstone) a fresh child interpreter runs
the submission in a sandbox folder (kata/grader/sandbox/child.py) and writes raw outputs; this
process, which never imports submission code, computes the reference outputs itself
and judges. A group whose child hangs, exits, crashes or runs out of memory loses its
own points and nothing else.
"""

import atexit
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kata import COURSE, REPO, course
from kata.core import shortcuts, wire
from kata.core.checking import Check, reference_outputs
from kata.core.compare import Mismatch
from kata.core.paths import shown_path
from kata.core.recorded import foundation
from kata.core.weights import pretrained_source
from kata.feedback.diagnosis import Reported, diagnose_check, explain, outcome_from_record
from kata.grader import hidden as hidden_checks
from kata.grader import isolation
from kata.grader.bounded import clean, remove_tree
from kata.grader.launch import RESULTS_FD, ChildOutcome, run_child, stop_children
from kata.grader.scale import usable_cores

GiB = 1024**3
CHILDREN = threading.BoundedSemaphore(usable_cores())  # children at once, across all submissions
STOPPING = threading.Event()  # set by stop(): no child starts any more
OUTPUT_SHOWN = 4000  # characters of a child's printed output kept in the report
SIGNALS: dict[int, str] = {
    signal.SIGSEGV: "a segmentation fault",
    signal.SIGKILL: "SIGKILL (out of memory?)",
    signal.SIGABRT: "an abort",
}


class Stopped(Exception):
    """Raised instead of starting a child once stop() was called (Ctrl-C)."""


def limit_children(count: int) -> None:
    """At most `count` children at once from now on, across every grading of this process (--jobs)."""
    global CHILDREN
    CHILDREN = threading.BoundedSemaphore(count)


def stop() -> None:
    """Start no more children and kill those under way (Ctrl-C): their groups are never saved."""
    STOPPING.set()
    stop_children()


@dataclass
class Limits:
    timeout: float = 120.0  # seconds per group, interpreter start-up included
    memory_bytes: int = 6 * GiB  # address space of one child
    file_bytes: int = 64 * 1024**2  # largest file a child may write
    total_memory_bytes: int = 3 * GiB  # every process of one child together (a cgroup, where there is one)


@dataclass
class CheckResult:
    check: Check
    passed: bool
    message: str = ""  # why it failed, in the tests' words
    kind: str = "wrong"  # passed, todo (not implemented), wrong, crashed, timeout, skipped, disturbed

    @property
    def score(self) -> float:
        return self.check.points if self.passed else 0


@dataclass
class GroupResult:
    group: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    output: str = ""  # what the submission printed, capped
    problem: str = ""  # what happened to the whole group, if anything
    isolation: str = ""  # the protections its child ran under (kata/grader/isolation.py)

    @property
    def status(self) -> str:
        kinds = {result.kind for result in self.results}
        if kinds == {"skipped"}:
            return "not graded"
        if "disturbed" in kinds:
            return "disturbed: regrade"
        if "timeout" in kinds:
            return "timed out"
        if "crashed" in kinds:
            return "crashed"
        if all(result.passed for result in self.results):
            return "done"
        if kinds <= {"todo", "skipped"}:
            return "not started"
        return "in progress"

    @property
    def score(self) -> float:
        return sum(result.score for result in self.results)


def group_checks(group: str, track: str = "torch") -> list[Check]:
    return [check for check in course.checks(track) if check.group == group]


def find_submission(folder: str | Path, track: str = "torch") -> Path:
    """The folder holding the modules: `folder` itself, or the shallowest folder below it that
    has an attention.py (a clone's exercises/, or a zip unpacked into a folder of its own).
    For the NumPy track a folder called numpy comes first (a clone's exercises/numpy/)."""
    folder = Path(folder).resolve()
    if (folder / "attention.py").is_file():
        return folder

    def rank(path):
        other_track = (path.parent.name == "numpy") != (track == "numpy")
        return other_track, len(path.parts), str(path)

    found = sorted(folder.rglob("attention.py"), key=rank)
    return found[0].parent if found else folder


# ---- one group in one child ----------------------------------------------------------

_sandboxes = None
_sandboxes_lock = threading.Lock()


def sandbox_root() -> Path:
    """This process's private folder for its sandboxes. A child may use its own sandbox in it,
    never read the others (the reference modules are copied into several of them)."""
    global _sandboxes
    with _sandboxes_lock:
        if _sandboxes is None:
            _sandboxes = tempfile.mkdtemp(prefix="kata-grader-")
            atexit.register(remove_tree, Path(_sandboxes))
    return Path(_sandboxes)


def run_group(
    submission: Path, group: str, limits: Limits, selected: bool = True, track: str = "torch"
) -> "GroupResult | Callable[[], GroupResult]":
    """Run one group of checks of one submission in a fresh child process.

    Returns a GroupResult when the group is settled without a child (not selected, no
    weights, missing file), else a function that judges the child's records; call it
    in the grader's main thread, once the reference outputs are ready.
    """
    group_checks_ = hidden_checks.graded_checks(group_checks(group, track), submission)  # a zip's hidden too
    if not selected:
        return GroupResult(
            group,
            [CheckResult(c, False, "not graded in this run (--only)", "skipped") for c in group_checks_],
        )
    weights = pretrained_source()
    if weights is None and any(check.needs_weights for check in group_checks_):
        from kata.core.weights import INSTALL_HINT

        return GroupResult(group, [CheckResult(c, False, INSTALL_HINT, "skipped") for c in group_checks_])
    module = "encoder" if group == "capstone" else group
    # The capstone is the learner's whole encoder stack: every module up to encoder.py.
    needed = COURSE[: COURSE.index("encoder") + 1] if group == "capstone" else (module,)
    missing = [name for name in needed if not (submission / f"{name}.py").is_file()]
    if missing:
        message = f"no {', '.join(name + '.py' for name in missing)} in {submission}"
        return GroupResult(group, [CheckResult(c, False, message, "todo") for c in group_checks_])
    links = [name for name in needed if not (submission / f"{name}.py").resolve().is_relative_to(submission)]
    if links:  # a link to the reference, say: the grader would copy the file it points to
        message = f"{', '.join(name + '.py' for name in links)} in {submission} links to a file outside it"
        return GroupResult(group, [CheckResult(c, False, message, "wrong") for c in group_checks_])

    start = time.monotonic()
    files = shortcuts.watched(submission, group, track)
    uses = shortcuts.scan_files(files)  # the submission's text (never run here): its shortcuts
    walls = isolation.available()
    temporary = tempfile.mkdtemp(prefix=f"kata-{group}-", dir=sandbox_root())
    try:
        # job/ holds what the child reads. Under bubblewrap it is seen read-only at /job and the
        # child writes to a tmpfs at /tmp; without, it is the child's folder, to read and write.
        job_folder = Path(temporary) / "job"
        job_folder.mkdir()
        seen_at = Path("/job") if walls.namespaces else job_folder
        writable = Path("/tmp") if walls.namespaces else job_folder
        check_names = [c.name for c in group_checks_]
        seed = hidden_checks.seed_of(group_checks_)  # the child's hidden inputs' seed: never the secret
        make_sandbox(
            job_folder, submission, group, module, needed, limits, check_names, track, seen_at, writable, seed
        )
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(writable),
            "TMPDIR": str(writable),
            "LANG": "C.UTF-8",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_VERBOSITY": "error",
            "OMP_NUM_THREADS": "1",  # several children share the cores
            "MKL_NUM_THREADS": "1",
        }
        if weights is not None:
            env["KATA_BERT"] = weights
        child_script = seen_at / "support" / "kata" / "grader" / "sandbox" / "child.py"
        with CHILDREN:
            if STOPPING.is_set():
                raise Stopped("the grading was stopped")
            outcome = run_child(
                [sys.executable, "-I", "-B", str(child_script), str(seen_at / "job.json"), RESULTS_FD],
                isolation=walls,
                job_folder=job_folder,
                scratch=job_folder,
                env=env,
                timeout=limits.timeout,
                hidden=[str(REPO), str(submission)],
                memory_bytes=limits.total_memory_bytes,
            )
        output = clean(outcome.output.decode("utf-8", "replace"), OUTPUT_SHOWN)
        records = parse_records(outcome.records)
        known = {shortcut for group_shortcuts in files.values() for shortcut in group_shortcuts}
        uses += shortcuts.from_records(outcome.records, known, files)  # and those its child saw it take
    finally:
        remove_tree(Path(temporary))
    seconds = time.monotonic() - start

    def judge() -> GroupResult:
        result = judge_group(group, group_checks_, records, outcome, limits, track, walls)
        result.seconds, result.output = seconds, output
        no_shortcuts(result, uses, submission)
        return result

    return judge


# What a child is given of the support package: the course's probes and what they use, and
# sandbox/, the only grader code that runs in a child. Never feedback, views or maintainer tools.
CHILD_SUPPORT = ("__init__.py", "core", "course", "grader/__init__.py", "grader/sandbox")


def copy_child_support(target: Path) -> None:
    """Copy CHILD_SUPPORT of the kata package into `target` (a sandbox's support/kata)."""
    ignore = shutil.ignore_patterns("__pycache__")
    for part in CHILD_SUPPORT:
        source, destination = REPO / "kata" / part, target / part
        if source.is_dir():
            shutil.copytree(source, destination, ignore=ignore)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


def make_sandbox(
    sandbox: Path,
    submission: Path,
    group: str,
    module: str,
    needed: Sequence[str],
    limits: Limits,
    check_names: list[str],
    track: str = "torch",
    seen_at: Path | None = None,
    writable: Path | None = None,
    hidden_seed: int | None = None,
) -> None:
    """Fill the job folder `sandbox`: support code, the submission's module(s), the reference modules
    before it (from the submission's track), and job.json with the paths as the child sees them
    (`seen_at` for this folder, `writable` for its scratch space; both default to `sandbox`)."""
    seen_at, writable = Path(seen_at or sandbox), Path(writable or sandbox)
    copy_child_support(sandbox / "support" / "kata")
    (sandbox / "submission").mkdir()
    (sandbox / "reference").mkdir()
    for name in needed:
        shutil.copyfile(submission / f"{name}.py", sandbox / "submission" / f"{name}.py")
    for name in [] if group == "capstone" else COURSE[: COURSE.index(module)]:  # the capstone is all theirs
        earlier = foundation(track) / f"{name}.py"  # solutions/, or a handout's foundation (no encoder:
        earlier = earlier if earlier.is_file() else submission / f"{name}.py"  # exercise 7 runs on theirs)
        shutil.copyfile(earlier, sandbox / "reference" / f"{name}.py")
    job = {
        "job": str(seen_at),
        "sandbox": str(writable),
        "support": str(seen_at / "support"),
        "submission": str(seen_at / "submission"),
        "reference": str(seen_at / "reference"),
        "module": module,
        "whole_stack": group == "capstone",
        "track": track,
        "checks": check_names,
        "hidden_seed": hidden_seed,  # the seed of this submission's hidden checks' inputs (kata/grader/hidden.py)
        "forbidden": [str(REPO), str(submission), str(sandbox.parent.parent)],
        "memory_bytes": limits.memory_bytes,
        "file_bytes": limits.file_bytes,
    }
    (sandbox / "job.json").write_text(json.dumps(job))
    for folder, _, files in os.walk(sandbox):  # readable by the child, which may run as nobody
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


def parse_records(data: bytes) -> dict[str, dict[str, Any]]:
    """The child's records from its pipe's bytes, the first one per check; a line that does not
    parse (the submission may write to the pipe too) is ignored."""
    records: dict[str, dict[str, Any]] = {}  # JSON the submission may have written: anything
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            key = record.get("check") or record.get("event")
            if isinstance(key, str):
                records.setdefault(key, record)
    return records


# Signals that end a child from outside: its own code cannot send itself SIGKILL under the
# seccomp filter, and has no reason to send the others. Not its crash: the group is regraded.
FROM_OUTSIDE = {signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
DISTURBED = "the grader was disturbed: its process was killed from outside ({}), not by your code; regrade"


def how_it_ended(
    outcome: ChildOutcome, records: dict[str, dict[str, Any]], limits: Limits
) -> tuple[str, str]:
    """(kind, sentence) for a child that did not finish normally, or ("", "") when it did."""
    if outcome.timed_out:
        return "timeout", f"timed out: still running after {limits.timeout:g} s (an infinite loop?)"
    if outcome.out_of_memory:
        budget = limits.total_memory_bytes / GiB
        return (
            "crashed",
            f"crashed: ran out of memory (over its budget of {budget:g} GiB for all its processes)",
        )
    if outcome.signal in FROM_OUTSIDE:
        return "disturbed", DISTURBED.format(signal.Signals(outcome.signal).name)
    if outcome.signal is not None:
        name = SIGNALS.get(outcome.signal, f"signal {outcome.signal}")
        return "crashed", f"crashed: the process was killed by {name}"
    if outcome.records_truncated:
        return "crashed", "crashed: it wrote more than the grader reads of its records; the rest was ignored"
    if "done" not in records:
        code = outcome.returncode
        return (
            "crashed",
            f"crashed: the process exited (code {code}) before reporting; did the submission call os._exit()?",
        )
    return "", ""


def judge_group(
    group: str,
    group_checks_: Sequence[Check],
    records: dict[str, dict[str, Any]],
    outcome: ChildOutcome,
    limits: Limits,
    track: str = "torch",
    walls: isolation.Isolation | None = None,
) -> GroupResult:
    result = GroupResult(group, isolation=walls.summary() if walls else "")
    kind_ended, ended = how_it_ended(outcome, records, limits)
    import_error = records.get("import_error", {}).get("error")
    if import_error is not None and not isinstance(import_error, dict):
        import_error = {"type": "an unreadable error", "message": str(import_error)[:500]}
    if import_error and kind_ended == "crashed" and outcome.signal is None and not outcome.out_of_memory:
        kind_ended, ended = "", ""  # the child stops after reporting an import error: no crash of its own
    result.problem = ended
    # The learner's outcome on every check of the group: what tells an exact diagnosis from a "looks like".
    learner = {
        check.name: (check, outcome_from_record(records[check.name]))
        for check in group_checks_
        if check.name in records
    }
    for check in group_checks_:
        record = records.get(check.name)
        if kind_ended == "disturbed":
            result.results.append(CheckResult(check, False, ended, "disturbed"))
        elif import_error:
            kind = "crashed"  # the module cannot even be imported: nothing of it runs
            result.results.append(CheckResult(check, False, describe_import_error(import_error, group), kind))
        elif record is None:
            kind = kind_ended if kind_ended in ("timeout", "crashed") else "crashed"
            result.results.append(CheckResult(check, False, ended or "no result reported", kind))
        elif "error" in record:
            result.results.append(error_result(check, record["error"], track, learner))
        else:
            result.results.append(score_outputs(check, record.get("outputs"), track, learner))
    return result


def no_shortcuts(result: GroupResult, uses: Sequence[shortcuts.Use], submission: Path) -> None:
    """A group whose modules take a shortcut (kata/core/shortcuts.py) scores 0: each check that passed,
    or failed on its own, says so instead (a crash, a time-out or a disturbance keeps its words)."""
    if not uses:
        return
    module = "encoder" if result.group == "capstone" else result.group
    text = shortcuts.message(uses, module, shown_path(submission))
    for index, checked in enumerate(result.results):
        if checked.kind in ("passed", "wrong", "todo"):
            result.results[index] = CheckResult(checked.check, False, text, "wrong")


def describe_import_error(error: dict[str, Any], group: str) -> str:
    where = f" ({error.get('where')})" if error.get("where") else ""
    module = "encoder" if group == "capstone" else group
    return f"{module}.py could not be imported{where}: {error.get('type')}: {error.get('message')}"


def error_result(
    check: Check, error: object, track: str = "torch", learner: dict | None = None
) -> CheckResult:
    error = error if isinstance(error, dict) else {}
    kind_of_error, message = str(error.get("type")), str(error.get("message"))
    where = f" at {error['where']}" if error.get("where") else ""
    if kind_of_error == "NotImplementedError":
        return CheckResult(check, False, f"not implemented yet{where} ({message})", "todo")
    if kind_of_error == "SystemExit" or message.startswith("ran out of memory"):
        return CheckResult(check, False, f"{message}{where}", "crashed")
    diagnosis = explain(diagnose_check(check, Reported(kind_of_error, message), track, learner))
    return CheckResult(check, False, f"raised {kind_of_error}{where}: {message}{diagnosis}", "wrong")


def score_outputs(
    check: Check, encoded: Any, track: str = "torch", learner: dict | None = None
) -> CheckResult:
    """Judge a child's encoded outputs (untrusted JSON: anything) against the reference's."""
    expected = reference_outputs(check)  # outside the try: the reference failing is the grader's failure
    try:
        actual = {key: wire.decode(value) for key, value in dict(encoded).items()}
        check.compare(actual, expected)
    except Mismatch as mismatch:
        diagnosis = explain(diagnose_check(check, mismatch, track, learner))
        message = str(mismatch)
        if diagnosis:  # specific: the generic "Where to look" would only distract from it
            message = "\n".join(line for line in message.splitlines() if "Where to look:" not in line)
        return CheckResult(check, False, message + diagnosis, "wrong")
    except Exception as error:  # noqa: BLE001  (the records are untrusted data: any nonsense is wrong)
        return CheckResult(check, False, f"unreadable output ({type(error).__name__}: {error})", "wrong")
    return CheckResult(check, True, "", "passed")


# ---- a whole submission ----------------------------------------------------------------


@dataclass
class Report:
    submission: Path
    groups: list[GroupResult]
    seconds: float
    track: str = "torch"  # "torch" or "numpy": the track the submission is written in
    isolation: str = ""  # the protections the children ran under (kata/grader/isolation.py)
    submission_sha256: str = ""  # of the graded modules' names and bytes, to tell submissions apart

    @property
    def score(self) -> float:
        return sum(group.score for group in self.groups)

    @property
    def max_score(self) -> float:
        return sum(result.check.points for group in self.groups for result in group.results)


def grade(
    submission: str | Path,
    only: Collection[str] | None = None,
    limits: Limits | None = None,
    progress: Callable[[GroupResult], object] | None = None,
    track: str = "torch",
) -> Report:
    """Grade every group of `submission` (all of them appear; only `only` are run), in parallel children.

    A NumPy-track submission runs the same checks against the same (PyTorch) reference,
    seen through kata/core/as_torch.py in its child."""
    start = time.monotonic()
    limits = limits or Limits()
    submission = find_submission(submission, track)
    selected = [group for group in course.GROUPS if not only or group in only]
    pool = ThreadPoolExecutor(max_workers=len(course.GROUPS))  # CHILDREN limits the real work
    try:
        futures = {
            group: pool.submit(run_group, submission, group, limits, group in selected, track)
            for group in course.GROUPS
        }
        for check in course.checks(track):  # the reference, meanwhile, in this process
            if check.group in selected and (pretrained_source() or not check.needs_weights):
                reference_outputs(check)
        judged: dict[str, GroupResult] = {}
        waiting = list(selected)  # shown in course order: each as soon as the ones before it are judged
        for future in as_completed(futures.values()):  # judged as each child finishes
            outcome = future.result()
            result = outcome if isinstance(outcome, GroupResult) else outcome()
            if result.status == "disturbed: regrade":  # not the learner's doing: once more, at once
                regraded = run_group(submission, result.group, limits, True, track)
                result = regraded if isinstance(regraded, GroupResult) else regraded()
            judged[result.group] = result
            while waiting and waiting[0] in judged:
                shown = judged[waiting.pop(0)]
                if progress:
                    progress(shown)
    except KeyboardInterrupt:  # Ctrl-C: stop at once, children included (they are in sessions of their own)
        pool.shutdown(wait=False, cancel_futures=True)
        stop()
        raise
    pool.shutdown()
    groups = [judged[group] for group in course.GROUPS]
    walls = isolation.available().summary()
    return Report(submission, groups, time.monotonic() - start, track, walls, submission_digest(submission))


def submission_digest(submission: str | Path) -> str:
    """SHA-256 of the course's module files in `submission`: their names and bytes, in course order."""
    digest = hashlib.sha256()
    for name in COURSE:
        path = Path(submission) / f"{name}.py"
        digest.update(f"{name}.py\0".encode())
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()
