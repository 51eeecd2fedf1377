"""Every public function of the support package has type hints; mypy checks they hold.

mypy (pyproject.toml, [tool.mypy]; run by .ci/run) checks every body, but can only demand
hints on all functions or none. Private helpers (a leading underscore) and functions inside
functions may go without; a public function or method needs a hint on each parameter
(self and cls aside) and on what it returns.
"""

import ast

import pytest

from kata import REPO

pytestmark = pytest.mark.maintainer  # checks the repository itself

PACKAGE = REPO / "kata"


def unhinted(tree):
    """(line, qualified name, what lacks a hint) for each public function and method of `tree`."""
    found = []

    def visit(body, prefix, in_class):
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith(
                "_"
            ):  # a private class's methods are private
                visit(node.body, f"{prefix}{node.name}.", True)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
                arguments = node.args
                parameters = [*arguments.posonlyargs, *arguments.args]
                static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
                if in_class and not static and parameters:
                    parameters = parameters[1:]  # self, or cls
                parameters += arguments.kwonlyargs + [a for a in (arguments.vararg, arguments.kwarg) if a]
                missing = [parameter.arg for parameter in parameters if parameter.annotation is None]
                missing += ["its result"] if node.returns is None else []
                if missing:
                    found.append((node.lineno, prefix + node.name, missing))

    visit(tree.body, "", False)
    return found


def test_every_public_function_of_the_support_package_has_type_hints():
    problems = [
        f"{path.relative_to(REPO).as_posix()}:{line} {name}: no hint on {', '.join(missing)}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name, missing in unhinted(ast.parse(path.read_text(), str(path)))
    ]
    assert not problems, "public functions without type hints:\n  " + "\n  ".join(problems)


def test_the_check_finds_what_lacks_a_hint():
    source = (
        "def typed(a: int, *args: str, b: float = 1, **kw: object) -> None: ...\n"
        "def untyped(a, b: int): ...\n"
        "def _private(a): ...\n"
        "def outer() -> None:\n"
        "    def inner(x): ...\n"
        "class C:\n"
        "    def method(self, x) -> int: ...\n"
        "    @staticmethod\n"
        "    def static(x: int): ...\n"
        "    @classmethod\n"
        "    def build(cls) -> 'C': ...\n"
        "    def __repr__(self): ...\n"
        "class _Private:\n"
        "    def method(self, x): ...\n"
    )
    assert unhinted(ast.parse(source)) == [
        (2, "untyped", ["a", "its result"]),
        (7, "C.method", ["x"]),
        (9, "C.static", ["its result"]),
    ]
