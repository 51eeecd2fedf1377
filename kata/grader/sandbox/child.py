"""The grader's child process: runs one group of checks on a submission and reports raw outputs.

Started by kata/grader/grading.py as a fresh interpreter (`python -I -B child.py JOB`) in a
sandbox folder that holds a copy of the submission's module(s), the reference modules
it builds on, and a copy of this support package; the repository is not on sys.path.
Before any submission code runs it limits memory and file sizes, forbids reading the
repository (solutions/ included), writing outside the sandbox, starting processes and
signalling other processes, and opens the records pipe. Verdicts are never computed
here: only outputs, as plain numbers (kata/core/wire.py).

Two layers enforce this. An audit hook refuses what Python code asks for; it cannot see
native code (ctypes, torch.from_file, a process started through _posixsubprocess). On
Linux 5.13 and later, Landlock also has the kernel refuse it, native code included: read
only the Python installation and the system's folders, write only the sandbox, execute
no program, and (Linux 6.12 and later) signal no process outside this one.
"""

import ctypes
import json
import os
import re
import resource
import struct
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

OUT_OF_MEMORY = ("can't allocate memory", "DefaultCPUAllocator", "out of memory")
FORBIDDEN_EVENTS = {"os.system", "subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork", "os.forkpty", "pty.spawn", "ctypes.dlopen", "os.killpg", "signal.pthread_kill"}  # fmt: skip
# ctypes can call any C function (kill, open) and write any memory; limits are set before the hook.
FORBIDDEN_EVENTS |= {"ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata", "ctypes.call_function", "resource.setrlimit", "resource.prlimit"}  # fmt: skip
# Events that change the file system: every path must be in the sandbox; the positions of their
# dir_fd arguments, which must be unused (a path relative to an open folder cannot be checked).
CHANGES = {"os.mkdir": (2,), "os.rmdir": (1,), "os.remove": (1,), "os.rename": (2, 3), "os.link": (2, 3), "os.symlink": (2,), "os.chmod": (2,), "os.chown": (3,), "os.utime": (3,), "os.truncate": (), "os.setxattr": (), "os.removexattr": ()}  # fmt: skip
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def main(job_path: str, results_fd: int) -> None:
    job = json.loads(Path(job_path).read_text())
    sandbox = Path(job["sandbox"])
    sys.path.insert(0, job["support"])
    sys.dont_write_bytecode = True
    limit = job["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["file_bytes"], job["file_bytes"]))
    # The records go to a pipe the grader reads (and bounds); nothing is left on a disk.
    results = os.fdopen(results_fd, "w", buffering=1)

    import torch  # noqa: F401  (imported before any submission code can touch it)

    from kata import course
    from kata.core import wire
    from kata.core.as_torch import as_torch  # the NumPy track seen through the PyTorch API the probes call
    from kata.core.loading import load, load_stack

    if job["module"] == "encoder":
        import transformers  # noqa: F401  (imported before the guard: it reads and caches files)
    track_checks = course.checks(job["track"])
    if (
        job.get("hidden_seed") is not None
    ):  # the Gradescope zip's hidden checks: the same probes on other inputs
        from kata.core.checking import hidden_twin

        track_checks += tuple(hidden_twin(check, job["hidden_seed"]) for check in track_checks)
    if any(check.needs_weights for check in track_checks if check.name in job["checks"]):
        from kata.core.weights import load_pretrained

        load_pretrained()  # read before the guard below: the weights may live anywhere

    def report(record):
        results.write(json.dumps(record) + "\n")

    # No shortcuts (kata/core/shortcuts.py): the library calls the exercise asks the learner to write are
    # wrapped before the submission loads, and each call from its modules is reported as data.
    from kata.core.shortcuts import Watch, as_record, watched

    group = "capstone" if job["whole_stack"] else job["module"]
    watch = Watch(
        watched(job["submission"], group, job["track"])
    ).__enter__()  # imports what it wraps: before the walls

    forbidden = [Path(p) for p in job["forbidden"]]
    job_folder = Path(job["job"])  # what the grader gave it to read: support, submission, reference
    report({"event": "sandbox", "landlock": restrict(sandbox, forbidden, job_folder)})
    sys.addaudithook(guard(sandbox, forbidden))
    try:
        if job["whole_stack"]:
            module = load_stack(job["submission"])
        else:
            module = load(job["module"], job["submission"], reference=job["reference"])
        if job["track"] == "numpy":
            module = as_torch(module)
    except BaseException as error:  # noqa: BLE001  (a submission may raise anything, SystemExit too)
        report({"event": "import_error", "error": describe(error, job["submission"])})
        report(as_record(watch.uses))
        return
    report({"event": "loaded"})
    for check in track_checks:
        if check.name not in job["checks"]:
            continue
        try:
            outputs = check.probe(module)
            record = {
                "check": check.name,
                "outputs": {key: wire.encode(value) for key, value in outputs.items()},
            }
        except BaseException as error:  # noqa: BLE001
            record = {"check": check.name, "error": describe(error, job["submission"])}
        report(record)
    report(as_record(watch.uses))
    report({"event": "done"})


def guard(sandbox: str | Path, forbidden: Iterable[str | Path]) -> Callable[[str, tuple[Any, ...]], None]:
    """An audit hook (it cannot be removed) that keeps submission code inside the sandbox."""
    sandbox = os.path.realpath(sandbox)
    forbidden = [os.path.realpath(path) for path in forbidden]
    own_pid = os.getpid()

    def inside(path, folder):
        return path == folder or path.startswith(folder + os.sep)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in FORBIDDEN_EVENTS:
            raise PermissionError(f"the grader does not allow {event} in a submission")
        if event == "os.kill" and args[0] != own_pid:
            raise PermissionError("the grader does not allow signalling other processes")
        if event in CHANGES:
            if any(args[i] not in (None, -1) for i in CHANGES[event]):
                raise PermissionError(f"the grader does not allow {event} with dir_fd in a submission")
            for path in (os.path.realpath(os.fsdecode(a)) for a in args if isinstance(a, str | bytes)):
                if not inside(path, sandbox):
                    raise PermissionError(f"the grader does not let a submission change {path}")
        if event == "open" and isinstance(args[0], str | bytes):
            path = os.path.realpath(os.fsdecode(args[0]))
            mode, flags = args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS
            )
            if any(inside(path, folder) for folder in forbidden) and not inside(path, sandbox):
                raise PermissionError(f"the grader does not let a submission read {path}")
            if writing and not inside(path, sandbox) and path != os.devnull:
                raise PermissionError(f"the grader does not let a submission write {path}")
            if os.path.isdir(path) and not inside(path, sandbox):  # os.open(folder) then dir_fd=
                raise PermissionError(f"the grader does not let a submission open the folder {path}")
            other = re.match(r"/proc/(\d+)(/|$)", path)
            if other and int(other[1]) != own_pid:
                raise PermissionError("the grader does not let a submission look into other processes")

    return hook


# Landlock (linux/landlock.h): system calls 444-446 on every architecture, and access rights.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
# The rights a file (not a folder) takes.
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
READABLE = ("/usr", "/lib", "/lib32", "/lib64", "/opt", "/etc", "/proc", "/sys", "/dev/urandom", "/dev/random", "/dev/zero")  # fmt: skip


def restrict(
    sandbox: str | Path, forbidden: Iterable[str | Path], job_folder: str | Path | None = None
) -> int:
    """Have the kernel enforce the sandbox (Landlock), native code included; returns the Landlock
    ABI used, or 0 where there is none (not Linux, or too old) and only the audit hook holds.

    Readable: the Python installation, sys.path, the folders of every library loaded so far, the
    system's folders, but nothing that holds a forbidden folder or the sandbox (whose siblings are
    other sandboxes). Writable: the sandbox and /dev/null. Executable: nothing. From ABI 6, no
    signal to a process outside this one.
    """
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        return 0
    handled = (1 << 13) - 1 | (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0)
    handled |= IOCTL_DEV if abi >= 5 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attributes = struct.pack("QQQ", handled, 0, scoped)[: 24 if abi >= 6 else 8]
    ruleset = libc.syscall(444, attributes, ctypes.c_size_t(len(attributes)), ctypes.c_uint32(0))
    if ruleset < 0:
        return 0

    def allow(path, access):
        descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            access &= handled if os.path.isdir(path) else handled & FILE_RIGHTS
            rule = struct.pack("=Qi", access, descriptor)  # landlock_path_beneath_attr, packed
            if libc.syscall(445, ctypes.c_int(ruleset), ctypes.c_int(1), rule, ctypes.c_uint32(0)) != 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(descriptor)

    installation = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    readable = {*installation, *sys.path, *READABLE, os.environ.get("KATA_BERT", "")}
    with open("/proc/self/maps") as maps:  # every library loaded so far, wherever it lives
        readable |= {os.path.dirname(line.split(maxsplit=5)[5].strip()) for line in maps if " /" in line}
    closed = [os.path.realpath(path) for path in (*forbidden, sandbox)]
    installation = [os.path.realpath(path) for path in installation]

    def within(path, folder):
        return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)

    try:
        for path in sorted({os.path.realpath(path) for path in readable if path and os.path.exists(path)}):
            holds_closed = any(within(folder, path) for folder in closed)
            in_forbidden = any(within(path, folder) for folder in closed) and not any(
                within(path, folder) for folder in installation
            )
            if not holds_closed and not in_forbidden:
                allow(path, READ_FILE | READ_DIR)
        allow(sandbox, handled & ~EXECUTE)
        if job_folder is not None and os.path.realpath(job_folder) != os.path.realpath(sandbox):
            allow(job_folder, READ_FILE | READ_DIR)
        allow(os.devnull, READ_FILE | WRITE_FILE | TRUNCATE)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, required to restrict oneself
            return 0
        return abi if libc.syscall(446, ctypes.c_int(ruleset), ctypes.c_uint32(0)) == 0 else 0
    finally:
        os.close(ruleset)


def describe(error: BaseException, submission: str | Path) -> dict[str, str]:
    """Type, message and the submission's line where it happened, as plain strings."""
    from kata.core.loading import ExerciseImportError
    from kata.core.paths import raised_in

    if isinstance(error, ExerciseImportError):  # unwrap: report the learner's own error
        error = error.error
    frame = raised_in(error, submission)
    # The file's name alone: the sandbox's folders mean nothing to the learner.
    where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" if frame else ""
    message = str(error)
    if isinstance(error, SystemExit):
        message = f"the submission called sys.exit({error.code!r})"
    elif isinstance(error, MemoryError) or any(text in message for text in OUT_OF_MEMORY):
        message = f"ran out of memory ({message.splitlines()[0][:200] if message else 'MemoryError'})"
    elif isinstance(error, SyntaxError) and error.lineno:
        where = f"{Path(error.filename or '?').name}:{error.lineno}"
        message = error.msg
    return {"type": type(error).__name__, "message": message[:500], "where": where}


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
