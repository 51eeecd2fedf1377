"""The grader's child process: runs one group of checks on a submission and reports raw outputs.

Started by kata/grading.py as a fresh interpreter (`python -I -B child.py JOB`) in a
sandbox folder that holds a copy of the submission's module(s), the reference modules
it builds on, and a copy of this support package; the repository is not on sys.path.
Before any submission code runs it limits memory and file sizes, forbids reading the
repository (solutions/ included), writing outside the sandbox, starting processes and
signalling other processes, and opens the results file. Verdicts are never computed
here: only outputs, as plain numbers (kata/wire.py).
"""

import json
import os
import resource
import sys
import traceback
from pathlib import Path

OUT_OF_MEMORY = ("can't allocate memory", "DefaultCPUAllocator", "out of memory")
FORBIDDEN_EVENTS = {"os.system", "subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork", "os.forkpty", "pty.spawn", "ctypes.dlopen", "os.killpg", "signal.pthread_kill"}  # fmt: skip
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def main(job_path):
    job = json.loads(Path(job_path).read_text())
    sandbox = Path(job["sandbox"])
    sys.path.insert(0, job["support"])
    sys.dont_write_bytecode = True
    limit = job["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["file_bytes"], job["file_bytes"]))
    results = open(job["results"], "a", buffering=1)  # noqa: SIM115 (kept open for the whole run)

    import torch  # noqa: F401  (imported before any submission code can touch it)

    from kata import checks, wire
    from kata.loading import load, load_stack

    if job["module"] == "encoder":
        import transformers  # noqa: F401  (imported before the guard: it reads and caches files)
    if any(check.needs_weights for check in checks.CHECKS if check.name in job["checks"]):
        from kata.weights import load_pretrained

        load_pretrained()  # read before the guard below: the weights may live anywhere

    def report(record):
        results.write(json.dumps(record) + "\n")

    sys.addaudithook(guard(sandbox, [Path(p) for p in job["forbidden"]]))
    try:
        if job["whole_stack"]:
            module = load_stack(job["submission"])
        else:
            module = load(job["module"], job["submission"], reference=job["reference"])
    except BaseException as error:  # noqa: BLE001  (a submission may raise anything, SystemExit too)
        report({"event": "import_error", "error": describe(error, job["submission"])})
        return
    report({"event": "loaded"})
    for check in checks.CHECKS:
        if check.name not in job["checks"]:
            continue
        try:
            outputs = check.probe(module)
            record = {"check": check.name, "outputs": {key: wire.encode(value) for key, value in outputs.items()}}
        except BaseException as error:  # noqa: BLE001
            record = {"check": check.name, "error": describe(error, job["submission"])}
        report(record)
    report({"event": "done"})


def guard(sandbox, forbidden):
    """An audit hook (it cannot be removed) that keeps submission code inside the sandbox."""
    sandbox = os.path.realpath(sandbox)
    forbidden = [os.path.realpath(path) for path in forbidden]
    own_pid = os.getpid()

    def inside(path, folder):
        return path == folder or path.startswith(folder + os.sep)

    def hook(event, args):
        if event in FORBIDDEN_EVENTS:
            raise PermissionError(f"the grader does not allow {event} in a submission")
        if event == "os.kill" and args[0] != own_pid:
            raise PermissionError("the grader does not allow signalling other processes")
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

    return hook


def describe(error, submission):
    """Type, message and the submission's line where it happened, as plain strings."""
    from kata.loading import ExerciseImportError

    if isinstance(error, ExerciseImportError):  # unwrap: report the learner's own error
        error = error.error
    where = ""
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.startswith(str(submission)):
            where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
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
    main(sys.argv[1])
