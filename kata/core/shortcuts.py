"""No shortcuts: an exercise's code may not call the library function the course asks the learner to write.

Each exercise declares its own in kata/course/<exercise>.py as `SHORTCUTS` (a tuple of
`Shortcut`); an instructor allows a call by removing its entry. An exercise may call none of
its own shortcuts nor those of the exercises before it (the encoder uses the learner's own
LayerNorm, not nn.LayerNorm). On the NumPy track the rule is the track's own: its modules never
import torch or transformers (NUMPY_FRAMEWORKS).

Two ways to see a shortcut, both used by the grader and by pytest:

- `scan_source`: the module's text (its syntax tree, never run): every reference to a forbidden
  name, through `import torch.nn.functional as F`, `from torch.nn.functional import gelu as g`,
  `torch.nn.functional.gelu`, `getattr(F, "gelu")` with a constant string, `nn.GELU()`.
  Safe on untrusted text: the grader runs it in its own process.
- `Watch`: at run time, while the module loads and its probes run, each forbidden callable is
  wrapped; a call whose nearest caller outside the libraries (torch, transformers, the
  standard library) is a watched module is recorded with its file and line, so
  `getattr(F, "layer" + "_norm")` is seen too, and so is a Hugging Face model's forward called
  by the learner's encoder. In the grader's child the records go to the grader as plain data
  (`as_record`, `from_records`); the verdict is the grader's.

Plain standard library at import: kata/grader/sandbox/child.py uses this module in its sandbox.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import os
import sys
import sysconfig
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

HUGGING_FACE = "transformers"  # a Shortcut target: the forward of any Hugging Face module
NUMPY_FRAMEWORKS = ("torch", "transformers")  # what a NumPy-track module may never import
MAX_SOURCE = 2_000_000  # characters of a module scanned; a longer file is not a course module


@dataclass(frozen=True)
class Shortcut:
    exercise: str  # the exercise that asks the learner to write it, e.g. "layer_norm"
    target: (
        str  # dotted name, "torch.nn.functional.layer_norm"; HUGGING_FACE: any Hugging Face module's forward
    )
    shown: str  # as a learner writes it: "F.layer_norm"
    instead: str  # what to write instead, for the message
    kind: str = (
        "function"  # "function", "module" (a class), "forward" (Hugging Face), "import" (the NumPy track)
    )


@dataclass(frozen=True)
class Use:
    shortcut: Shortcut
    file: str  # the module's file name, "layer_norm.py"
    line: int
    shown: str = ""  # what was called, when it is more precise than the shortcut's name (BertModel.forward)

    @property
    def called(self) -> str:
        return self.shown or self.shortcut.shown


def numpy_shortcuts(exercise: str) -> tuple[Shortcut, ...]:
    return tuple(
        Shortcut(
            exercise,
            name,
            name,
            "the NumPy track is NumPy alone: write it with numpy operations (np.exp, np.sqrt, @, ...)",
            "import",
        )
        for name in NUMPY_FRAMEWORKS
    )


def forbidden(exercise: str, track: str = "torch") -> tuple[Shortcut, ...]:
    """The shortcuts `exercise`'s module may not take: its own and those of the exercises before it."""
    from kata import COURSE
    from kata.course import exercise as course_module

    if track == "numpy":
        return numpy_shortcuts(exercise)
    upto = COURSE[: COURSE.index(exercise) + 1]
    return tuple(shortcut for name in upto for shortcut in getattr(course_module(name), "SHORTCUTS", ()))


def modules_of(group: str) -> tuple[str, ...]:
    """The modules of the learner that a group runs: the exercise's own, or (the capstone) every one up to the encoder."""
    from kata import COURSE
    from kata.course import CAPSTONE_OF

    if group == "capstone":
        return COURSE[: COURSE.index(CAPSTONE_OF) + 1]
    return (group,)


def watched(folder: str | Path, group: str, track: str = "torch") -> dict[str, tuple[Shortcut, ...]]:
    """{file path: its shortcuts} for the learner's modules that `group` runs from `folder`."""
    return {
        os.path.realpath(Path(folder) / f"{name}.py"): forbidden(name, track) for name in modules_of(group)
    }


# ---- in the source: the syntax tree ---------------------------------------------------------


def _dotted(node: ast.AST, names: Mapping[str, str]) -> str | None:
    """The dotted name `node` stands for (imports resolved through `names`), or None."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call) and _is_getattr(node, names):
            parts.append(node.args[1].value)  # type: ignore[attr-defined]  # a str Constant (_is_getattr)
            node = node.args[0]
        elif isinstance(node, ast.Name) and node.id in names:
            return ".".join([names[node.id], *reversed(parts)])
        else:
            return None


def _is_getattr(node: ast.Call, names: Mapping[str, str]) -> bool:
    return (
        isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and "getattr" not in names  # not shadowed by an import
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    )


def _imports(tree: ast.AST) -> dict[str, str]:
    """{local name: dotted name} for every absolute import in the module, at any depth."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:  # `import torch.nn.functional` binds torch
                    root = alias.name.split(".")[0]
                    names[root] = root
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _matches(dotted: str, shortcut: Shortcut) -> bool:
    if shortcut.kind == "import":
        return dotted == shortcut.target or dotted.startswith(shortcut.target + ".")
    if shortcut.kind == "forward":
        return False  # a forward is seen at run time only: the model is an argument, not a name
    if dotted == shortcut.target or dotted.startswith(shortcut.target + "."):
        return True
    found, wanted = _resolve(dotted), _resolve(shortcut.target)
    return found is not None and found is wanted


def _resolve(dotted: str) -> Any:
    """The object `dotted` names in a module already imported (never importing one), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        value: Any = module
        try:
            for part in parts[cut:]:
                value = getattr(value, part)
        except Exception:  # noqa: BLE001  (a name that is not there, or a lazy attribute failing)
            return None
        return value
    return None


def scan_source(source: str, file: str, shortcuts: Iterable[Shortcut]) -> list[Use]:
    """The uses of `shortcuts` in a module's text (the file's name for the messages), by line.

    Every reference counts, not only calls (`act = F.gelu` is one). Text that does not parse
    is scanned for nothing: the module's import reports it."""
    shortcuts = tuple(shortcuts)
    if not shortcuts or len(source) > MAX_SOURCE:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names = _imports(tree)
    uses: dict[tuple[Shortcut, int], Use] = {}

    def found(dotted: str, line: int) -> None:
        for shortcut in shortcuts:
            if _matches(dotted, shortcut):
                uses.setdefault((shortcut, line), Use(shortcut, file, line))

    try:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found(alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found(node.module, node.lineno)
                for alias in node.names:
                    found(f"{node.module}.{alias.name}", node.lineno)
            elif isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
                dotted = _dotted(node, names)
                if dotted is not None and (isinstance(node, ast.Attribute) or dotted != node.id):
                    found(dotted, node.lineno)
            elif isinstance(node, ast.Call):
                if _is_getattr(node, names):
                    dotted = _dotted(node, names)
                    if dotted is not None:
                        found(dotted, node.lineno)
                elif (
                    isinstance(node.func, ast.Name)
                    and node.func.id == "__import__"
                    or isinstance(node.func, ast.Attribute)
                    and node.func.attr == "import_module"
                ) and (
                    node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found(node.args[0].value, node.lineno)
    except RecursionError:  # a tree too deep to walk: the child's import reports it
        return []
    return _first_per_shortcut(uses.values())


def _first_per_shortcut(uses: Iterable[Use]) -> list[Use]:
    """Uses by line, the same forbidden call on the same line once."""
    seen: set[tuple[str, str, int]] = set()
    kept = []
    for use in sorted(uses, key=lambda use: (use.file, use.line)):
        key = (use.called, use.file, use.line)
        if key not in seen:
            seen.add(key)
            kept.append(use)
    return kept


def scan_files(files: Mapping[str, tuple[Shortcut, ...]]) -> list[Use]:
    """The source uses in each file of `watched(...)`; a file that cannot be read has none."""
    uses = []
    for path, shortcuts in files.items():
        try:
            source = Path(path).read_text(errors="replace")
        except OSError:
            continue
        uses += scan_source(source, Path(path).name, shortcuts)
    return uses


# ---- at run time: the callables wrapped ---------------------------------------------------


def _library_roots() -> tuple[str, ...]:
    roots = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    for name in ("torch", "transformers", "numpy"):
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str):
            roots.add(os.path.dirname(file))
    return tuple(os.path.realpath(root) + os.sep for root in roots if root)


class Watch:
    """Wraps each forbidden callable of `files` ({path: shortcuts}, see `watched`) while it is
    entered, and records the calls made from those files (`uses`). Use once: `with Watch(files) as watch:`."""

    def __init__(self, files: Mapping[str, tuple[Shortcut, ...]]) -> None:
        self.files = {os.path.realpath(path): tuple(shortcuts) for path, shortcuts in files.items()}
        self.uses: list[Use] = []
        self._undo: list[Callable[[], None]] = []
        self._library = _library_roots()
        self._kinds: dict[str, str] = {}  # co_filename -> "library", "watched" or "other"
        self._seen: set[tuple[str, str, int]] = set()

    # Which frame called: the nearest one outside the libraries.
    def _kind(self, filename: str) -> str:
        kind = self._kinds.get(filename)
        if kind is None:
            real = os.path.realpath(filename) if not filename.startswith("<") else filename
            if real in self.files:
                kind = "watched"
            elif filename.startswith("<") or real.startswith(self._library):
                kind = "library"
            else:
                kind = "other"
            self._kinds[filename] = kind
        return kind

    def _caller(self, frame: FrameType | None) -> FrameType | None:
        while frame is not None:
            kind = self._kind(frame.f_code.co_filename)
            if kind == "watched":
                return frame
            if kind == "other":
                return None
            frame = frame.f_back
        return None

    def _record(self, shortcut: Shortcut, frame: FrameType | None, shown: str = "") -> None:
        caller = self._caller(frame)
        if caller is None:
            return
        path = os.path.realpath(caller.f_code.co_filename)
        if shortcut not in self.files[path]:
            return
        use = Use(shortcut, os.path.basename(path), caller.f_lineno, shown)
        key = (use.called, use.file, use.line)
        if key not in self._seen:
            self._seen.add(key)
            self.uses.append(use)

    def _set(self, owner: Any, name: str, value: Any) -> None:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        setattr(owner, name, value)
        self._undo.append(lambda: setattr(owner, name, original))

    def _wrap_function(self, shortcut: Shortcut) -> None:
        module_name, _, name = shortcut.target.rpartition(".")
        owner = _resolve(module_name)
        original = getattr(owner, name, None) if owner is not None else None
        if original is None or getattr(original, "__kata_shortcut__", False):
            return
        record = self._record

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            record(shortcut, sys._getframe(1))
            return original(*args, **kwargs)

        wrapper.__kata_shortcut__ = True  # type: ignore[attr-defined]
        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        wrapper.__name__ = getattr(original, "__name__", name)
        wrapper.__doc__ = getattr(original, "__doc__", None)
        self._set(owner, name, wrapper)

    def _wrap_method(self, cls: type, method: str, shortcut: Shortcut, shown: str = "") -> None:
        original = cls.__dict__.get(method)
        if original is None or getattr(original, "__kata_shortcut__", False):
            return
        record = self._record

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            record(shortcut, sys._getframe(1), shown)
            return original(*args, **kwargs)

        wrapper.__kata_shortcut__ = True  # type: ignore[attr-defined]
        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        wrapper.__name__ = method
        self._set(cls, method, wrapper)

    def _wrap_hugging_face(self, shortcut: Shortcut) -> None:
        nn = sys.modules.get("torch.nn")
        if nn is None:
            return
        try:  # what from_hf is given (the exercise's probes import it anyway)
            importlib.import_module("transformers.models.bert.modeling_bert")
        except ImportError:
            return
        for module_name, module in list(sys.modules.items()):
            if not module_name.startswith("transformers.") or module is None:
                continue
            for value in list(vars(module).values()):
                if (
                    isinstance(value, type)
                    and issubclass(value, nn.Module)
                    and value.__module__ == module_name
                    and "forward" in value.__dict__
                ):
                    self._wrap_method(value, "forward", shortcut, f"{value.__name__}.forward")

    def _wrap_imports(self, shortcuts: tuple[Shortcut, ...]) -> None:
        record, frameworks = self._record, {shortcut.target: shortcut for shortcut in shortcuts}
        original_import, original_import_module = builtins.__import__, importlib.import_module

        def guarded_import(name: str, *args: Any, **kwargs: Any) -> Any:
            root = name.split(".")[0]
            level = args[3] if len(args) > 3 else kwargs.get("level", 0)
            if root in frameworks and not level:
                record(frameworks[root], sys._getframe(1))
            return original_import(name, *args, **kwargs)

        def guarded_import_module(name: str, package: str | None = None) -> Any:
            root = name.split(".")[0]
            if root in frameworks:
                record(frameworks[root], sys._getframe(1))
            return original_import_module(name, package)

        self._set(builtins, "__import__", guarded_import)
        self._set(importlib, "import_module", guarded_import_module)

    def __enter__(self) -> Watch:
        shortcuts = {shortcut for group in self.files.values() for shortcut in group}
        imports = tuple(sorted((s for s in shortcuts if s.kind == "import"), key=lambda s: s.target))
        try:
            for shortcut in sorted(shortcuts, key=lambda s: s.target):
                if shortcut.kind == "forward":
                    self._wrap_hugging_face(shortcut)
                elif shortcut.kind == "module":
                    cls = _resolve(shortcut.target)
                    if isinstance(cls, type):
                        self._wrap_method(cls, "__init__", shortcut)
                        self._wrap_method(cls, "forward", shortcut)
                elif shortcut.kind == "function":
                    self._wrap_function(shortcut)
            if imports:
                self._wrap_imports(imports)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            self._undo.pop()()


# ---- as the grader's child reports them, and as the grader says them --------------------------


def as_record(uses: Iterable[Use]) -> dict[str, Any]:
    """The child's record of the uses it saw: plain data (the grader reads it back with from_records)."""
    return {
        "event": "shortcuts",
        "uses": [
            {
                "target": use.shortcut.target,
                "exercise": use.shortcut.exercise,
                "file": use.file,
                "line": use.line,
                "shown": use.shown,
            }
            for use in uses
        ],
    }


def from_records(data: bytes, known: Iterable[Shortcut], files: Iterable[str]) -> list[Use]:
    """The uses in every "shortcuts" record of a child's pipe (a submission may write forged ones
    too: they can only add uses). Untrusted: only a known shortcut in a watched file counts."""
    by_target = {(shortcut.exercise, shortcut.target): shortcut for shortcut in known}
    names = {Path(file).name for file in files}
    uses = []
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(record, dict) or record.get("event") != "shortcuts":
            continue
        items = record.get("uses")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            shortcut = by_target.get((item.get("exercise"), item.get("target")))  # type: ignore[arg-type]
            file, number, shown = item.get("file"), item.get("line"), item.get("shown")
            if shortcut and file in names and type(number) is int and isinstance(shown, str):
                uses.append(Use(shortcut, file, number, shown[:80]))
    return uses


def message(uses: Iterable[Use], exercise: str, folder: str | Path | None = None) -> str:
    """What the learner reads: the first use (file and line), what the exercise asks instead,
    and how many more there are. `folder`: where the files are, as the learner would type it."""
    from kata import COURSE
    from kata.core.paths import shown_path

    ordered = _first_per_shortcut(uses)
    if not ordered:
        return ""
    first = ordered[0]
    shortcut = first.shortcut
    where = f"{shown_path(Path(folder) / first.file) if folder else first.file}:{first.line}"
    module = first.file.removesuffix(".py")
    number = COURSE.index(module) + 1 if module in COURSE else COURSE.index(exercise) + 1
    verb = "imports" if shortcut.kind == "import" else "calls"
    if shortcut.kind == "import":
        why = f"exercise {number} {verb} {first.called} ({where}): {shortcut.instead}"
    elif shortcut.kind == "forward":
        why = (
            f"exercise {number} {verb} {first.called} ({where}), a Hugging Face model's forward: "
            f"{shortcut.instead}"
        )
    elif shortcut.exercise == module:
        what = "module" if shortcut.kind == "module" else "function"
        why = (
            f"exercise {number} {verb} {first.called} ({where}), the {what} this exercise asks you "
            f"to write; {shortcut.instead}"
        )
    else:
        what = "module" if shortcut.kind == "module" else "function"
        origin = COURSE.index(shortcut.exercise) + 1
        why = (
            f"exercise {number} {verb} {first.called} ({where}), the {what} exercise {origin} asks "
            f"you to write: use yours, from {shortcut.exercise}.py"
        )
    more = ordered[1:]
    if more:
        shown = ", ".join(f"{use.called} at {use.file}:{use.line}" for use in more[:3])
        why += f" (also {shown}{', ...' if len(more) > 3 else ''})"
    return why


class ShortcutTaken(Exception):
    """A learner's module took a shortcut: raised by its tests (kata/feedback/pytest_plugin.py), with message()'s words."""


def find(
    folder: str | Path, group: str, track: str = "torch", run: Callable[[], object] | None = None
) -> list[Use]:
    """The shortcuts the modules of `group` in `folder` take: in their source, and while `run()`
    (which runs them) runs, when given. What `run` raises is raised; the uses seen so far are lost."""
    files = watched(folder, group, track)
    uses = scan_files(files)
    if run is not None:
        with Watch(files) as watch:
            run()
        uses += watch.uses
    return _first_per_shortcut(uses)
