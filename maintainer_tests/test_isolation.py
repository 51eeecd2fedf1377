"""The grader's walls, piece by piece and fast: each protection of kata/grader/isolation.py and
launch.py on a tiny child, bounded text, robust clean-up, and how an ended child is classified.

The end-to-end proof (hostile submissions through whole grader runs) is test_grader.py; these
run in seconds and say which piece broke.
"""

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kata.grader import grading
from kata.grader.bounded import clean, remove_tree
from kata.grader.isolation import CPU_PERIOD_US, CPU_SHARE, TMP_BYTES, ChildCgroup, Isolation, available
from kata.grader.launch import RESULTS_FD, ChildOutcome, run_child

pytestmark = pytest.mark.maintainer

WALLS = available()
needs_walls = pytest.mark.skipif(
    not (WALLS.namespaces and WALLS.seccomp and WALLS.cgroup), reason=f"needs every wall: {WALLS.summary()}"
)


def run_script(tmp_path, script, timeout=60.0, memory_bytes=3 * 1024**3):
    """Run a Python script as a grader's child would be run, with this machine's walls."""
    job = tmp_path / "job"
    job.mkdir(mode=0o755)
    (job / "script.py").write_text(textwrap.dedent(script))
    os.chmod(job / "script.py", 0o644)
    os.chmod(tmp_path, 0o755)
    seen_at = Path("/job") if WALLS.namespaces else job
    return run_child(
        [sys.executable, "-I", "-B", str(seen_at / "script.py"), RESULTS_FD, "kata-test-marker"],
        isolation=WALLS,
        job_folder=job,
        scratch=job,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp" if WALLS.namespaces else str(job)},
        timeout=timeout,
        hidden=[str(Path(__file__).resolve().parents[1])],
        memory_bytes=memory_bytes,
    )


PROBE = """
import errno, json, os, resource, signal, socket, sys
out = os.fdopen(int(sys.argv[1]), "w", buffering=1)
def tried(name, action):
    try:
        action()
        out.write(json.dumps({name: "allowed"}) + "\\n")
    except OSError as error:
        out.write(json.dumps({name: error.errno}) + "\\n")
"""


def outcomes(outcome):
    found = {}
    for line in outcome.records.decode().splitlines():
        found.update(__import__("json").loads(line))
    return found


@needs_walls
def test_the_child_cannot_reach_other_processes_or_the_network(tmp_path):
    outcome = run_script(
        tmp_path,
        PROBE
        + """
tried("prlimit on pid 1", lambda: resource.prlimit(1, resource.RLIMIT_AS, (1, 1)))
tried("prlimit on itself", lambda: resource.prlimit(0, resource.RLIMIT_NOFILE))
tried("SIGKILL to itself", lambda: os.kill(os.getpid(), signal.SIGKILL))
tried("an internet socket", lambda: socket.socket(socket.AF_INET))
tried("the grader's environment", lambda: open(f"/proc/{os.getppid() or 1}/environ").read())
tried("writing the system", lambda: open("/usr/kata-test", "w"))
tried("the repository", lambda: os.listdir(REPOSITORY))
""".replace("REPOSITORY", repr(str(Path(__file__).resolve().parents[1]))),
    )
    found = outcomes(outcome)
    assert found == {
        "prlimit on pid 1": errno.EPERM,
        "prlimit on itself": "allowed",
        "SIGKILL to itself": errno.EPERM,
        "an internet socket": errno.EAFNOSUPPORT,
        "the grader's environment": errno.EACCES,
        "writing the system": errno.EROFS,
        "the repository": errno.ENOENT,
    }, f"what the child could do: {found}\nit printed: {outcome.output[-500:]!r}"


@needs_walls
def test_the_childs_disk_is_a_bounded_tmpfs(tmp_path):
    outcome = run_script(
        tmp_path,
        PROBE
        + """
def fill():
    with open("/tmp/ballast", "wb") as ballast:
        for _ in range(MEBIBYTES):
            ballast.write(bytes(2**20))
tried("writing past the tmpfs", fill)
""".replace("MEBIBYTES", str(TMP_BYTES // 2**20 + 16)),
    )
    assert outcomes(outcome) == {"writing past the tmpfs": errno.ENOSPC}, outcome


@needs_walls
def test_the_child_has_a_process_budget_and_leaves_no_process_behind(tmp_path):
    outcome = run_script(
        tmp_path,
        PROBE
        + """
import time
started = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            os.setsid()
            time.sleep(600)
            os._exit(0)
        started += 1
    except OSError:
        break
out.write(json.dumps({"forked": started}) + "\\n")
""",
    )
    assert outcomes(outcome)["forked"] < 100, "the cgroup's pids.max should stop the forks"
    marker = b"kata-test-marker"
    survivors = [
        entry.name
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes()
    ]
    assert not survivors, f"processes of the child still alive after run_child returned: {survivors}"


@pytest.mark.skipif(not WALLS.cgroup, reason="no cgroups to create on this machine")
def test_a_childs_cgroup_caps_its_cpu_to_one_core_where_the_controller_is_there():
    cgroup = ChildCgroup(WALLS.cgroup)
    try:
        if WALLS.cgroup == "v2":
            cpu_max = cgroup.folders[0] / "cpu.max"
            if not cpu_max.is_file():
                pytest.skip("the cpu controller is not enabled for this cgroup's children")
            assert cpu_max.read_text().split() == [str(int(CPU_SHARE * CPU_PERIOD_US)), str(CPU_PERIOD_US)]
        else:
            cpu = [folder for folder in cgroup.folders if folder.parent.name == "cpu"]
            if not cpu:
                pytest.skip("no writable v1 cpu controller")
            quota = int((cpu[0] / "cpu.cfs_quota_us").read_text())
            period = int((cpu[0] / "cpu.cfs_period_us").read_text())
            assert (quota, period) == (int(CPU_SHARE * CPU_PERIOD_US), CPU_PERIOD_US)
    finally:
        cgroup.remove()
    assert not any(folder.exists() for folder in cgroup.folders), "the cgroup should be gone"


@needs_walls
def test_going_over_the_memory_budget_is_the_childs_own_crash(tmp_path):
    outcome = run_script(
        tmp_path,
        "import torch\nx = torch.ones(256, 2**20)  # 1 GiB, over the 512 MiB budget\nprint(x.sum())\n",
        memory_bytes=512 * 2**20,
    )
    assert outcome.out_of_memory and outcome.signal == signal.SIGKILL, outcome
    kind, sentence = grading.how_it_ended(outcome, {}, grading.Limits(total_memory_bytes=512 * 2**20))
    assert kind == "crashed" and "ran out of memory" in sentence, sentence


def test_what_the_child_prints_and_reports_is_read_up_to_a_bound(tmp_path):
    outcome = run_script(
        tmp_path,
        "import os, sys\nprint('x' * 10**6)\nos.write(int(sys.argv[1]), b'{}' * 10)\n",
    )
    assert len(outcome.output) <= 16 * 1024 and outcome.output.startswith(b"xxx"), len(outcome.output)
    assert outcome.records == b"{}" * 10 and not outcome.records_truncated


def outcome_of(**fields):
    defaults = dict(
        records=b"", output=b"", returncode=0, signal=None, timed_out=False, out_of_memory=False,
        records_truncated=False,
    )  # fmt: skip
    return ChildOutcome(**{**defaults, **fields})


@pytest.mark.parametrize(
    "fields, kind, says",
    [
        ({"timed_out": True, "signal": signal.SIGKILL}, "timeout", "timed out"),
        ({"signal": signal.SIGKILL, "out_of_memory": True}, "crashed", "ran out of memory"),
        ({"signal": signal.SIGKILL}, "disturbed", "the grader was disturbed"),
        ({"signal": signal.SIGTERM}, "disturbed", "regrade"),
        ({"signal": signal.SIGSEGV}, "crashed", "segmentation fault"),
        ({"records_truncated": True}, "crashed", "more than the grader reads"),
        ({"returncode": 3}, "crashed", "exited (code 3) before reporting"),
    ],
)
def test_how_a_child_ended_decides_whose_fault_it_is(fields, kind, says):
    got_kind, sentence = grading.how_it_ended(outcome_of(**fields), {}, grading.Limits())
    assert (got_kind, says in sentence) == (kind, True), f"{fields}: {got_kind}: {sentence}"


def test_a_disturbed_group_is_reported_as_such_never_as_the_learners_crash():
    from kata import course

    checks = course.group_checks("attention")
    result = grading.judge_group(
        "attention", checks, {}, outcome_of(signal=signal.SIGKILL), grading.Limits(), walls=Isolation()
    )
    assert result.status == "disturbed: regrade", result.status
    assert all(r.kind == "disturbed" and "not by your code" in r.message for r in result.results)


def test_a_disturbed_group_is_regraded_once(monkeypatch, tmp_path):
    from kata import SOLUTIONS, course

    calls = []
    real = grading.run_group

    def flaky(submission, group, limits, selected=True, track="torch"):
        calls.append(group)
        if group == "layer_norm" and calls.count(group) == 1:
            checks = course.group_checks(group)
            return grading.GroupResult(
                group, [grading.CheckResult(c, False, "disturbed", "disturbed") for c in checks]
            )
        return real(submission, group, limits, selected, track)

    monkeypatch.setattr(grading, "run_group", flaky)
    report = grading.grade(SOLUTIONS, only=["layer_norm"])
    layer_norm = next(group for group in report.groups if group.group == "layer_norm")
    assert calls.count("layer_norm") == 2 and layer_norm.status == "done", (calls, layer_norm.status)


def test_text_from_a_submission_is_cleaned_and_bounded():
    text = "\x1b[2J\x1b[Htotal 100 / 100\tok\r\nnext line\x07" + "A" * 5000
    shown = clean(text, 100)
    assert "\x1b" not in shown and "\r" not in shown and "\x07" not in shown
    assert shown.startswith("[2J[Htotal 100 / 100 ok\nnext line")
    assert shown.endswith("more characters not shown)") and len(shown) < 160


def test_a_sandbox_is_removed_whatever_it_holds(tmp_path):
    root = tmp_path / "sandbox"
    deep = str(root)
    for _ in range(1200):  # one folder at a time: os.makedirs itself recurses too deep for this
        os.makedirs(deep, exist_ok=True)
        deep += "/d"
    (root / "locked").mkdir()
    (root / "locked" / "file").write_text("x")
    os.chmod(root / "locked", 0)
    (root / "odd \n name \x01").write_text("x")
    try:
        remove_tree(root)
        assert not root.exists()
    finally:  # never leave pytest's own clean-up a tree too deep for it
        subprocess.run(["rm", "-rf", str(root)], check=False)


def test_records_keep_the_first_per_check_and_skip_garbage():
    data = (
        b'{"check": "a/b", "outputs": 1}\nnot json\n[1, 2]\n{"check": "a/b", "outputs": 2}\n' + b"[" * 100000
    )
    assert grading.parse_records(data) == {"a/b": {"check": "a/b", "outputs": 1}}
