"""The sandbox's building blocks, each tested directly in this process, in milliseconds.

maintainer_tests/test_grader.py proves the grader's guarantees end to end, with hostile
submissions in real children; these tests pin down the pieces those guarantees rest on:
reading a child's records (kata/grader/grading.py), judging a group from them, finding and
copying what a child is given, and the child's audit hook and error descriptions
(kata/grader/sandbox/child.py), on synthetic inputs.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kata import COURSE, REPO, SOLUTIONS
from kata.core.loading import ExerciseImportError
from kata.grader import grading
from kata.grader.launch import ChildOutcome, kill_leftovers
from kata.grader.sandbox import child

pytestmark = pytest.mark.maintainer  # checks the kata's own grader, not the learner's code


# ---- parse_records: the child's pipe, which the submission may write to as well ----------


def records_of(*lines):
    return grading.parse_records("".join(line + "\n" for line in lines).encode())


def test_records_are_keyed_by_check_or_event():
    records = records_of('{"check": "attention/shapes", "outputs": {}}', '{"event": "done"}')
    assert set(records) == {"attention/shapes", "done"}
    assert records["attention/shapes"] == {"check": "attention/shapes", "outputs": {}}


def test_lines_that_are_not_json_are_ignored():
    records = records_of("not json", '{"check": "a/b"', "", '{"event": "done"}', "}{")
    assert set(records) == {"done"}


def test_json_that_is_not_an_object_or_has_no_string_key_is_ignored():
    records = records_of(
        "[1, 2]", '"text"', "42", "null", '{"check": 5}', '{"event": ["done"]}', '{"outputs": {}}'
    )
    assert records == {}


def test_the_first_record_of_a_check_wins():
    # A submission that prints a forged passing record after the child's own cannot replace it.
    records = records_of(
        '{"check": "a/b", "error": {"type": "ValueError"}}', '{"check": "a/b", "outputs": {}}'
    )
    assert records["a/b"] == {"check": "a/b", "error": {"type": "ValueError"}}


def test_deeply_nested_json_is_ignored_not_a_crash():
    records = records_of("[" * 100_000 + "]" * 100_000, '{"check": "' + "x" * 10 + '"}', '{"event": "done"}')
    assert set(records) == {"x" * 10, "done"}


def test_huge_lines_and_numbers_are_read_or_ignored_not_a_crash():
    huge_string = '{"check": "a/b", "message": "' + "x" * 5_000_000 + '"}'
    huge_number = '{"check": "c/d", "n": ' + "9" * 100_000 + "}"  # over Python's digit limit: ValueError
    records = records_of(huge_string, huge_number, '{"event": "done"}')
    assert len(records["a/b"]["message"]) == 5_000_000
    assert "done" in records


def test_bytes_that_are_not_utf8_are_replaced_not_a_crash():
    records = grading.parse_records(b'\xff\xfe{"event": "done"}\n{"check": "a/\xff"}\n')
    assert set(records) == {"a/\ufffd"}  # the first line does not parse once \xff\xfe are replaced


# ---- find_submission ----------------------------------------------------------------------


def test_a_folder_with_attention_py_is_the_submission(tmp_path):
    (tmp_path / "attention.py").write_text("")
    (tmp_path / "deeper").mkdir()
    (tmp_path / "deeper" / "attention.py").write_text("")
    assert grading.find_submission(str(tmp_path)) == tmp_path.resolve()


def test_else_the_shallowest_folder_below_that_has_one(tmp_path):
    for folder in ("a/b/c", "z/y", "m"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "a/b/c/attention.py").write_text("")
    (tmp_path / "z/y/attention.py").write_text("")
    assert grading.find_submission(tmp_path) == (tmp_path / "z/y").resolve()


def test_a_folder_called_numpy_is_the_numpy_tracks(tmp_path):
    (tmp_path / "exercises" / "numpy").mkdir(parents=True)
    (tmp_path / "exercises" / "attention.py").write_text("")
    (tmp_path / "exercises" / "numpy" / "attention.py").write_text("")
    assert grading.find_submission(tmp_path, "torch") == (tmp_path / "exercises").resolve()
    assert grading.find_submission(tmp_path, "numpy") == (tmp_path / "exercises" / "numpy").resolve()


def test_without_attention_py_anywhere_the_folder_itself(tmp_path):
    (tmp_path / "notes").mkdir()
    assert grading.find_submission(tmp_path) == tmp_path.resolve()


# ---- judge_group: a group's verdict from what its child left ----------------------------------


def outcome(**changes):
    ended_well = {
        "records": b"",
        "output": b"",
        "returncode": 0,
        "signal": None,
        "timed_out": False,
        "out_of_memory": False,
        "records_truncated": False,
    }
    return ChildOutcome(**{**ended_well, **changes})


TODO = {"error": {"type": "NotImplementedError", "message": "exercise 1", "where": "attention.py:9 in f"}}


def judged(records, **changes):
    checks = grading.group_checks("attention")
    result = grading.judge_group("attention", checks, records, outcome(**changes), grading.Limits(timeout=7))
    return checks, result


def test_a_child_that_finished_is_judged_record_by_record():
    checks, result = judged({**{c.name: TODO for c in grading.group_checks("attention")}, "done": {}})
    assert result.problem == ""
    assert [r.kind for r in result.results] == ["todo"] * len(checks)
    assert result.results[0].message == "not implemented yet at attention.py:9 in f (exercise 1)"
    assert result.status == "not started"


def test_a_timeout_fails_every_check_without_a_record():
    first = grading.group_checks("attention")[0]
    _, result = judged({first.name: TODO}, timed_out=True, returncode=None)
    assert result.problem == "timed out: still running after 7 s (an infinite loop?)"
    assert result.results[0].kind == "todo"  # its record came before the time was up
    assert {r.kind for r in result.results[1:]} == {"timeout"}
    assert {r.message for r in result.results[1:]} == {result.problem}
    assert result.status == "timed out"


def test_a_signal_is_a_crash_named_for_it():
    _, result = judged({}, signal=int(signal.SIGSEGV), returncode=-int(signal.SIGSEGV))
    assert result.problem == "crashed: the process was killed by a segmentation fault"
    assert {r.kind for r in result.results} == {"crashed"}
    assert result.status == "crashed"
    _, result = judged({}, signal=int(signal.SIGUSR1))
    assert result.problem == f"crashed: the process was killed by signal {int(signal.SIGUSR1)}"


def test_a_kill_from_outside_is_no_fault_of_the_submission():
    _, result = judged({}, signal=int(signal.SIGKILL))
    assert {r.kind for r in result.results} == {"disturbed"}
    assert "killed from outside (SIGKILL), not by your code; regrade" in result.problem
    assert result.status == "disturbed: regrade"


def test_running_out_of_memory_names_the_budget():
    _, result = judged({}, out_of_memory=True, signal=int(signal.SIGKILL))
    budget = grading.Limits().total_memory_bytes / grading.GiB
    assert (
        result.problem
        == f"crashed: ran out of memory (over its budget of {budget:g} GiB for all its processes)"
    )
    assert {r.kind for r in result.results} == {"crashed"}


def test_no_done_record_means_the_child_exited_early():
    checks = grading.group_checks("attention")
    _, result = judged({checks[0].name: TODO}, returncode=3)
    assert result.problem == (
        "crashed: the process exited (code 3) before reporting; did the submission call os._exit()?"
    )
    assert result.results[0].kind == "todo"
    assert {(r.kind, r.message) for r in result.results[1:]} == {("crashed", result.problem)}


def test_records_cut_off_are_a_crash():
    _, result = judged({"done": {}}, records_truncated=True)
    assert (
        result.problem == "crashed: it wrote more than the grader reads of its records; the rest was ignored"
    )


def test_an_import_error_fails_every_check_with_its_own_words_and_is_no_crash_of_the_child():
    error = {"type": "SyntaxError", "message": "invalid syntax", "where": "attention.py:3"}
    _, result = judged({"import_error": {"event": "import_error", "error": error}}, returncode=0)
    assert result.problem == ""
    assert {r.kind for r in result.results} == {"crashed"}
    assert {r.message for r in result.results} == {
        "attention.py could not be imported (attention.py:3): SyntaxError: invalid syntax"
    }


def test_an_unreadable_import_error_is_still_reported():
    _, result = judged({"import_error": {"event": "import_error", "error": ["not", "a", "dict"]}})
    assert result.results[0].message == (
        "attention.py could not be imported: an unreadable error: ['not', 'a', 'dict']"
    )


# ---- error_result: what a check's reported error earns --------------------------------------

CAPSTONE = grading.group_checks("capstone")[0]  # not an exercise: nothing to diagnose, so no catalogue run


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (
            {"type": "NotImplementedError", "message": "exercise 1", "where": "a.py:4 in f"},
            "todo",
            "not implemented yet at a.py:4 in f (exercise 1)",
        ),  # fmt: skip
        (
            {"type": "SystemExit", "message": "the submission called sys.exit(1)"},
            "crashed",
            "the submission called sys.exit(1)",
        ),  # fmt: skip
        (
            {"type": "RuntimeError", "message": "ran out of memory (x)", "where": "a.py:2"},
            "crashed",
            "ran out of memory (x) at a.py:2",
        ),  # fmt: skip
        (
            {"type": "ValueError", "message": "boom", "where": "a.py:2 in g"},
            "wrong",
            "raised ValueError at a.py:2 in g: boom",
        ),  # fmt: skip
        ("not a dict", "wrong", "raised None: None"),
    ],
)
def test_error_result(error, kind, message):
    result = grading.error_result(CAPSTONE, error)
    assert (result.passed, result.kind, result.message, result.score) == (False, kind, message, 0)


# ---- what a child is given, and what is left of it ------------------------------------------


def files_below(folder):
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def test_copy_child_support_copies_exactly_child_support(tmp_path):
    grading.copy_child_support(tmp_path)
    expected = set()
    for part in grading.CHILD_SUPPORT:
        source = REPO / "kata" / part
        if source.is_dir():
            expected |= {f"{part}/{name}" for name in files_below(source) if "__pycache__" not in name}
        else:
            expected.add(part)
    copied = files_below(tmp_path)
    assert copied == expected
    assert not [name for name in copied if "__pycache__" in name or name.endswith(".pyc")]
    assert {name.split("/")[0] for name in copied} == {"__init__.py", "core", "course", "grader"}
    assert {name for name in copied if name.startswith("grader/")} == {
        "grader/__init__.py",
        *(
            f"grader/sandbox/{name}"
            for name in files_below(REPO / "kata/grader/sandbox")
            if "__pycache__" not in name
        ),
    }


def make_job(tmp_path, group, **paths):
    submission = tmp_path / "learner"
    submission.mkdir()
    for name in COURSE:
        (submission / f"{name}.py").write_text(f"# {name}, the learner's\n")
    job_folder = tmp_path / "root" / "kata-group" / "job"
    job_folder.mkdir(parents=True)
    module = "encoder" if group == "capstone" else group
    needed = COURSE if group == "capstone" else (module,)
    limits = grading.Limits(memory_bytes=123, file_bytes=456)
    grading.make_sandbox(job_folder, submission, group, module, needed, limits, ["x/y"], "torch", **paths)
    return submission, job_folder, json.loads((job_folder / "job.json").read_text())


def test_make_sandbox_gives_the_module_the_reference_before_it_and_the_job(tmp_path):
    submission, job_folder, job = make_job(tmp_path, "feed_forward")
    before = COURSE[: COURSE.index("feed_forward")]
    assert files_below(job_folder / "submission") == {"feed_forward.py"}
    assert (job_folder / "submission" / "feed_forward.py").read_text() == "# feed_forward, the learner's\n"
    assert files_below(job_folder / "reference") == {f"{name}.py" for name in before}
    for name in before:
        assert (job_folder / "reference" / f"{name}.py").read_bytes() == (
            SOLUTIONS / f"{name}.py"
        ).read_bytes()
    assert (job_folder / "support" / "kata" / "grader" / "sandbox" / "child.py").is_file()
    assert job == {
        "job": str(job_folder),
        "sandbox": str(job_folder),
        "support": str(job_folder / "support"),
        "submission": str(job_folder / "submission"),
        "reference": str(job_folder / "reference"),
        "module": "feed_forward",
        "whole_stack": False,
        "track": "torch",
        "checks": ["x/y"],
        "hidden_seed": None,  # practice grading: no hidden checks
        "forbidden": [str(REPO), str(submission), str(tmp_path / "root")],
        "memory_bytes": 123,
        "file_bytes": 456,
    }
    assert all(os.stat(path).st_mode & 0o777 in (0o755, 0o644) for path in job_folder.rglob("*"))


def test_make_sandbox_for_the_capstone_is_all_the_learners(tmp_path):
    _, job_folder, job = make_job(tmp_path, "capstone", seen_at=Path("/job"), writable=Path("/tmp"))
    assert files_below(job_folder / "submission") == {f"{name}.py" for name in COURSE}
    assert files_below(job_folder / "reference") == set()
    assert (job["module"], job["whole_stack"]) == ("encoder", True)
    assert (job["job"], job["sandbox"], job["submission"]) == ("/job", "/tmp", "/job/submission")


def test_kill_leftovers_with_nothing_left_returns_at_once(tmp_path):
    start = time.monotonic()
    kill_leftovers(tmp_path)
    assert time.monotonic() - start < 1


def test_kill_leftovers_kills_a_process_that_names_the_folder(tmp_path):
    code = "import time; time.sleep(60)"
    leftover = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "x")])
    cmdline = Path(f"/proc/{leftover.pid}/cmdline")
    deadline = time.monotonic() + 10
    while str(tmp_path).encode() not in cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)  # until the child has exec'd: before, its command line is pytest's
    try:
        kill_leftovers(tmp_path)
        assert leftover.wait(timeout=10) == -signal.SIGKILL
    finally:
        leftover.kill()
        leftover.wait()


# ---- the child's audit hook, called directly with synthetic events ------------------------


@pytest.fixture
def hook(tmp_path):
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "repo" / "solutions").mkdir(parents=True)
    return child.guard(tmp_path / "sandbox", [tmp_path / "repo"])


def refused(hook, event, *args):
    with pytest.raises(PermissionError) as raised:
        hook(event, args)
    return str(raised.value)


def test_writing_outside_the_sandbox_is_refused(hook, tmp_path):
    outside = str(tmp_path / "elsewhere.txt")
    assert refused(hook, "open", outside, "w", 0) == f"the grader does not let a submission write {outside}"
    assert "write" in refused(hook, "open", outside, None, os.O_WRONLY | os.O_CREAT)  # os.open
    assert "write" in refused(hook, "open", outside.encode(), "a", 0)
    assert "change" in refused(hook, "os.remove", outside, -1)
    assert "change" in refused(hook, "os.rename", str(tmp_path / "sandbox" / "a"), outside, -1, -1)


def test_writing_inside_the_sandbox_is_allowed(hook, tmp_path):
    inside = str(tmp_path / "sandbox" / "notes.txt")
    hook("open", (inside, "w", 0))
    hook("open", (inside, None, os.O_RDWR | os.O_CREAT))
    hook("os.remove", (inside, None))
    hook("os.mkdir", (str(tmp_path / "sandbox" / "folder"), 0o777, -1))
    hook("open", (os.devnull, "w", 0))


def test_reading_a_forbidden_folder_is_refused(hook, tmp_path):
    solution = str(tmp_path / "repo" / "solutions" / "attention.py")
    assert refused(hook, "open", solution, "r", 0) == f"the grader does not let a submission read {solution}"
    assert "read" in refused(hook, "open", str(tmp_path / "repo"), "r", 0)


def test_opening_a_folder_outside_the_sandbox_is_refused(hook, tmp_path):
    # os.open(folder), then dir_fd=: a path relative to it could not be checked.
    assert refused(hook, "open", str(tmp_path), None, os.O_RDONLY) == (
        f"the grader does not let a submission open the folder {tmp_path.resolve()}"
    )
    hook("open", (str(tmp_path / "sandbox"), None, os.O_RDONLY))


def test_reading_elsewhere_is_left_to_landlock_and_the_namespaces(hook):
    hook("open", (sys.executable, "rb", 0))


def test_other_processes_are_out_of_sight_and_reach(hook):
    other = os.getppid()
    message = "the grader does not let a submission look into other processes"
    assert refused(hook, "open", f"/proc/{other}/environ", "r", 0) == message
    assert refused(hook, "open", "/proc/1/cmdline", "rb", 0) == message
    hook("open", ("/proc/self/status", "r", 0))  # its own: /proc/<own pid>
    hook("open", (f"/proc/{os.getpid()}/status", "r", 0))
    assert refused(hook, "os.kill", other, signal.SIGTERM) == (
        "the grader does not allow signalling other processes"
    )
    hook("os.kill", (os.getpid(), 0))


def test_a_dir_fd_cannot_be_checked_so_it_is_refused(hook, tmp_path):
    inside = str(tmp_path / "sandbox" / "a")
    assert (
        refused(hook, "os.remove", inside, 3)
        == "the grader does not allow os.remove with dir_fd in a submission"
    )


@pytest.mark.parametrize("event", sorted(child.FORBIDDEN_EVENTS))
def test_forbidden_events_are_refused(hook, event):
    assert refused(hook, event, "anything") == f"the grader does not allow {event} in a submission"


def test_other_events_pass(hook):
    hook("import", ("json", None, [], [], []))
    hook("object.__getattr__", (object(), "x"))


# ---- describe: a submission's error as plain strings ---------------------------------------


def raised_from(submission, source, call="f()"):
    path = submission / "attention.py"
    path.write_text(source)
    namespace = {}
    exec(compile(source, str(path), "exec"), namespace)
    try:
        eval(call, namespace)
    except BaseException as error:  # noqa: BLE001
        return error
    raise AssertionError("nothing raised")


def test_describe_names_the_submissions_line_and_function(tmp_path):
    error = raised_from(tmp_path, "def f():\n    g()\n\ndef g():\n    raise ValueError('boom')\n")
    assert child.describe(error, tmp_path) == {
        "type": "ValueError",
        "message": "boom",
        "where": "attention.py:5 in g",
    }


def test_describe_an_error_raised_outside_the_submission_has_no_where(tmp_path):
    assert child.describe(ValueError("x"), tmp_path) == {"type": "ValueError", "message": "x", "where": ""}


def test_describe_sys_exit(tmp_path):
    error = raised_from(tmp_path, "import sys\n\ndef f():\n    sys.exit(3)\n")
    assert child.describe(error, tmp_path) == {
        "type": "SystemExit",
        "message": "the submission called sys.exit(3)",
        "where": "attention.py:4 in f",
    }


def test_describe_memory_errors(tmp_path):
    assert child.describe(MemoryError(), tmp_path)["message"] == "ran out of memory (MemoryError)"
    torch_says = RuntimeError(
        "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"
    )
    assert child.describe(torch_says, tmp_path)["message"] == f"ran out of memory ({torch_says})"


def test_describe_a_syntax_error_gives_its_file_and_line(tmp_path):
    path = tmp_path / "attention.py"
    try:
        compile("x = 1\ny = (\n", str(path), "exec")
    except SyntaxError as error:
        described = child.describe(ExerciseImportError(path, error), tmp_path)  # unwrapped
    assert described == {"type": "SyntaxError", "message": "'(' was never closed", "where": "attention.py:2"}


def test_describe_keeps_500_characters_of_a_message(tmp_path):
    assert child.describe(ValueError("x" * 10_000), tmp_path)["message"] == "x" * 500
