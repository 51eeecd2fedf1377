"""How much of the machine a grading run uses, and which slice of a class it grades.

    --jobs N      children at once across the whole run (default: the cores this process may use)
    --shard K/N   grade the K-th of N slices of a class, so that N machines share it

The cores a process may use are fewer than the host's whenever a scheduler or a container
says so: its CPU affinity (taskset, Slurm's cpusets, docker --cpuset-cpus) and its cgroup's
CPU quota (docker --cpus, Kubernetes' CPU limit, systemd's CPUQuota), v2's cpu.max or v1's
cpu.cfs_quota_us / cpu.cfs_period_us, at this process's cgroup or any cgroup above it.
os.cpu_count() sees the host's cores, which on a 64-core node given 2 would start 64 children.

Each child may use up to 3 GiB (Limits.total_memory_bytes) but needs far less: measured
(proportional set size) about 0.2 GiB for exercises 1 to 5 and 0.5 GiB for the encoder, the
capstone and exercise 7, beside the grader's own 0.6 GiB; the default is the cores, and the
memory is for the one who sets --jobs higher to check (about 0.5 GiB a job, plus 0.6 GiB).
"""

import argparse
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")

Item = TypeVar("Item")


def affinity_cores() -> int:
    """The cores this process may run on (its CPU affinity), or the host's count where there is none."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS has no affinity
        return os.cpu_count() or 1


def cgroup_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The CPU quota, in cores, of this process's cgroup and every cgroup above it (the smallest
    one), or None where no quota is set or there is no cgroup (not Linux)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if number == "0" and controllers == "":  # v2: one hierarchy, cpu.max = "QUOTA PERIOD" or "max PERIOD"
            for folder in folders_up(root, path):
                quotas.append(read_quota(folder / "cpu.max"))
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's own hierarchy
            for mount in (root / controllers, root / "cpu", root / "cpu,cpuacct"):
                if mount.is_dir():
                    for folder in folders_up(mount, path):
                        quotas.append(read_v1_quota(folder))
                    break
    found = [quota for quota in quotas if quota is not None]
    return min(found) if found else None


def folders_up(mount: Path, path: str) -> list[Path]:
    """The cgroup folder of `path` under `mount`, then each folder above it up to `mount`. In a
    container the path may be the host's while `mount` is already the container's cgroup:
    folders that do not exist are left out, and `mount` itself is always looked at."""
    parts = [part for part in path.strip("/").split("/") if part]
    folders = [mount.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]
    return [folder for folder in folders if folder.is_dir()]


def read_quota(cpu_max: Path) -> float | None:
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def read_v1_quota(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def usable_cores(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """The cores this process may use: its CPU affinity, lowered to its cgroup's CPU quota
    (rounded up: a quota of 1.5 cores keeps two children busy), at least 1."""
    cores = affinity_cores()
    quota = cgroup_quota(root, proc_cgroup)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def jobs_count(text: str) -> int:
    """argparse type of --jobs: a whole number, 1 or more."""
    if not re.fullmatch(r"\s*[+-]?\d+\s*", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of jobs: give a whole number, 1 or more")
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count} jobs: give 1 or more (children at once)")
    return count


def shard(text: str) -> tuple[int, int]:
    """argparse type of --shard K/N: (K, N), 1 <= K <= N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a shard: write K/N, the K-th of N slices, e.g. 1/4 (1 <= K <= N)"
        )
    k, n = int(match.group(1)), int(match.group(2))
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"shard {k}/{n}: K must be between 1 and N (K/N, 1 <= K <= N)")
    return k, n


def shard_of(items: Sequence[Item], k: int, n: int) -> list[Item]:
    """The K-th of N slices of `items` (already sorted): every N-th one, starting at the K-th. The
    N slices are disjoint, together hold every item, and differ in size by one at most."""
    return [item for index, item in enumerate(items) if index % n == k - 1]


def summary_name(k: int, n: int) -> str:
    """The summary a shard writes in its --out: summary-K-of-N.csv (several shards may share a folder)."""
    return f"summary-{k}-of-{n}.csv"
