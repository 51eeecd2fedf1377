"""Generate the learner's stubs in exercises/ from the reference code in solutions/.

In a solution, the code a learner writes sits between `# BEGIN SOLUTION` and
`# END SOLUTION` lines (as in nbgrader). A stub is the solution with each such region
replaced by one `raise NotImplementedError(...)` naming the exercise and the function;
signatures, docstrings and everything outside the regions stay as they are.

    kata stubs          # rewrite exercises/ from solutions/
    kata stubs --check  # exit 1 if exercises/ is out of date

Both tracks: exercises/*.py from solutions/*.py, and exercises/numpy/*.py from
solutions/numpy/*.py. Names below are paths relative to exercises/ and solutions/.
"""

import argparse
import re

from kata import COURSE, EXERCISES, SOLUTIONS, TRACKS, track_folder
from kata.core.exits import EXIT_NOT_YET, EXIT_OK

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
# It names the command's old name (now `kata stubs`): every file in exercises/ holds this text,
# so it changes together with them, when exercises/ is next regenerated.
HEADER = (
    "# Generated from solutions/{name} by `kata stubs`. This file is yours:\n"
    "# replace every `raise NotImplementedError` with your code, then run\n"
    "# `pytest {test}` to check it.\n"
)
TRACK_OPTIONS = {"torch": "", "numpy": " --track numpy"}  # how pytest is told the track
_DEFINITION = re.compile(r"^(\s*)(?:def|class)\s+(\w+)")


def make_stub(source: str, filename: str, track: str = "torch") -> str:
    """The stub for one solution file's source text (`filename` relative to solutions/, e.g. numpy/attention.py)."""
    module = filename.rsplit("/", 1)[-1].removesuffix(".py")
    lines = source.splitlines(keepends=True)
    stub, region_start = [], None
    for number, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if region_start is not None:
                raise ValueError(f"{filename}:{number + 1}: {BEGIN} inside another region")
            region_start = number
        elif marker == END:
            if region_start is None:
                raise ValueError(f"{filename}:{number + 1}: {END} without {BEGIN}")
            indent = line[: len(line) - len(line.lstrip())]
            where = _enclosing_name(lines, region_start)
            exercise = f"exercise {COURSE.index(module) + 1}" if module in COURSE else "kata"
            message = f"{exercise}, {module}.py: write {where}"
            stub.append(f'{indent}raise NotImplementedError("{message}")\n')
            region_start = None
        elif region_start is None:
            stub.append(line)
    if region_start is not None:
        raise ValueError(f"{filename}:{region_start + 1}: {BEGIN} is never closed")
    if stub == lines:  # no regions: nothing for the learner to write here
        return source
    test = f"tests/test_{module}.py{TRACK_OPTIONS[track]}"
    return HEADER.format(name=filename, test=test) + "".join(stub)


def _enclosing_name(lines, number):
    """'Class.method' or 'function' for the region that starts at line `number`."""
    names, indent = [], len(lines[number]) - len(lines[number].lstrip())
    for line in reversed(lines[:number]):
        match = _DEFINITION.match(line)
        if match and len(match.group(1)) < indent:
            names.append(match.group(2))
            indent = len(match.group(1))
    return ".".join(reversed(names)) or "this part"


def expected_stubs() -> dict[str, str]:
    """{name: stub text} for every .py file of solutions/ and solutions/numpy/."""
    stubs = {}
    for track in TRACKS:
        for path in sorted(track_folder(SOLUTIONS, track).glob("*.py")):
            name = path.relative_to(SOLUTIONS).as_posix()
            stubs[name] = make_stub(path.read_text(), name, track)
    return stubs


def out_of_date() -> list[str]:
    """Names of files in exercises/ that differ from what the generator makes (or are missing/extra)."""
    expected = expected_stubs()
    present = {
        path.relative_to(EXERCISES).as_posix()
        for track in TRACKS
        for path in track_folder(EXERCISES, track).glob("*.py")
    }
    stale = [
        name
        for name, text in expected.items()
        if not (EXERCISES / name).is_file() or (EXERCISES / name).read_text() != text
    ]
    return sorted(stale + sorted(present - set(expected)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="only check that exercises/ is up to date")


def run(args: argparse.Namespace) -> int:
    """Rewrite exercises/ from solutions/ (with --check: EXIT_NOT_YET when it is out of date)."""
    stale = out_of_date()
    if args.check:
        # The catalogue quotes solutions/ too: a snippet edited away is a stale entry (text only: fast).
        from kata.core.mistakes import stale_entries
        from kata.course import catalogue

        entries = stale_entries(catalogue())
        for problem in entries:
            print(f"stale catalogue entry: {problem}")
        if stale:
            print(f"exercises/ is out of date with solutions/: {', '.join(stale)}; run `kata stubs`")
        if stale or entries:
            return EXIT_NOT_YET
        print("exercises/ is up to date with solutions/, and every known mistake still applies to it")
        return EXIT_OK
    for name, text in expected_stubs().items():
        (EXERCISES / name).parent.mkdir(parents=True, exist_ok=True)
        (EXERCISES / name).write_text(text)
    for name in stale:
        if not (SOLUTIONS / name).exists():
            (EXERCISES / name).unlink()
    print(
        f"wrote {len(expected_stubs())} files to exercises/"
        + (f" (changed: {', '.join(stale)})" if stale else "")
    )
    return EXIT_OK
