# ADVERSARIAL FIXTURE (tests/test_grader.py): a process that outlives its child. In a call, this
# module forks through _posixsubprocess (no audit event) into a session of its own, out of reach
# of the grader's kill of the child's process group, and there burns CPU that the other
# exercises and learners need. The grader must kill it with the child: no process of the grader's
# may remain when it exits. (It gives up by itself after two minutes, should the grader fail.)
import os
import time

import torch


def burn():
    end = time.monotonic() + 120
    while time.monotonic() < end:
        pass
    os._exit(0)


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


def sinusoidal_positional_encoding(max_len, d_model):
    pid = fork_exec([b"/bin/true"], setsid=True, preexec_fn=burn)
    raise RuntimeError(f"forked process {pid}, which burns CPU in a session of its own")


class Embeddings(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise NotImplementedError
