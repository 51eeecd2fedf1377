"""Start one child, within the walls of kata/grader/isolation.py, and bring back what it said.

The child writes its records (one JSON line each) to a pipe, and what the submission
prints to another; both are read here as they come, each up to a fixed number of bytes
(more is read and dropped, so the child never blocks and nothing unbounded is kept).
Once the child exits or its time is up, everything it started is killed: its cgroup as a
whole and, with bubblewrap, its PID namespace; without either, its process group and
every process whose command line names its scratch folder.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kata.grader.isolation import ChildCgroup, Isolation, bwrap_command, seccomp_program_fd

RECORDS_BYTES = 64 * 1024**2  # the records of one child; the pretrained check's take about 3 MB
OUTPUT_BYTES = 16 * 1024  # what the submission printed: only the start is ever shown
RESULTS_FD = "{results_fd}"  # in the child's command line: the number of its end of the records pipe


@dataclass
class ChildOutcome:
    records: bytes  # the child's record lines, at most RECORDS_BYTES
    output: bytes  # the start of what it printed, at most OUTPUT_BYTES
    returncode: int | None
    signal: int | None  # the signal that ended it, if one did
    timed_out: bool
    out_of_memory: bool  # the kernel killed it for going over its cgroup's memory
    records_truncated: bool


_running: set[subprocess.Popen] = set()  # the children under way, so that Ctrl-C can stop them
_running_lock = threading.Lock()
_cgroups: set[ChildCgroup] = set()


def stop_children() -> None:
    """Kill every child under way (each with whatever it started)."""
    with _running_lock:
        children, cgroups = list(_running), list(_cgroups)
    for cgroup in cgroups:
        cgroup.kill()
    for child in children:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _drain(pipes: dict[int, int], kept: dict[int, bytearray], stop: threading.Event) -> None:
    """Read every pipe until it closes (or `stop`), keeping at most pipes[fd] bytes of each."""
    selector = selectors.DefaultSelector()
    for descriptor in pipes:
        os.set_blocking(descriptor, False)
        selector.register(descriptor, selectors.EVENT_READ)
    open_pipes = set(pipes)
    while open_pipes and not stop.is_set():
        for key, _ in selector.select(timeout=0.1):
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                selector.unregister(key.fd)
                open_pipes.discard(key.fd)
                continue
            room = pipes[key.fd] - len(kept[key.fd])
            if room > 0:
                kept[key.fd] += chunk[:room]
    selector.close()


def run_child(
    inner: Sequence[str],
    *,
    isolation: Isolation,
    job_folder: Path,
    scratch: Path,
    env: dict[str, str],
    timeout: float,
    hidden: Sequence[str],
    memory_bytes: int,
) -> ChildOutcome:
    """Run `inner` (the child's command line, with its paths as the child sees them, and
    RESULTS_FD where the records pipe's number goes)."""
    records_read, records_write = os.pipe()
    output_read, output_write = os.pipe()
    cgroup = ChildCgroup(isolation.cgroup, memory_bytes=memory_bytes) if isolation.cgroup else None
    seccomp_fd = seccomp_program_fd() if isolation.seccomp else None
    try:
        inner = [part.replace(RESULTS_FD, str(records_write)) for part in inner]
        if isolation.namespaces:
            command = bwrap_command(isolation, job_folder, inner, env, seccomp_fd, hidden)
        else:
            command = list(inner)
        if cgroup is not None:
            command = cgroup.enrolling(command)
        child = subprocess.Popen(
            command,
            cwd=scratch,
            env=env if not isolation.namespaces else {"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            stdout=output_write,
            stderr=output_write,
            pass_fds=tuple(fd for fd in (records_write, seccomp_fd) if fd is not None),
            start_new_session=True,  # its own process group, killed as one
        )
    finally:
        os.close(records_write)
        os.close(output_write)
        if seccomp_fd is not None:
            os.close(seccomp_fd)
    kept = {records_read: bytearray(), output_read: bytearray()}
    stop = threading.Event()
    reader = threading.Thread(
        target=_drain,
        args=({records_read: RECORDS_BYTES + 1, output_read: OUTPUT_BYTES}, kept, stop),
        daemon=True,
    )
    reader.start()
    with _running_lock:
        _running.add(child)
        if cgroup is not None:
            _cgroups.add(cgroup)
    timed_out = False
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        with _running_lock:
            _running.discard(child)
            if cgroup is not None:
                _cgroups.discard(cgroup)
        if cgroup is not None:
            cgroup.kill()
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        child.wait()
        if not isolation.namespaces:
            kill_leftovers(scratch)
        reader.join(timeout=5)  # a process outside every wall could still hold a pipe open
        stop.set()
        reader.join()
        out_of_memory = cgroup.out_of_memory() if cgroup is not None else False
        if cgroup is not None:
            cgroup.remove()
        os.close(records_read)
        os.close(output_read)
    returncode = child.returncode
    ended_by = None
    if returncode is not None and returncode < 0:
        ended_by = -returncode
    elif isolation.namespaces and returncode is not None and returncode > 128:
        ended_by = returncode - 128  # bubblewrap exits 128 + the signal that ended its child
    records = bytes(kept[records_read])
    return ChildOutcome(
        records=records[:RECORDS_BYTES],
        output=bytes(kept[output_read]),
        returncode=returncode,
        signal=ended_by,
        timed_out=timed_out,
        out_of_memory=out_of_memory,
        records_truncated=len(records) > RECORDS_BYTES,
    )


def kill_leftovers(folder: Path) -> None:
    """Without namespaces or cgroups: kill what a child left behind outside its process group
    (a fork in a session of its own), every process whose command line names `folder`.
    Linux only (it reads /proc); a process that rewrote its command line escapes this, which
    is why the namespaces and cgroups come first."""
    marker = os.fsencode(os.path.join(folder, ""))
    for _ in range(100):  # until none is left, should they keep forking
        found = False
        for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
            try:
                if entry.isdigit() and marker in Path(f"/proc/{entry}/cmdline").read_bytes():
                    os.kill(int(entry), signal.SIGKILL)
                    found = True
            except OSError:  # gone already
                continue
        if not found:
            return
        time.sleep(0.01)
