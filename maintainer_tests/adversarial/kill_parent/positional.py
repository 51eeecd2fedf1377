# ADVERSARIAL FIXTURE (tests/test_grader.py): the grader's own processes. In a call, this module
# tries every way it knows to kill the process that started it (the grader) and every other
# grader child it can see, or to starve the grader of CPU time. All of it must be refused: the
# grader survives and grades everything else; positional (which then raises) loses its 15 points.
import os
import signal
from pathlib import Path

import torch

TRIED = []


def targets():
    """The grader, then its other children (other exercises, other learners): nothing else."""
    grader = os.getppid()
    found = [grader]
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == grader:
                    found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            pass
    return found


def kill_plainly(pid):
    os.kill(pid, signal.SIGKILL)


def kill_group(pid):
    os.killpg(os.getpgid(pid), signal.SIGKILL)


def kill_through_pidfd(pid):
    signal.pidfd_send_signal(os.pidfd_open(pid), signal.SIGKILL)


def kill_through_libc(pid):
    import ctypes

    if ctypes.pythonapi.kill(pid, signal.SIGKILL) != 0:  # already loaded: no dlopen
        raise OSError("kill failed")


def fork_exec(program, stdout=-1, setsid=False, preexec_fn=None):
    """Start `program` through _posixsubprocess, as subprocess does but with no audit event."""
    import _posixsubprocess

    error_read, error_write = os.pipe()
    fds = (stdout,) if stdout >= 0 else ()
    head = [program, program[:1], True, fds, None, None, -1, -1, -1, stdout, -1, -1, error_read, error_write]
    head += [False, setsid, -1, None, None, None, -1, preexec_fn]
    try:
        return _posixsubprocess.fork_exec(*head, False)  # Python 3.11 and later
    except TypeError:
        del head[16]  # Python 3.10: no pgid_to_set, no allow_vfork
        return _posixsubprocess.fork_exec(*head)


def kill_through_process(pid):
    fork_exec([b"/bin/kill", b"-9", str(pid).encode()])


def kill_through_shell(pid):
    os.system(f"kill -9 {pid}")


def starve(pid):  # one second of CPU time, long since used: the kernel kills it
    import resource

    resource.prlimit(pid, resource.RLIMIT_CPU, (1, 1))


def sinusoidal_positional_encoding(max_len, d_model):
    for pid in targets():
        for trick in (kill_plainly, kill_group, kill_through_pidfd, kill_through_libc, kill_through_process, kill_through_shell, starve):  # fmt: skip
            try:
                trick(pid)
                TRIED.append(f"{trick.__name__}({pid}): no error")
            except BaseException as error:  # noqa: BLE001
                TRIED.append(f"{trick.__name__}({pid}): {type(error).__name__}")
    raise RuntimeError("the grader survived: " + "; ".join(TRIED))


class Embeddings(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise NotImplementedError
