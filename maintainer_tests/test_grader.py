"""The grader's guarantees (docs/contract.md, "What the grader guarantees"), proved on hostile submissions.

Each folder in maintainer_tests/adversarial/ is a submission that attacks the grader: it loops, exits,
crashes, floods the output, lies, forges results, copies the reference or tries to kill the
grader. Its expected.json says what the grader must give it. These tests run the real
grader.py as a separate process, the way an instructor does, so they take a few minutes
and run only when asked for:

    pytest --solutions -m grader
"""

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from kata import COURSE, EXERCISES, REPO, SOLUTIONS, course
from kata.core.checking import HIDDEN_SUFFIX
from kata.grader.isolation import available

pytestmark = pytest.mark.grader

ADVERSARIAL = Path(__file__).parent / "adversarial"
ALL_FIXTURES = sorted(path.name for path in ADVERSARIAL.iterdir() if (path / "expected.json").is_file())
WALLS = available()
# A fixture that "needs" a protection is graded only where the machine gives it (the fallback
# machine still runs every other fixture, and the grader says what it lacks).
FIXTURES = [
    name
    for name in ALL_FIXTURES
    if json.loads((ADVERSARIAL / name / "expected.json").read_text()).get("needs") != "namespaces"
    or WALLS.namespaces
]
SECRET = "KATA_ADVERSARY_SECRET"  # in the grader's environment: no child may ever see it
ADVERSARY_PORT = 47317  # beyond_python phones home here
BASES = {"solutions": SOLUTIONS, "exercises": EXERCISES}
TIMEOUT = 40  # seconds per exercise in the class run: the infinite loop costs this much
PATIENCE = 900  # seconds before a grader run is declared hung
CHECK_NAMES = [check.name for check in course.checks()]
# A row of the grader's table: "   5  positional      0/4       0 / 15  timed out"
TABLE_ROW = re.compile(r"^\s+(?:\d+|-)\s+(\w+)\s+\d+/\d+\s+\S+ / \S+\s+(\S.*?)\s*$", re.MULTILINE)


def expected(name):
    return json.loads((ADVERSARIAL / name / "expected.json").read_text())


def edited(name, base):
    """{file: text} of the fixture's edits.json: each a list of {find, replace} made, in order, on the
    base's file (each find must occur once), so that a fixture that changes a line or two of the
    reference does not carry a copy of it."""
    path = ADVERSARIAL / name / "edits.json"
    texts = {}
    for file, edits in (json.loads(path.read_text()) if path.is_file() else {}).items():
        text = (base / file).read_text()
        for edit in edits:
            assert text.count(edit["find"]) == 1, (
                f"{name}/edits.json: {edit['find']!r} should occur once in {file}"
            )
            text = text.replace(edit["find"], edit["replace"])
        texts[file] = text
    return texts


def build(name, folder):
    """The submission `name`: its base's six modules, its edits.json made on them, then the
    fixture's own files over them."""
    folder.mkdir(parents=True)
    base = BASES[expected(name)["base"]]
    for module in COURSE:
        shutil.copyfile(base / f"{module}.py", folder / f"{module}.py")
    for file, text in edited(name, base).items():
        (folder / file).write_text(text)
    for file in (ADVERSARIAL / name).iterdir():
        if file.is_file() and file.name not in ("expected.json", "edits.json", "README.md"):
            shutil.copyfile(file, folder / file.name)
    for file, target in expected(name).get("links", {}).items():  # {file: target in the repository}
        (folder / file).unlink(missing_ok=True)
        (folder / file).symlink_to(REPO / target)
    return folder


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    pid: int = 0

    def __str__(self):
        return f"exit code {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


def run(command, cwd, env=None, timeout=PATIENCE):
    """Run a command in a session of its own: a submission that got as far as killing its
    process group would take the grader with it, not pytest."""
    process = subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{command} still running after {timeout} s:\n{stdout.decode()[-3000:]}")
    return Run(
        process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"), process.pid
    )


def grader(*args, cwd, env=None):
    return run([sys.executable, REPO / "grader.py", *args], cwd, env)


def processes_naming(folder):
    """The processes whose command line names `folder`."""
    marker = os.fsencode(os.path.join(folder, ""))
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def statuses(data):
    """{group: status} from the table at the top of results.json's output."""
    return dict(TABLE_ROW.findall(data["output"]))


def summary(out):
    with open(out / "summary.csv", newline="") as file:
        return {row["learner"]: row for row in csv.DictReader(file)}


AUTOGRADER_FAILED = "autograder failed, tell your instructor"  # the visible entry of a failed run


def contract_problems(data, hidden=False):
    """What breaks the results.json contract (docs/contract.md): every check listed (with `hidden`, the
    Gradescope zip's hidden twins too), each with its visibility, max scores add to 100, scores add to
    the total, results.json under 1 MB. A failed run may add its visible failure entry."""
    names = [test["name"].split(":")[0] for test in data["tests"] if test["name"] != AUTOGRADER_FAILED]
    known = CHECK_NAMES + ([name + HIDDEN_SUFFIX for name in CHECK_NAMES] if hidden else [])
    problems = [f"check {name} missing from the tests" for name in known if name not in names]
    if sorted(names) != sorted(known):
        problems.append(f"tests are not exactly the known checks: {names}")
    problems += [
        f"{test['name']}: visibility {test.get('visibility')!r}, expected {expected_visibility!r}"
        for test in data["tests"]
        for expected_visibility in [
            "after_due_date" if test["name"].split(":")[0].endswith(HIDDEN_SUFFIX) else "visible"
        ]
        if test.get("visibility") != expected_visibility
    ]
    total, most = (
        sum(test["score"] for test in data["tests"]),
        sum(test["max_score"] for test in data["tests"]),
    )
    if abs(most - 100) > 1e-9:
        problems.append(f"max_scores add to {most}, not 100")
    if abs(total - data["score"]) > 1e-9:
        problems.append(f"scores add to {total}, not {data['score']}")
    problems += [
        f"{test['name']}: status {test['status']!r}"
        for test in data["tests"]
        if test["status"] not in ("passed", "failed")
    ]
    size = len(json.dumps(data))
    if size > 1_000_000:
        problems.append(f"results.json is {size} bytes, over 1 MB")
    return problems


def landlock_abi():
    """The Linux Landlock ABI of this machine, 0 if none. The grader's child (kata/grader/sandbox/child.py) needs
    it to hold native code to the sandbox (ABI 6, Linux 6.12, to keep it from signalling the grader)."""
    if not sys.platform.startswith("linux"):
        return 0
    import ctypes

    syscall = ctypes.CDLL(None).syscall
    syscall.restype = ctypes.c_long
    return max(0, syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


def explain(name, problems, data):
    """The failure message: which fixture, what was expected and got, and each check's output."""
    spec = expected(name)
    lines = [f"adversarial fixture {name!r} ({spec['why']}):", *(f"  {problem}" for problem in problems)]
    lines.append(
        f"  (this machine's Landlock ABI: {landlock_abi()}; kata/grader/sandbox/child.py uses it when it is 1 or more)"
    )
    lines += ["", "the grader's report:", data["output"], "", "each check:"]
    for test in data["tests"]:
        lines.append(f"  {test['status']:<6} {test['score']:g}/{test['max_score']:g}  {test['name']}")
        if test["status"] != "passed":
            lines += [f"         {line}" for line in test["output"].splitlines()[:12]]
    return "\n".join(lines)


# ---- every fixture, graded in one class run ----------------------------------------------


@dataclass
class ClassRun:
    run: Run
    out: Path
    results: dict  # fixture -> its results.json data, or None when it was not written
    leftovers: list  # processes of the grader's still running after it exited
    phoned_home: bytes  # what reached the loopback listener (nothing may)


@pytest.fixture(scope="module")
def class_run(tmp_path_factory):
    """Every fixture in one class folder, graded by one `grader.py --class` run (several at a time).
    The capstone (no points; the learner's whole stack on pretrained BERT) is left out: it would
    add a third to the run's time, and the single runs below grade it."""
    root = tmp_path_factory.mktemp("class")
    for name in FIXTURES:
        build(name, root / "learners" / name)
    out = root / "out"
    graded_groups = [group for group in course.GROUPS if course.points(group) > 0]  # not the capstone
    exercises = [arg for group in graded_groups for arg in ("--only", group)]
    temporary = root / "tmp"  # the grader's sandboxes go here, so that what it leaves running is seen
    temporary.mkdir()
    learners = root / "learners"
    command = ("--class", learners, "--out", out, "--timeout", TIMEOUT, *exercises)
    with Listener(ADVERSARY_PORT) as listener:
        graded = grader(*command, cwd=root, env={"TMPDIR": str(temporary), SECRET: "the-grader-s-token"})
    time.sleep(1)  # "no process survives the grader by more than a second"
    leftovers = sorted(set(processes_naming(temporary)) | set(cgroup_processes(graded.pid)))
    for pid in leftovers:  # ours to end: started by this run
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    results = {}
    for name in FIXTURES:
        try:
            results[name] = json.loads((out / f"{name}.json").read_text())
        except (OSError, ValueError):
            results[name] = None
    return ClassRun(graded, out, results, leftovers, listener.received)


@pytest.mark.parametrize("name", FIXTURES)
def test_adversarial_submission_gets_exactly_its_score(class_run, name):
    spec = expected(name)
    data = class_run.results[name]
    assert data is not None, f"{name}: the class run wrote no {name}.json\n{class_run.run}"
    problems = []
    if data["score"] != spec["score"]:
        problems.append(f"score: expected {spec['score']}, got {data['score']}")
    got = statuses(data)
    problems += [
        f"{group}: expected status {status!r}, got {got.get(group)!r}"
        for group, status in spec["statuses"].items()
        if got.get(group) != status
    ]
    problems += contract_problems(data)
    row = summary(class_run.out).get(name)
    if row is None or float(row["score"]) != data["score"]:
        problems.append(f"summary.csv: expected a row with score {data['score']:g}, got {row}")
    assert not problems, explain(name, problems, data)


def test_the_grader_survives_every_fixture(class_run):
    graded = class_run.run
    assert graded.returncode in (0, 1), f"the grader did not finish normally:\n{graded}"
    missing = [name for name, data in class_run.results.items() if data is None]
    assert not missing, f"no results for {missing}:\n{graded}"
    assert sorted(summary(class_run.out)) == FIXTURES, (
        f"summary.csv:\n{(class_run.out / 'summary.csv').read_text()}"
    )
    assert f"Wrote {len(FIXTURES)} results" in graded.stdout, str(graded)
    said = {data["extra_data"]["isolation"] for data in class_run.results.values()}
    assert said == {WALLS.summary()}, f"results.json should name the isolation in force: {said}"
    assert ("missing:" in WALLS.summary()) == (not WALLS.complete), WALLS.summary()
    assert not class_run.leftovers, (
        f"processes of the grader's still running after it exited: {class_run.leftovers}"
    )


def test_nothing_leaves_the_sandbox(class_run):
    assert class_run.phoned_home == b"", (
        f"a child reached a loopback listener: {class_run.phoned_home[:300]!r}"
    )
    for name, data in class_run.results.items():
        text = json.dumps(data)
        assert "the-grader-s-token" not in text, f"{name}: the grader's environment reached results.json"
        assert "\\u001b" not in text and "\x1b" not in text, f"{name}: a terminal escape reached results.json"
    assert "\x1b" not in class_run.run.stdout + class_run.run.stderr, (
        "a terminal escape reached the grader's output"
    )
    assert "the-grader-s-token" not in class_run.run.stdout + class_run.run.stderr


class Listener:
    """A loopback TCP listener in a thread: records whatever reaches it (bounded, it stops by itself)."""

    def __init__(self, port):
        self.port, self.received, self.server = port, b"", None

    def __enter__(self):
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.server.bind(("127.0.0.1", self.port))
        except OSError:  # the port is taken: the fixture's attempt then reaches nothing of ours either
            self.server.close()
            self.server = None
            return self
        self.server.listen(4)
        self.server.settimeout(0.5)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.stop = threading.Event()
        self.thread.start()
        return self

    def _accept(self):
        while not self.stop.is_set() and len(self.received) < 65536:
            try:
                connection, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.received += connection.recv(65536) or b"(connected)"
                except OSError:
                    self.received += b"(connected)"

    def __exit__(self, *exc):
        if self.server is not None:
            self.stop.set()
            self.thread.join(timeout=5)
            self.server.close()


def cgroup_processes(grader_pid):
    """Processes still in the cgroups a grader run of `grader_pid` made (kata/grader/isolation.py)."""
    found = []
    for controller in ("pids", "memory", ""):
        for folder in (Path("/sys/fs/cgroup") / controller).glob(f"kata-grader-{grader_pid}-*"):
            try:
                found += [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                continue
    return found


def test_the_fixtures_conftest_is_never_loaded_here(request):
    """maintainer_tests/adversarial/conftest/conftest.py passes every test: this suite must never load it."""
    plugins = [
        getattr(plugin, "__file__", None) or "" for plugin in request.config.pluginmanager.get_plugins()
    ]
    assert not [path for path in plugins if str(ADVERSARIAL) in path]


# ---- single submissions, exit codes, resuming --------------------------------------------


def test_solutions_earn_every_point(tmp_path):
    graded = grader("--solutions", "--json", tmp_path / "results.json", cwd=tmp_path)
    assert graded.returncode == 0, str(graded)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["score"] == 100, explain("reference", [f"score {data['score']}"], data)
    assert all(test["status"] == "passed" for test in data["tests"]), explain(
        "reference", ["a check failed"], data
    )
    assert not contract_problems(data)


def test_progress_is_shown_in_course_order(tmp_path):
    """Children finish in any order; their progress lines still come in the course's order."""
    chosen = ["layer_norm", "attention", "encoder", "feed_forward"]
    graded = grader("--solutions", *(f"--only={name}" for name in chosen), cwd=tmp_path)
    shown = re.findall(r"^  graded (\w+)", graded.stderr, re.MULTILINE)
    assert shown == [name for name in course.GROUPS if name in chosen], str(graded)


def test_every_graded_exercise_done_says_so_and_calls_the_rest_optional(tmp_path):
    folder = tmp_path / "learner"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("numpy", "__pycache__"))
    shutil.copy(EXERCISES / "embeddings.py", folder)  # exercise 7, worth no points, untouched
    graded = grader("--submission", folder, cwd=tmp_path)
    assert graded.returncode == 0, str(graded)  # every point earned
    assert "Done: every graded exercise passes, 100 / 100. Optional next: exercise 7, " in graded.stdout, str(
        graded
    )
    assert "(0 points), is not started." in graded.stdout, str(graded)


def test_pristine_stubs_earn_nothing(tmp_path):
    graded = grader("--json", tmp_path / "results.json", cwd=tmp_path)  # exercises/, as a learner runs it
    assert graded.returncode == 1, str(graded)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["score"] == 0, explain("stubs", [f"score {data['score']}"], data)
    assert all(test["status"] == "failed" for test in data["tests"]), explain(
        "stubs", ["a check passed"], data
    )
    assert not contract_problems(data)


def test_class_mode_resumes_where_it_stopped(tmp_path):
    for name in ("reference", "stubs"):
        build(name, tmp_path / "learners" / name)
    out = tmp_path / "out"
    command = ("--class", tmp_path / "learners", "--out", out, "--only", "attention")
    first = grader(*command, cwd=tmp_path)
    assert first.returncode == 1 and "0 already graded, 2 to grade" in first.stdout, str(first)
    kept = (out / "reference.json").read_bytes()
    (out / "stubs.json").unlink()
    second = grader(*command, cwd=tmp_path)
    assert second.returncode == 1 and "1 already graded, 1 to grade" in second.stdout, str(second)
    assert "stubs" in second.stdout and "reference " not in second.stdout, str(second)
    assert (out / "reference.json").read_bytes() == kept
    rows = summary(out)
    assert {name: row["score"] for name, row in rows.items()} == {"reference": "15", "stubs": "0"}, rows


@pytest.mark.parametrize(
    "args",
    [("--only", "nosuch"), ("--submission", "/does/not/exist"), ("--class", "learners")],
    ids=["unknown-exercise", "missing-folder", "class-without-out"],
)
def test_usage_errors_exit_2(tmp_path, args):
    (tmp_path / "learners").mkdir()
    graded = grader(*args, cwd=tmp_path)
    assert graded.returncode == 2 and "usage:" in graded.stderr, str(graded)


def test_results_json_is_written_when_the_grader_itself_fails(tmp_path, monkeypatch, capsys):
    import grader as script  # grader.py, in this process: its grading made to fail from inside
    from kata.grader import command

    def broken(*args, **kwargs):
        raise RuntimeError("a failure inside the grader")

    monkeypatch.setattr(command, "grade", broken)
    path = tmp_path / "results.json"
    assert script.main(["--solutions", "--json", str(path)]) == 2
    data = json.loads(path.read_text())
    assert data["score"] == 0 and "a failure inside the grader" in data["output"], data
    assert all(test["status"] == "failed" for test in data["tests"])
    assert data["tests"][0]["name"] == AUTOGRADER_FAILED, "a failed run must say so visibly, first"
    assert not contract_problems(data)
    assert "this is not your fault" in capsys.readouterr().err


# ---- Gradescope ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """The autograder zip, unpacked as Gradescope does into <root>/source."""
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    made = grader("--gradescope-zip", root.parent / "autograder.zip", cwd=root.parent)
    assert made.returncode == 0, str(made)
    with zipfile.ZipFile(root.parent / "autograder.zip") as archive:
        archive.extractall(root / "source")
    return root


def autograde(root, base):
    """Upload `base`'s modules (in a nested folder, as a zip of a clone would be) and run run_autograder."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    upload = root / "submission" / "kata-main" / "exercises"
    upload.mkdir(parents=True)
    for module in COURSE:
        shutil.copyfile(base / f"{module}.py", upload / f"{module}.py")
    env = {"AUTOGRADER_ROOT": str(root), "KATA_PYTHON": sys.executable}
    graded = run(["bash", root / "source" / "run_autograder"], cwd=root, env=env)
    assert graded.returncode == 0, str(graded)
    return json.loads((root / "results" / "results.json").read_text())


def test_gradescope_gives_the_reference_100_with_every_hidden_check_passing(autograder):
    data = autograde(autograder, SOLUTIONS)
    assert data["score"] == 100, explain("reference", [f"score {data['score']}"], data)
    assert not contract_problems(data, hidden=True), contract_problems(data, hidden=True)
    failing = [test["name"] for test in data["tests"] if test["status"] != "passed"]
    assert not failing, f"the reference fails checks of the zip (hidden ones included): {failing}"
    assert "hidden checks (50 points)" in data["output"], (
        f"the top-level output should say that hidden checks were graded:\n{data['output']}"
    )


def test_gradescope_gives_the_stubs_0(autograder):
    data = autograde(autograder, EXERCISES)
    assert data["score"] == 0, explain("stubs", [f"score {data['score']}"], data)
    assert not contract_problems(data, hidden=True), contract_problems(data, hidden=True)


def test_gradescope_hidden_checks_catch_a_hard_coded_layer_norm(autograder, tmp_path):
    """hard_coded_layer_norm looks the answers up for the public inputs: the public half of layer norm's
    points, none of the hidden half; and the top-level output (seen at once) does not tell."""
    data = autograde(autograder, build("hard_coded_layer_norm", tmp_path / "hard_coded"))
    layer_norm = {
        test["name"].split(":")[0]: test for test in data["tests"] if test["name"].startswith("layer_norm/")
    }
    public = {name: test for name, test in layer_norm.items() if not name.endswith(HIDDEN_SUFFIX)}
    hidden = {name: test for name, test in layer_norm.items() if name.endswith(HIDDEN_SUFFIX)}
    problems = [
        f"{name}: {test['score']} of {test['max_score']}, expected full points"
        for name, test in public.items()
        if test["score"] != test["max_score"]
    ]
    problems += [
        f"{name}: {test['score']} of {test['max_score']}, expected 0"
        for name, test in hidden.items()
        if test["score"] != 0
    ]
    if len(hidden) != len(public) or not hidden:
        problems.append(f"expected a hidden twin of each public layer-norm check, got {sorted(layer_norm)}")
    if data["score"] != 95:
        problems.append(f"score {data['score']}, expected 95 (100 less layer norm's hidden 5)")
    table = statuses(data)
    if table.get("layer_norm") != "done":
        problems.append(
            f"the top-level table should show only the public checks (layer_norm done), got {table.get('layer_norm')!r}"
        )
    assert not problems, explain("hard_coded_layer_norm", problems, data)
