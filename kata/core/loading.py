"""Load an implementation of the kata (exercises/, solutions/ or any folder) by path.

Each load gets a package name of its own, so several implementations live side by side
in one process: the learner's, the reference, a known-wrong variant. The modules'
relative imports (`from .attention import ...`) resolve inside that package, which is
how one exercise is tested on top of the reference versions of the modules before it.
"""

import hashlib
import importlib.util
import sys
import types
from pathlib import Path

from .. import COURSE, SOLUTIONS
from ..course import CAPSTONE_OF


class ExerciseImportError(Exception):
    """A module of the implementation under test could not be imported."""

    def __init__(self, path: str | Path, error: BaseException) -> None:
        self.path = Path(path)
        self.error = error
        detail = f"{type(error).__name__}: {error}"
        if isinstance(error, SyntaxError) and error.lineno:
            detail = f"SyntaxError on line {error.lineno}: {error.msg}"
        super().__init__(f"{self.path} could not be imported: {detail}")


_loaded: dict[tuple[str, Path, Path], types.ModuleType] = {}


def load(module: str, folder: str | Path, reference: str | Path = SOLUTIONS) -> types.ModuleType:
    """Return `module` loaded from `folder`, with the modules before it in the course from `reference`.

    `load("multi_head", learner_dir)` gives the learner's multi_head.py whose
    `from .attention import ...` gets the reference attention. With
    `reference=folder` every module comes from `folder` (the learner's whole stack).
    """
    folder, reference = Path(folder).resolve(), Path(reference).resolve()
    key = (module, folder, reference)
    if key not in _loaded:
        digest = hashlib.sha1(repr(key).encode()).hexdigest()[:12]
        package_name = f"_kata_{module}_{digest}"
        package = types.ModuleType(package_name)
        package.__path__ = []  # a package, but every submodule is placed by hand below
        sys.modules[package_name] = package
        for name in COURSE[: COURSE.index(module) + 1]:
            # A handout's foundation has no encoder (kata/core/recorded.py): exercise 7 runs on the learner's.
            earlier = reference if (reference / f"{name}.py").is_file() else folder
            source = (folder if name == module else earlier) / f"{name}.py"
            setattr(package, name, _exec_module(f"{package_name}.{name}", source))
        _loaded[key] = getattr(package, module)
    return _loaded[key]


def origin(module: object) -> tuple[str, Path, Path] | None:
    """(module name, folder, reference folder) that `load` loaded `module` from, or None."""
    for key, loaded in _loaded.items():
        if loaded is module:
            return key
    return None


def load_stack(folder: str | Path, module: str = CAPSTONE_OF) -> types.ModuleType:
    """The whole encoder stack from `folder` alone (every module its own): the encoder, or with
    `module` another exercise and every module before it (load_stack(folder, "embeddings"))."""
    return load(module, folder, reference=folder)


class _KataModule(types.ModuleType):
    """A loaded module whose repr names no folder: hypothesis prints its tests' arguments,
    and a learner should not be shown the way to solutions/."""

    def __repr__(self) -> str:
        return f"<module {self.__name__.rsplit('.', 1)[-1]}>"


def _exec_module(qualified_name: str, source: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(qualified_name, source)
    assert spec is not None and spec.loader is not None  # a .py file always has both
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _KataModule
    sys.modules[qualified_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[qualified_name]
        raise ExerciseImportError(source, error) from error
    return module
