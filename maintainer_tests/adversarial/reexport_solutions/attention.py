# ADVERSARIAL FIXTURE (tests/test_grader.py): copying the reference. This attention.py has no
# code of its own: it tries every way it can think of to get the reference's (solutions/, another
# sandbox's reference copy, a classmate's folder) and run it as its own. Every way must be refused,
# so the fallback at the bottom (zeros of the wrong shape) runs and earns none of attention's 15.
import glob
import importlib.util
import os
import sys
from pathlib import Path

TRIED = []  # which tricks were tried, printed at the end


def genuine(text):
    """Real attention code: not a stub, not one of these fixtures."""
    return "def scaled_dot_product_attention" in text and "NotImplementedError" not in text and "ADVERSARIAL" not in text


def candidates():
    """Every attention.py this process might reach, best first."""
    found = [Path("/work/main/solutions/attention.py")]
    for start in (Path.cwd(), Path(__file__).resolve()):
        found += [folder / "solutions" / "attention.py" for folder in start.parents]
    try:
        parent = os.getppid()
        words = [w.decode() for w in Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")]
        cwd = Path(os.readlink(f"/proc/{parent}/cwd"))
        found += [(cwd / w).parent / "solutions" / "attention.py" for w in words if w.endswith("grader.py")]
        found.append(cwd / "solutions" / "attention.py")
        for flag, value in zip(words, words[1:]):
            if flag in ("--class", "--submission"):  # classmates, or the folder above
                found += [Path(p) for p in glob.glob(str(cwd / value / "**" / "attention.py"), recursive=True)]
                found += [Path(p) for p in glob.glob(str(cwd / value / ".." / "*" / "attention.py"))]
    except Exception:  # noqa: BLE001
        pass
    temporary = Path.cwd().parent  # the other sandboxes of this grader: the reference before each exercise
    for pattern in ("*/reference/attention.py", "*/*/reference/attention.py", "/tmp/*/reference/attention.py"):
        found += [Path(p) for p in glob.glob(pattern if pattern.startswith("/") else str(temporary / pattern))]
    return list(dict.fromkeys(found))


def read_plainly(path):
    return path.read_text()


def read_natively(path):  # torch maps the file itself: no Python open() to refuse
    import torch

    data = torch.from_file(str(path), size=os.path.getsize(path), dtype=torch.uint8)
    return bytes(data.tolist()).decode()


def read_through_link(path):  # a hard link inside the sandbox
    link = Path.cwd() / f"link-{abs(hash(str(path)))}.py"
    os.link(path, link)
    return link.read_text()


def read_through_folder(path):  # open the folder, then the file relative to it
    folder = os.open(path.parent.parent, os.O_RDONLY)
    handle = os.open(f"{path.parent.name}/{path.name}", os.O_RDONLY, dir_fd=folder)
    return os.read(handle, 1_000_000).decode()


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


def read_through_process(path):  # another program reads it
    out_read, out_write = os.pipe()
    fork_exec([b"/bin/cat", os.fsencode(path)], stdout=out_write)
    os.close(out_write)
    chunks = []
    while chunk := os.read(out_read, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode()


def read_through_libc(path):
    import ctypes

    libc = ctypes.pythonapi  # already loaded: no dlopen
    handle = libc.open(os.fsencode(path), 0)
    buffer = ctypes.create_string_buffer(1_000_000)
    size = libc.read(handle, buffer, 1_000_000)
    return buffer.raw[: max(size, 0)].decode()


def import_it(path):
    sys.path.insert(0, str(path.parent.parent))
    module = importlib.import_module(f"{path.parent.name}.attention")
    return module


def load_by_path(path):
    spec = importlib.util.spec_from_file_location("stolen_attention", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def steal():
    try:
        from solutions.attention import scaled_dot_product_attention  # noqa: F401

        TRIED.append("from solutions.attention import: worked")
        return {"scaled_dot_product_attention": scaled_dot_product_attention}
    except BaseException as error:  # noqa: BLE001
        TRIED.append(f"from solutions.attention import: {type(error).__name__}")
    for path in candidates():
        for trick in (import_it, load_by_path):
            try:
                function = trick(path).scaled_dot_product_attention
                TRIED.append(f"{trick.__name__} {path}: worked")
                return {"scaled_dot_product_attention": function}
            except BaseException as error:  # noqa: BLE001
                TRIED.append(f"{trick.__name__} {path}: {type(error).__name__}")
        for trick in (read_plainly, read_natively, read_through_link, read_through_folder, read_through_process, read_through_libc):  # fmt: skip
            try:
                text = trick(path)
                if genuine(text):
                    namespace = {"__name__": "stolen"}
                    exec(compile(text, "stolen", "exec"), namespace)  # open() + exec
                    TRIED.append(f"{trick.__name__} {path}: worked")
                    return namespace
                TRIED.append(f"{trick.__name__} {path}: not the reference")
            except BaseException as error:  # noqa: BLE001
                TRIED.append(f"{trick.__name__} {path}: {type(error).__name__}")
    return None


stolen = steal()
print("reexport_solutions tried:", *TRIED, sep="\n  ")
if stolen is not None:
    scaled_dot_product_attention = stolen["scaled_dot_product_attention"]
else:
    import torch

    def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
        return torch.zeros(1), torch.zeros(1)
