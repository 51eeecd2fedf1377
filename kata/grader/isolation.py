"""The kernel's walls around a grader's child: namespaces, a seccomp filter, cgroups, another user.

The grader never trusts a submission to keep to Python-level rules (the child's audit hook
and Landlock are a second layer, kept where this one is missing). Where the machine has
them, each child runs:

- in bubblewrap (Debian's `bubblewrap`; chosen because it is the small, audited sandbox
  that Flatpak uses): new PID, network, IPC, UTS and mount namespaces, so it sees no
  other process and no network; a root file system of read-only binds of the Python
  installation and the system's folders and nothing of the repository; a writable tmpfs
  of TMP_BYTES as its only disk; killed with the grader (--die-with-parent);
- under a seccomp filter built with libseccomp (through pyseccomp, its ctypes binding,
  chosen because it needs no compiler and follows the official binding's API): no
  ptrace, no reading or writing another process's memory, no sockets but Unix ones, no
  limits, priority or affinity set on another process, no bpf, perf_event_open, mounts,
  new namespaces or keyrings, and no SIGKILL sent by the child itself, so that a SIGKILL
  always comes from outside it (the kernel's out-of-memory killer, or something else);
- in a cgroup of its own (v2, or v1's memory and pids controllers) that caps the memory
  and the processes of all its processes together and is killed as a whole, and, where the
  cpu controller is there too, its CPU time to CPU_SHARE cores;
- as the unprivileged user `nobody` when the grader runs as root (setpriv).

`available()` says which of these the machine gives; the grader reports it in its table
and in results.json.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyseccomp  # it ships no type hints: its names are Any to mypy

MiB = 1024**2
TMP_BYTES = 256 * MiB  # the child's whole disk: a tmpfs, counted in its memory too
MEMORY_BYTES = 3 * 1024 * MiB  # every process of one child together
PROCESSES = 64  # processes and threads of one child together (torch starts a few threads)
CPU_SHARE = 1.0  # cores one child may use at most, however many threads it starts: its siblings keep theirs
CPU_PERIOD_US = 100_000
NOBODY = 65534
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Isolation:
    """The protections in force for the children of this grader."""

    namespaces: bool = False  # bubblewrap: PID, network, IPC, mount namespaces and a tmpfs disk
    seccomp: bool = False  # the system-call filter
    cgroup: str = ""  # "v2", "v1" or "" (none: each process only has its own rlimits)
    unprivileged: bool = False  # the child runs as a user other than the grader's
    missing_why: tuple[str, ...] = field(default=(), compare=False)

    @property
    def complete(self) -> bool:
        return self.namespaces and self.seccomp and bool(self.cgroup)

    def summary(self) -> str:
        """One line for the grader's table and results.json."""
        held = [
            "namespaces (bubblewrap)" if self.namespaces else "",
            "seccomp" if self.seccomp else "",
            f"cgroup {self.cgroup}" if self.cgroup else "",
            "user nobody" if self.unprivileged else "",
        ]
        held = [part for part in held if part] + ["Landlock and audit hook"]
        text = "isolation: " + ", ".join(held)
        if self.missing_why:
            text += "; missing: " + "; ".join(self.missing_why)
        return text


def _bwrap_works() -> str:
    """'' when bubblewrap can make a sandbox here, else why not."""
    if not sys.platform.startswith("linux"):
        return "bubblewrap (Linux only)"
    if shutil.which("bwrap") is None:
        return "bubblewrap (not installed: apt-get install bubblewrap)"
    probe = [
        "bwrap",
        *_user_options(),
        "--unshare-pid",
        "--unshare-net",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "true",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap (could not run: {error})"
    if done.returncode != 0:
        return f"bubblewrap (refused here: {done.stderr.decode(errors='replace').strip()[:200]})"
    return ""


def _seccomp_works() -> str:
    try:
        seccomp_filter()
    except Exception as error:  # noqa: BLE001  (no library, no binding, an old kernel: say which)
        return f"seccomp ({type(error).__name__}: {error})"
    return ""


def _cgroup_version() -> tuple[str, str]:
    """("v2" | "v1" | "", why not) for the cgroups this process can create children in."""
    if not sys.platform.startswith("linux"):
        return "", "cgroups (Linux only)"
    v2 = CGROUP_ROOT / "cgroup.controllers"
    if v2.is_file() and {"memory", "pids"} <= set(v2.read_text().split()):
        return (
            ("v2", "") if os.access(CGROUP_ROOT, os.W_OK) else ("", "cgroups (v2 not delegated to this user)")
        )
    v1 = [CGROUP_ROOT / "memory", CGROUP_ROOT / "pids"]
    if all((path / "cgroup.procs").is_file() for path in v1):
        if all(os.access(path, os.W_OK) for path in v1):
            return "v1", ""
        return "", "cgroups (v1 memory and pids not writable by this user)"
    return "", "cgroups (no memory and pids controllers)"


@functools.cache
def available() -> Isolation:
    """What this machine lets the grader put around its children (probed once per process)."""
    if os.environ.get("KATA_ISOLATION") == "basic":  # to try the fallback on a machine that has more
        return Isolation(
            missing_why=("namespaces, seccomp, cgroups and another user (KATA_ISOLATION=basic)",)
        )
    bwrap = _bwrap_works()
    seccomp = _seccomp_works() if not bwrap else "seccomp (needs bubblewrap to install it)"
    cgroup, cgroup_missing = _cgroup_version()
    missing = [why for why in (bwrap, seccomp, cgroup_missing) if why]
    namespaces = not bwrap
    if not namespaces and os.geteuid() == 0:
        missing.append("an unprivileged user (the child runs as root: it needs bubblewrap's mounts)")
    return Isolation(
        namespaces=namespaces,
        seccomp=namespaces and not seccomp,
        cgroup=cgroup,
        unprivileged=namespaces and os.geteuid() == 0,
        missing_why=tuple(missing),
    )


# ---- seccomp --------------------------------------------------------------------------

# Refused outright: reaching into other processes, the kernel's own machinery, new namespaces.
REFUSED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd",
    "kcmp", "bpf", "perf_event_open", "userfaultfd", "mount", "umount2", "pivot_root",
    "chroot", "setns", "unshare", "keyctl", "add_key", "request_key", "kexec_load",
    "init_module", "finit_module", "delete_module", "swapon", "swapoff", "reboot",
    "acct", "quotactl", "setdomainname", "sethostname", "settimeofday", "clock_settime",
    "iopl", "ioperm", "lookup_dcookie", "fanotify_init", "open_by_handle_at",
)  # fmt: skip
# Allowed only on the calling process itself (pid 0 means "me"): limits, priority, affinity.
SELF_ONLY = {"prlimit64": 0, "sched_setaffinity": 0, "sched_setscheduler": 0, "sched_setparam": 0}
AF_UNIX = 1


def seccomp_filter() -> pyseccomp.SyscallFilter:
    """The child's system-call filter (a pyseccomp SyscallFilter): refused calls fail with EPERM."""
    import pyseccomp as seccomp

    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for call in REFUSED:
        try:
            rules.add_rule(refuse, call)
        except (RuntimeError, ValueError, OSError):  # not a system call on this architecture
            continue
    for call, pid_argument in SELF_ONLY.items():
        rules.add_rule(refuse, call, seccomp.Arg(pid_argument, seccomp.NE, 0))
    # setpriority(which, who, prio): only who == 0, this process
    rules.add_rule(refuse, "setpriority", seccomp.Arg(1, seccomp.NE, 0))
    # Sockets of any family but Unix fail as if the kernel had no networking at all.
    no_family = seccomp.ERRNO(errno.EAFNOSUPPORT)
    rules.add_rule(no_family, "socket", seccomp.Arg(0, seccomp.NE, AF_UNIX))
    rules.add_rule(no_family, "socketpair", seccomp.Arg(0, seccomp.NE, AF_UNIX))
    # No SIGKILL from the child itself, so a SIGKILL that ends it always came from outside.
    rules.add_rule(refuse, "kill", seccomp.Arg(1, seccomp.EQ, signal.SIGKILL))
    rules.add_rule(refuse, "tkill", seccomp.Arg(1, seccomp.EQ, signal.SIGKILL))
    rules.add_rule(refuse, "tgkill", seccomp.Arg(2, seccomp.EQ, signal.SIGKILL))
    rules.add_rule(refuse, "pidfd_send_signal", seccomp.Arg(1, seccomp.EQ, signal.SIGKILL))
    rules.add_rule(refuse, "rt_sigqueueinfo", seccomp.Arg(1, seccomp.EQ, signal.SIGKILL))
    rules.add_rule(refuse, "rt_tgsigqueueinfo", seccomp.Arg(2, seccomp.EQ, signal.SIGKILL))
    return rules


def seccomp_program_fd() -> int:
    """A file descriptor holding the compiled filter, for bubblewrap's --seccomp (read from the start)."""
    descriptor = os.memfd_create("kata-seccomp", 0)
    with os.fdopen(os.dup(descriptor), "wb") as out:
        seccomp_filter().export_bpf(out)
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


# ---- cgroups ------------------------------------------------------------------------

_names = itertools.count()


class ChildCgroup:
    """A cgroup for one child: memory and process caps over all its processes, killed as a whole."""

    def __init__(self, version: str, memory_bytes: int = MEMORY_BYTES, processes: int = PROCESSES):
        self.version = version
        name = f"kata-grader-{os.getpid()}-{next(_names)}"
        quota = str(int(CPU_SHARE * CPU_PERIOD_US))
        if version == "v2":
            self.folders = [CGROUP_ROOT / name]
        else:
            self.folders = [CGROUP_ROOT / "memory" / name, CGROUP_ROOT / "pids" / name]
            cpu = CGROUP_ROOT / "cpu"
            if (cpu / "cpu.cfs_quota_us").is_file() and os.access(cpu, os.W_OK):
                self.folders.append(cpu / name)
        for folder in self.folders:
            folder.mkdir()
        if version == "v2":
            (self.folders[0] / "memory.max").write_text(str(memory_bytes))
            (self.folders[0] / "pids.max").write_text(str(processes))
            if (self.folders[0] / "cpu.max").is_file():  # the cpu controller is enabled for children
                (self.folders[0] / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
        else:
            (self.folders[0] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            (self.folders[1] / "pids.max").write_text(str(processes))
            if len(self.folders) > 2:
                (self.folders[2] / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                (self.folders[2] / "cpu.cfs_quota_us").write_text(quota)

    def enrolling(self, command: Sequence[str]) -> list[str]:
        """`command` run by a shell that first moves itself into this cgroup, so that nothing
        the command starts is ever outside it."""
        script = "".join(f'echo $$ > "{folder}/cgroup.procs" && ' for folder in self.folders) + 'exec "$@"'
        return ["/bin/sh", "-c", script, "kata-child", *command]

    def pids(self) -> list[int]:
        found = set()
        for folder in self.folders:
            try:
                found |= {int(line) for line in (folder / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                continue
        return sorted(found)

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of this cgroup for going over its memory."""
        counters = "memory.events" if self.version == "v2" else "memory.oom_control"
        try:
            lines = (self.folders[0] / counters).read_text().splitlines()
        except OSError:
            return False
        for line in lines:  # "oom_kill 1" in both versions
            name, _, value = line.partition(" ")
            if name == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def kill(self) -> None:
        """Kill every process in the cgroup, until none is left (bounded: they cannot fork past pids.max)."""
        if self.version == "v2" and (self.folders[0] / "cgroup.kill").exists():
            (self.folders[0] / "cgroup.kill").write_text("1")
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill()
        for folder in self.folders:
            for _ in range(100):  # the kernel frees a cgroup a moment after its last process
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


# ---- bubblewrap -------------------------------------------------------------------------


def _user_options() -> list[str]:
    """Run as root, bubblewrap makes its namespaces itself (setpriv then drops to nobody);
    run as anyone else, it needs a user namespace."""
    return [] if os.geteuid() == 0 else ["--unshare-user"]


def readable_roots() -> list[str]:
    """What the child must read: the Python installation and its packages, and the weights."""
    roots = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    roots |= {path for path in sys.path if path and os.path.isdir(path)}
    roots.add(os.path.dirname(os.path.realpath(sys.executable)))
    weights = os.environ.get("KATA_BERT", "")
    if weights and os.path.isdir(weights):
        roots.add(weights)
    real = sorted({os.path.realpath(path) for path in roots} | roots)
    # Only the outermost of nested folders, and nothing the system's binds already cover.
    kept: list[str] = []
    for path in real:
        if path.startswith(("/usr/", "/etc/")) or path in ("/usr", "/etc"):
            continue
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return [str(Path("/", *parts[: i + 1])) for i in range(len(parts))]


def bwrap_command(
    isolation: Isolation,
    job_folder: Path,
    inner: Sequence[str],
    env: dict[str, str],
    seccomp_fd: int | None,
    hidden: Sequence[str] = (),
) -> list[str]:
    """The bubblewrap command that runs `inner` with the job folder read-only at /job, a tmpfs
    /tmp as its only writable disk, and `hidden` folders (the repository) nowhere in sight."""
    command = [
        "bwrap",
        *_user_options(),
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",  # no terminal to inject keystrokes into
        "--clearenv",
        "--ro-bind",
        "/usr",
        "/usr",
        "--ro-bind",
        "/etc",
        "/etc",
    ]
    for link in ("bin", "lib", "lib32", "lib64", "sbin"):
        target = os.path.join("/", link)
        if os.path.islink(target):
            command += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            command += ["--ro-bind", target, target]
    # The tmpfs first: a Python installation under /tmp (a CI's fresh virtual environment) is
    # bound on top of it, read-only, instead of being hidden by it.
    command += ["--size", str(TMP_BYTES), "--perms", "1777", "--tmpfs", "/tmp"]
    made: set[str] = set()
    for root in readable_roots():
        if any(root == h or root.startswith(h.rstrip("/") + "/") for h in hidden):
            continue  # an editable install inside the repository: the child has its own copy
        for parent in _parents(root):
            if parent not in made and parent not in ("/usr", "/etc", "/tmp"):
                command += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        command += ["--ro-bind", root, root]
    command += ["--proc", "/proc", "--dev", "/dev"]
    command += ["--ro-bind", str(job_folder), "/job", "--chdir", "/tmp"]
    for key, value in env.items():
        command += ["--setenv", key, value]
    if seccomp_fd is not None:
        command += ["--seccomp", str(seccomp_fd)]
    if isolation.unprivileged:
        command += [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]
    return command + list(inner)
