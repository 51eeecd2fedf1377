"""The course notebook (notebooks/kata.py, jupytext's percent format) and its paired .ipynb (maintainers).

    python -m kata.maintainer.notebooks                       # write notebooks/*.ipynb from notebooks/*.py
    python -m kata.maintainer.notebooks --check               # exit 1 if an .ipynb is out of date
    python -m kata.maintainer.notebooks --execute solutions   # run it top to bottom on solutions/ (CI)
    python -m kata.maintainer.notebooks --execute exercises   # ... and on the pristine stubs (CI)

The .py file is the one to edit (its diffs are readable); the .ipynb is generated from it,
without outputs, and committed, because that is what Jupyter and Colab open. --execute runs a
notebook with nbclient in a fresh kernel, offline, pointed at solutions/ or exercises/ through
KATA_NOTEBOOK_SUBMISSION (kata/feedback/notebook.py), and checks what each cell shows: on the
reference every check passes and the grade is all done; on the stubs each check says "not
implemented yet" and the next step, and no cell ends in a traceback.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from kata import REPO

NOTEBOOKS = REPO / "notebooks"
CELL_TIMEOUT = 600  # seconds for one cell: the grade cell grades every exercise

# What a cell that calls the kata must show, by what it calls and the implementation it runs on.
EXPECTED = {
    "solutions": {
        "kata.check(": ("tests pass",),
        "kata.attention(": ("<iframe",),
        "kata.search(": ("Bread stays fresh longer", "s-t"),
        "kata.grade(": ("All done",),
    },
    "exercises": {
        "kata.check(": ("not implemented yet", "Next step"),
        "kata.attention(": ("not finished yet",),
        "kata.search(": ("not finished yet",),
        "kata.grade(": ("not started",),
    },
}
FORBIDDEN = {"solutions": (" fail", "Traceback"), "exercises": ("Traceback",)}


def paired(source: Path) -> Path:
    return source.with_suffix(".ipynb")


def generated(source: Path) -> str:
    """The .ipynb text jupytext makes of `source`, without outputs."""
    import jupytext

    notebook = jupytext.read(source)
    for number, cell in enumerate(notebook.cells, 1):
        cell.id = f"cell-{number}"  # nbformat draws random ids: numbered, the file is the same each time
    return jupytext.writes(notebook, fmt="ipynb")


def sources() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.py"))


def out_of_date() -> list[Path]:
    """The .ipynb files that are missing or differ from their .py."""
    return [
        paired(source)
        for source in sources()
        if not paired(source).is_file() or paired(source).read_text() != generated(source)
    ]


def cell_text(cell: Any) -> str:
    """Everything a cell's outputs show, text and HTML."""
    shown = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            shown.append(f"Traceback: {output.get('ename')}: {output.get('evalue')}")
        shown.append(output.get("text", ""))
        for kind in ("text/html", "text/plain"):
            shown.append(output.get("data", {}).get(kind, ""))
    return "\n".join(part if isinstance(part, str) else "".join(part) for part in shown)


def execute(source: Path, on: str) -> list[str]:
    """Run `source` top to bottom on solutions/ or exercises/; the problems found, one a line."""
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = jupytext.read(source)
    os.environ["KATA_NOTEBOOK_SUBMISSION"] = "solutions" if on == "solutions" else ""
    os.environ["HF_HUB_OFFLINE"] = "1"
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
    )
    problems = []
    try:
        client.execute()
    except CellExecutionError as error:
        problems.append(f"a cell raised: {str(error).splitlines()[-1] if str(error) else error}")
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type != "code":
            continue
        shown = cell_text(cell)
        calls = [call for call in EXPECTED[on] if call in cell.source]
        for call in calls:
            missing = [text for text in EXPECTED[on][call] if text not in shown]
            if missing:
                problems.append(
                    f"cell {number} ({call}...): does not show {missing}; it shows:\n{shown[-1500:]}"
                )
            wrong = [
                text
                for text in FORBIDDEN[on]
                if text in shown and (text == "Traceback" or call == "kata.check(")
            ]
            if wrong:
                problems.append(f"cell {number} ({call}...): shows {wrong}:\n{shown[-1500:]}")
        print(f"  cell {number:>2} {cell.source.splitlines()[-1][:70]!r}: {len(shown)} characters shown")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kata.maintainer.notebooks", description=__doc__.split("\n\n")[0]
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--check", action="store_true", help="exit 1 if an .ipynb is out of date with its .py"
    )
    action.add_argument(
        "--execute", choices=("solutions", "exercises"), help="run every notebook on that folder"
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = out_of_date()
        if stale:
            names = ", ".join(str(path.relative_to(REPO)) for path in stale)
            print(f"{names} out of date with the .py: run `python -m kata.maintainer.notebooks`")
            return 1
        print("notebooks/*.ipynb are up to date with notebooks/*.py")
        return 0
    if args.execute:
        failed = False
        for source in sources():
            start = time.monotonic()
            print(f"{source.relative_to(REPO)} on {args.execute}/:")
            problems = execute(source, args.execute)
            print(f"  ran in {time.monotonic() - start:.0f} s" + (": OK" if not problems else ""))
            for problem in problems:
                print(f"  FAIL: {problem}")
            failed = failed or bool(problems)
        return 1 if failed else 0
    for source in sources():
        paired(source).write_text(generated(source))
        print(f"wrote {paired(source).relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
