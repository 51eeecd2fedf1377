"""Write the answer-free student handout, and prove that it holds no solution code.

    kata handout OUT            write a student repository into OUT (a new or empty folder)
    kata handout --check OUT    exit 1 when a file of OUT holds a line of a solution region

The handout is a repository ready to push as a template (GitHub Classroom, a course's Git
server): exercises/ (both tracks), tests/, grader.py, the kata's support package without its
maintainer tools (kata/maintainer/ keeps only this file, for `kata handout --check .`), a
README for students, LICENSE, pyproject.toml, its own CI and a GitHub Classroom autograding
workflow. Where the tests and the grader use the reference, the handout has the reference's
recorded outputs and a foundation written with library calls (kata/maintainer/handout_record.py,
kata/core/recorded.py). It holds no solutions/, no known mistake's find/replace text (the catalogue's names
and descriptions stay), no maintainer tests or adversarial fixtures, no notebooks, no history,
and nothing named hidden_* (the Gradescope zip's hidden tests).

The leak rule (leaks()): every line of a `# BEGIN SOLUTION` / `# END SOLUTION` region of
solutions/ and solutions/numpy/ is normalised (a trailing comment dropped, whitespace
collapsed); comment-only lines, lines that also occur in a stub of exercises/ (the learner
is given those), and lines shorter than MIN_LINE characters are left out. No such line may
occur in any text file of OUT: as a normalised line, or as a line of a string literal on a
line (a catalogue entry quotes solution lines in strings). Data files (recordings) hold
tensors and names only: a recording holding any string that contains such a line is a leak too.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from kata import COURSE, EXERCISES, REPO, SOLUTIONS, TRACKS, track_folder
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_NOT_YET, EXIT_OK

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
# Below 20 characters a line is glue that any correct code, the stubs' own signatures and the
# tests' oracles write alike (`return out, weights`, `self.eps = eps`, `d = q.shape[-1]`,
# `if mask is not None:` is 20); the lines that carry an answer (a formula, a mapping, a
# reshape with its axes) are longer.
MIN_LINE = 20
# Solution lines a handout may hold, by digest (this file is in the handout), each with its reason:
# the tests' own oracle of BERT's weight names (written out on purpose in tests/test_encoder.py:
# "the tests must not trust the learner's hf_weight_names"; every learner of the full kata has
# these tests too), and glue the support code and the tests write independently of the reference.
ALLOWED = {  # path in OUT -> {sha256 of the normalised line, first 16 digits: what it is}
    "tests/test_encoder.py": {
        "567b1cb6a4e61dde": "the tests' oracle of BERT's weight names",
        "ac782ad24da401fc": "the tests' oracle of BERT's weight names",
        "e8042389322a1bbc": "the tests' oracle of BERT's weight names",
        "83aae98be885a586": "the tests' oracle of BERT's weight names",
        "45d4e5164108791d": "the tests' oracle of BERT's weight names",
        "9235af9f367cb9d7": "the tests' oracle of BERT's weight names",
        "3f6292abc1d41511": "the tests' oracle of BERT's weight names",
        "ea8651fbf32b0da1": "the tests' oracle of BERT's weight names",
        "8e11ebcd8ce8e026": "a loop head of the tests' own weight copy",
    },
    "tests/test_positional.py": {
        "8e46a1dbacf9179d": "the tests' own oracle of the embeddings",
    },
    "kata/course/encoder.py": {
        "69d6a53aff6c589c": "a loop head of the check's hints",
    },
}
TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".json", ".yml", ".yaml", ".cfg", ".html", ".js", ".css", ""}
# What of the repository goes into the handout, as it is (kata/ is filtered: copy_support).
COPIED = ("exercises", "tests", "grader.py", "LICENSE", "docs/reading-attention.md")
# Never in a handout: names (any path part) and folders of kata/.
EXCLUDED_NAMES = re.compile(r"^(hidden_.*|__pycache__|.*\.pyc|.*\.egg-info|\.pytest_cache)$")
MAINTAINER_KEPT = ("__init__.py", "handout.py")  # kata/maintainer/: only what `kata handout --check` needs
SPEC = "handout.json"  # in OUT: what it was built from (the kata's version; the stubs' names)


# ---- the leak rule -------------------------------------------------------------------------

_TRAILING_COMMENT = re.compile(r"\s+#[^\"']*$")
_STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'")


def _digest(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()[:16]


def normalise(line: str) -> str:
    """`line` without its trailing comment (one holding no quote), whitespace collapsed; '' for a comment line."""
    text = line.strip()
    if text.startswith("#"):
        return ""
    return " ".join(_TRAILING_COMMENT.sub("", text).split())


def _region_lines(source: str) -> Iterator[tuple[int, str]]:
    inside = False
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            yield number, line


def solution_lines(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES) -> dict[str, str]:
    """{normalised line: 'solutions/attention.py:42'} for every solution-region line the leak rule
    looks for (not a stub line, at least MIN_LINE characters)."""
    given = {
        normalise(line)
        for track in TRACKS
        for path in track_folder(exercises, track).glob("*.py")
        for line in path.read_text().splitlines()
    }
    found: dict[str, str] = {}
    for track in TRACKS:
        for path in sorted(track_folder(solutions, track).glob("*.py")):
            for number, line in _region_lines(path.read_text()):
                text = normalise(line)
                if len(text) >= MIN_LINE and text not in given:
                    found.setdefault(text, f"{path.relative_to(solutions.parent)}:{number}")
    return found


def _pieces(line: str) -> Iterator[str]:
    """What of one line of a text file is compared: the line, and each line of each string literal on it."""
    yield normalise(line)
    for match in _STRING.finditer(line):
        literal = match.group(1) if match.group(1) is not None else match.group(2)
        for part in re.split(r"\\n", literal):
            yield normalise(part.replace('\\"', '"').replace("\\'", "'").replace("\\\\", "\\"))


def _data_strings(path: Path) -> Iterator[str]:
    """Every string a data file (a torch recording) holds: its keys and values, nested."""
    import torch

    def walk(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(key)
                yield from walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from walk(item)

    yield from walk(torch.load(path, weights_only=True))


def kata_track_dir(track: str) -> str:
    """exercises/'s sub-folder of `track` ('' or 'numpy')."""
    return TRACKS[track]


def files_of(out: Path) -> Iterator[Path]:
    for path in sorted(out.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(out).parts:
            yield path


def leaks(out: Path, lines: dict[str, str] | None = None) -> list[str]:
    """'OUT-relative-path:line: the line (from solutions/x.py:n)' for every solution line in a file of `out`."""
    lines = solution_lines() if lines is None else lines
    found = []
    for path in files_of(out):
        name = path.relative_to(out)
        if path.suffix == ".pt":
            for text in _data_strings(path):
                for part in text.splitlines():
                    if normalise(part) in lines:
                        found.append(f"{name}: holds {normalise(part)!r} (from {lines[normalise(part)]})")
            continue
        if path.suffix not in TEXT_SUFFIXES:
            found.append(f"{name}: a file the leak check cannot read (only text files and .pt recordings)")
            continue
        allowed = ALLOWED.get(name.as_posix(), {})
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for piece in _pieces(line):
                if piece in lines and _digest(piece) not in allowed:
                    found.append(f"{name}:{number}: {piece!r} (from {lines[piece]})")
                    break
    return found


def structure_problems(out: Path) -> list[str]:
    """What may never be in a handout whatever its lines: a solutions/ folder, maintainer tests,
    maintainer tools, the catalogue's edits, hidden tests, history. Needs no solutions/: the
    handout's own CI runs it (`kata handout --check .` in the handout)."""
    problems = []
    for forbidden in ("solutions", "maintainer_tests", "notebooks", ".ci", ".git"):
        if (out / forbidden).exists():
            problems.append(f"{forbidden}/ is in the handout")
    tools = out / "kata" / "maintainer"
    for path in sorted(tools.glob("*")) if tools.is_dir() else ():
        if path.name not in MAINTAINER_KEPT:
            problems.append(f"kata/maintainer/{path.name} is in the handout (maintainers' tools stay out)")
    for path in files_of(out):
        if any(EXCLUDED_NAMES.match(part) for part in path.relative_to(out).parts):
            problems.append(f"{path.relative_to(out)} is in the handout (hidden tests, caches stay out)")
    for path in sorted((out / "kata" / "course").glob("*.py")):
        for call in _mistake_calls(path.read_text()):
            for node in _edit_arguments(call):
                if not (isinstance(node, ast.Constant) and node.value == ""):
                    problems.append(f"kata/course/{path.name}:{node.lineno}: a known mistake keeps its edit")
    return problems


# ---- building the handout ------------------------------------------------------------------


def _mistake_calls(source: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Mistake"
    ]


def _edit_arguments(call: ast.Call) -> list[ast.expr]:
    """A Mistake(...) call's find and replace arguments (positional 4th and 5th, or by keyword)."""
    found = list(call.args[3:5])
    found += [keyword.value for keyword in call.keywords if keyword.arg in ("find", "replace")]
    return found


def without_edits(source: str) -> str:
    """A course module's source with every known mistake's find and replace text made "": the
    names and descriptions stay (the diagnosis's words), the solution's snippets go."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode()))
    encoded = source.encode()
    spans = []
    for call in _mistake_calls(source):
        for node in _edit_arguments(call):
            assert node.end_lineno is not None and node.end_col_offset is not None
            start = starts[node.lineno - 1] + node.col_offset
            end = starts[node.end_lineno - 1] + node.end_col_offset
            spans.append((start, end))
    for start, end in sorted(spans, reverse=True):
        encoded = encoded[:start] + b'""' + encoded[end:]
    return encoded.decode()


def _ignored(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if EXCLUDED_NAMES.match(name)}


def copy_support(out: Path) -> None:
    """kata/ into out/kata/: without kata/maintainer/ (but this file), the catalogue without its edits."""
    shutil.copytree(REPO / "kata", out / "kata", ignore=_ignored)
    tools = out / "kata" / "maintainer"
    for path in tools.iterdir():
        if path.name not in MAINTAINER_KEPT:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in (out / "kata" / "course").glob("*.py"):
        path.write_text(without_edits(path.read_text()))


def build(out: Path) -> None:
    """Write the handout into `out` (which must not exist, or be an empty folder)."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: give a new folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source, target = REPO / name, out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=_ignored)
        else:
            shutil.copyfile(source, target)
    copy_support(out)
    from kata.maintainer import handout_files

    for name, text in handout_files.files().items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    from kata.maintainer import handout_record

    handout_record.record(out)  # the foundation and the recording (kata/core/recorded.py)
    stubs = {
        f"{track}/{path.name}": path.read_text()
        for track in TRACKS
        for path in sorted(track_folder(EXERCISES, track).glob("*.py"))
    }
    spec = {
        "kata": _version(),
        "stubs": {name: hashlib.sha256(text.encode()).hexdigest() for name, text in stubs.items()},
    }
    (out / "kata" / SPEC).write_text(json.dumps(spec, indent=1) + "\n")


def _version() -> str:
    import kata

    return kata.__version__


# ---- the pristine stubs: the handout's CI and .ci/run read pytest's junit report -------------


def stub_verdict(junit: Path, folder: Path = EXERCISES, track: str = "torch") -> tuple[bool, list[str]]:
    """(fine, lines) from a pytest junit report of the handout's tests: each exercise whose file is
    still its pristine stub must fail every test with a clean "not implemented yet"; an exercise
    the learner has written must pass. For the handout's own CI (and .ci/run on the stubs)."""
    import xml.etree.ElementTree as ET

    spec_file = Path(folder).resolve().parent / "kata" / SPEC
    spec = json.loads(spec_file.read_text()) if spec_file.is_file() else {"stubs": {}}
    lines, fine = [], True
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    for name in COURSE:
        mine = [case for case in cases if (case.get("classname") or "").endswith(f"test_{name}")]
        if not mine:
            continue
        path = track_folder(Path(folder), track) / f"{name}.py"
        pristine = (
            path.is_file()
            and spec["stubs"].get(f"{track}/{name}.py") == hashlib.sha256(path.read_bytes()).hexdigest()
        )
        failures = [
            (outcome.get("message") or "").removeprefix('failed on setup with "')
            for case in mine
            for outcome in case
            if outcome.tag in ("failure", "error")
        ]
        skipped = sum(1 for case in mine for outcome in case if outcome.tag == "skipped")
        if pristine:
            expected = f"not implemented yet: {Path('exercises', kata_track_dir(track)).as_posix()}/"
            unclean = [text for text in failures if not text.startswith(expected)]
            ok = len(failures) == len(mine) - skipped and not unclean
            lines.append(
                f"{name}: a pristine stub, {len(failures)} of {len(mine)} tests fail"
                + (" cleanly" if ok else f"; not cleanly: {[text[:160] for text in unclean[:3]]}")
            )
        else:
            ok = not failures
            lines.append(f"{name}: written, {len(mine) - len(failures) - skipped} of {len(mine)} tests pass")
        fine = fine and ok
    return fine, lines


# ---- the command ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="OUT", type=Path, help="the folder to write the handout into")
    parser.add_argument(
        "--check",
        action="store_true",
        help="check OUT instead: no solution line in any file (needs solutions/), nothing a handout may not hold",
    )
    parser.add_argument(
        "--stub-verdict",
        metavar="JUNIT",
        type=Path,
        help="with --check: also read pytest's junit report of OUT's tests (pristine stubs fail cleanly, written exercises pass)",
    )
    parser.add_argument(
        "--track", choices=TRACKS, default="torch", help="with --stub-verdict: the track the tests ran on"
    )


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if not args.check:
        try:
            build(out)
        except FileExistsError as error:
            print(error, file=sys.stderr)
            return EXIT_CANNOT_RUN
        print(f"wrote the handout into {out} ({sum(1 for _ in files_of(out))} files)")
        print(f"check it with: kata handout --check {out}")
        return EXIT_OK
    if not out.is_dir():
        print(f"{out} is not a folder", file=sys.stderr)
        return EXIT_CANNOT_RUN
    problems = structure_problems(out)
    if SOLUTIONS.is_dir() and SOLUTIONS.resolve() != (out / "solutions").resolve():
        lines = solution_lines()
        problems += leaks(out, lines)
        print(f"leak check: {len(lines)} solution lines of {MIN_LINE}+ characters looked for in {out}")
    else:
        print("leak check: no solutions/ here (a handout), so only what a handout may not hold is checked")
    if args.stub_verdict is not None:
        fine, said = stub_verdict(args.stub_verdict, out / "exercises", args.track)
        print(*said, sep="\n")
        if not fine:
            problems.append(
                "the tests do not fail cleanly on the pristine stubs, or a written exercise fails"
            )
    for problem in problems:
        print(f"  {problem}")
    print(f"{len(problems)} problem{'' if len(problems) == 1 else 's'} in {out}")
    return EXIT_NOT_YET if problems else EXIT_OK
