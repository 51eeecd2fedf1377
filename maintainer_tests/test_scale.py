"""Class grading that scales out: --jobs, --shard K/N, `kata merge`, and Ctrl-C.

The unit tests (a fake cgroup folder, the options' errors, the merge's refusals) take
milliseconds. The two marked `grader` run grader.py on a class, as an instructor does:

    pytest --solutions -m grader maintainer_tests/test_scale.py
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import grader
from kata import EXERCISES, REPO, SOLUTIONS
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_INTERRUPTED, EXIT_OK
from kata.grader import merge, report, scale

PATIENCE = 300  # seconds before a grader run is declared hung


# ---- the cores this process may use ------------------------------------------------------


def fake_cgroup(tmp_path, proc_line, files):
    """A fake /sys/fs/cgroup (files: {relative path: text}) and /proc/self/cgroup (one line)."""
    root = tmp_path / "cgroup"
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    root.mkdir(exist_ok=True)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(proc_line + "\n")
    return root, proc


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr(scale, "affinity_cores", lambda: 4)


def test_jobs_default_is_the_affinity_without_a_quota(tmp_path, four_cores):
    root, proc = fake_cgroup(tmp_path, "0::/user.slice", {"user.slice/cpu.max": "max 100000"})
    assert scale.usable_cores(root, proc) == 4


def test_jobs_default_follows_a_cgroup_v2_quota_rounded_up(tmp_path, four_cores):
    root, proc = fake_cgroup(tmp_path, "0::/job/step", {"job/step/cpu.max": "150000 100000"})
    assert scale.cgroup_quota(root, proc) == 1.5
    assert scale.usable_cores(root, proc) == 2


def test_jobs_default_takes_the_smallest_quota_of_the_cgroups_above(tmp_path, four_cores):
    files = {"job/cpu.max": "100000 100000", "job/step/cpu.max": "300000 100000"}
    root, proc = fake_cgroup(tmp_path, "0::/job/step", files)
    assert scale.usable_cores(root, proc) == 1


def test_jobs_default_reads_the_container_root_when_the_path_is_the_hosts(tmp_path, four_cores):
    # In a container /proc/self/cgroup may name the host's path; the mount is the container's cgroup.
    root, proc = fake_cgroup(tmp_path, "0::/docker/abc123", {"cpu.max": "200000 100000"})
    assert scale.usable_cores(root, proc) == 2


def test_jobs_default_follows_a_cgroup_v1_quota(tmp_path, four_cores):
    files = {"cpu,cpuacct/slurm/cpu.cfs_quota_us": "300000", "cpu,cpuacct/slurm/cpu.cfs_period_us": "100000"}
    root, proc = fake_cgroup(tmp_path, "4:cpu,cpuacct:/slurm", files)
    assert scale.usable_cores(root, proc) == 3


def test_jobs_default_ignores_an_unlimited_v1_quota(tmp_path, four_cores):
    files = {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}
    root, proc = fake_cgroup(tmp_path, "2:cpu:/", files)
    assert scale.cgroup_quota(root, proc) is None and scale.usable_cores(root, proc) == 4


def test_jobs_default_is_never_more_than_the_affinity(tmp_path, four_cores):
    root, proc = fake_cgroup(tmp_path, "0::/", {"cpu.max": "1600000 100000"})
    assert scale.usable_cores(root, proc) == 4


def test_jobs_default_without_cgroups_is_the_affinity(tmp_path, four_cores):
    assert scale.usable_cores(tmp_path / "none", tmp_path / "no-proc-file") == 4


def test_this_process_uses_at_most_its_affinity():
    assert 1 <= scale.usable_cores() <= len(os.sched_getaffinity(0))


# ---- shards ------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 7, 20])
def test_shards_are_disjoint_and_cover_the_class(count):
    learners = [f"learner{index:02}" for index in range(20)]
    shards = [scale.shard_of(learners, k, count) for k in range(1, count + 1)]
    assert sorted(name for shard in shards for name in shard) == learners
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


# ---- the options' errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--jobs", "0"), "0 jobs: give 1 or more"),
        (("--jobs", "two"), "'two' is not a number of jobs"),
        (("--class", "learners", "--out", "out", "--shard", "3/2"), "shard 3/2: K must be between 1 and N"),
        (("--class", "learners", "--out", "out", "--shard", "0/2"), "shard 0/2: K must be between 1 and N"),
        (("--class", "learners", "--out", "out", "--shard", "2"), "'2' is not a shard: write K/N"),
        (("--shard", "1/2"), "--shard K/N goes with --class DIR --out DIR"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_bad_jobs_or_shard_is_a_usage_error(tmp_path, monkeypatch, capsys, arguments, message):
    (tmp_path / "learners").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        grader.main(list(arguments))
    assert exited.value.code == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert "usage:" in err and message in err, err


# ---- kata merge, on summaries written by hand --------------------------------------------


def results(score):
    """results.json data with `score` points in attention."""
    return {"score": score, "tests": [{"name": "attention/x: y", "score": score}]}


def write_shard(folder, k, n, learners):
    """A shard's --out as grade_class writes it: each learner's JSON and summary-K-of-N.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {name: results(score) for name, score in learners.items()}
    for name, value in data.items():
        report.write_json(folder / f"{name}.json", value)
    report.write_atomically(folder / scale.summary_name(k, n), report.class_summary(data))


def test_merge_gives_the_summary_of_one_run(tmp_path):
    learners = {f"l{index}": 5 * index for index in range(7)}
    names = sorted(learners)
    for k in (1, 2, 3):
        write_shard(tmp_path / f"s{k}", k, 3, {name: learners[name] for name in scale.shard_of(names, k, 3)})
    out = tmp_path / "merged"
    assert merge.merge([tmp_path / "s3", tmp_path / "s1", tmp_path / "s2"], out) == (3, 7)
    one_run = report.class_summary({name: results(score) for name, score in learners.items()})
    assert (out / "summary.csv").read_bytes() == one_run.encode()
    assert sorted(path.stem for path in out.glob("*.json")) == names


def test_merge_of_shards_sharing_one_folder(tmp_path):
    write_shard(tmp_path / "shared", 1, 2, {"a": 10})
    write_shard(tmp_path / "shared", 2, 2, {"b": 0})
    assert merge.merge([tmp_path / "shared"], tmp_path / "shared") == (2, 2)
    one_run = report.class_summary({"a": results(10), "b": results(0)})
    assert (tmp_path / "shared" / "summary.csv").read_bytes() == one_run.encode()


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        ([(1, 3, {"a": 1}), (3, 3, {"c": 1})], "shard 2/3 missing: the merge needs all 3"),
        ([(1, 2, {"a": 1}), (1, 3, {"b": 1})], "shards of different splits (2 and 3 slices)"),
        ([(1, 2, {"a": 1}), (2, 2, {"a": 1})], "learner a is in shard 1/2 and in shard 2/2"),
        ([(1, 2, {"a": 1}), (1, 2, {"b": 1}), (2, 2, {"c": 1})], "shard 1/2 is given twice"),
    ],
    ids=["missing", "different-splits", "overlap", "twice"],
)
def test_merge_refuses_shards_that_are_not_one_class(tmp_path, capsys, shards, message):
    folders = []
    for index, (k, n, learners) in enumerate(shards):
        write_shard(tmp_path / f"out{index}", k, n, learners)
        folders.append(tmp_path / f"out{index}")
    out = tmp_path / "merged"
    from argparse import Namespace

    assert merge.run(Namespace(shards=folders, out=out)) == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert err.startswith("kata merge: ") and message in err, err
    assert not (out / "summary.csv").exists()


def test_merge_refuses_a_folder_without_a_shard_summary(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(merge.MergeError, match="holds no shard summary"):
        merge.merge([tmp_path / "empty"], tmp_path / "merged")


# ---- grader.py on a class (slow) ---------------------------------------------------------


def class_of_twenty(folder):
    """20 learner folders: 17 untouched stubs (graded fast: not started) and 3 copies of the reference."""
    for index in range(20):
        source = SOLUTIONS if index % 7 == 3 else EXERCISES
        learner = folder / f"learner{index:02}"
        learner.mkdir(parents=True)
        for module in source.glob("*.py"):
            shutil.copyfile(module, learner / module.name)
    return folder


def grade_class(*arguments, cwd, env=None):
    return subprocess.run(
        [sys.executable, str(REPO / "grader.py"), *map(str, arguments)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=PATIENCE,
    )


@pytest.mark.grader
def test_a_class_graded_in_two_shards_and_merged_is_one_run(tmp_path):
    learners = class_of_twenty(tmp_path / "learners")
    only = ("--only", "attention", "--only", "layer_norm")
    one = grade_class("--class", learners, "--out", tmp_path / "one", *only, cwd=tmp_path)
    assert one.returncode == 1 and "20 learners" in one.stdout, one
    for k in (1, 2):
        shard = grade_class(
            "--class", learners, "--out", tmp_path / f"shard{k}", "--shard", f"{k}/2", *only, cwd=tmp_path
        )
        assert shard.returncode == 1 and f"10 learners in {learners} (shard {k}/2)" in shard.stdout, shard
        assert not (tmp_path / f"shard{k}" / "summary.csv").exists()
    merged = subprocess.run(
        [
            sys.executable,
            "-m",
            "kata",
            "merge",
            tmp_path / "shard1",
            tmp_path / "shard2",
            "--out",
            tmp_path / "merged",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert merged.returncode == EXIT_OK and "Merged 2 shards, 20 learners" in merged.stdout, merged
    assert (tmp_path / "merged" / "summary.csv").read_bytes() == (
        tmp_path / "one" / "summary.csv"
    ).read_bytes()
    single = (tmp_path / "one" / "summary.csv").read_text()
    scores = [line.split(",")[1] for line in single.splitlines()[1:]]
    assert len(scores) == 20 and scores.count("0") == 17, single  # the 3 references earn points


def processes_naming(folder):
    """The processes whose command line names `folder`."""
    marker = os.fsencode(str(folder))
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.grader
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="looks for left-over children in /proc")
def test_ctrl_c_stops_a_class_at_once_and_keeps_what_is_written(tmp_path):
    learners = class_of_twenty(tmp_path / "learners")
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()
    command = [sys.executable, str(REPO / "grader.py"), "--class", str(learners), "--out", str(out)]
    command += ["--only", "attention", "--only", "encoder", "--jobs", "1"]  # slow enough to interrupt
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(scratch)},  # the grader's sandboxes, where the test can see them
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + PATIENCE
        while not list(out.glob("*.json")) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the class was graded before it could be interrupted"
        kept = {path.name: path.read_bytes() for path in out.glob("*.json")}
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
        seconds = time.monotonic() - interrupted
    finally:
        process.kill()
    assert process.returncode == EXIT_INTERRUPTED, (stdout, stderr)
    assert "Traceback" not in stderr, stderr
    assert "Stopped (Ctrl-C)" in stderr and "results kept" in stderr, stderr
    assert seconds < 10, f"took {seconds:.1f} s to stop"
    for name, data in kept.items():
        assert (out / name).read_bytes() == data
    rows = (out / "summary.csv").read_text().splitlines()[1:]
    assert {row.split(",")[0] + ".json" for row in rows} == {path.name for path in out.glob("*.json")}
    assert 1 <= len(rows) < 20, rows
    assert not processes_naming(scratch), "a child outlived the grader"
    left = list(scratch.glob("kata-*"))  # torch keeps its own caches there (torchinductor_*)
    assert not left, f"the grader left its sandboxes {left} behind"
