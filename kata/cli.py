"""The `kata` command (also `python -m kata`): every tool of the kata as one sub-command.

    kata grade                   grade exercises/ (python grader.py does the same)
    kata merge DIR... --out DIR  (instructors) join a class graded in shards (--shard K/N)
    kata watch                   grade the exercise you work on each time you save
    kata hint attention          show the next hint for an exercise
    kata diverge "A sentence."   where your encoder's numbers part from BERT's, stage by stage
    kata view "A sentence."      draw your encoder's attention next to BertModel's
    kata search "A query."       rank the lines of a file by meaning with your own encoder
    kata stubs [--check]         (maintainers) regenerate exercises/ from solutions/
    kata bench [--quick]         (maintainers) how fast the kata is
    kata handout OUT [--check]   (instructors) write the answer-free student handout

`kata COMMAND --help` lists a command's options. Each command is implemented by one module,
which declares its options in add_arguments(parser) and does the work in run(args),
returning the exit code (kata/core/exits.py). Only the module of the command being run is
imported, so `kata grade` and `kata hint` do not wait for torch or matplotlib to load.
"""

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import kata


@dataclass(frozen=True)
class Command:
    module: str  # defines add_arguments(parser) and run(args) -> exit code
    summary: str  # one line in `kata --help`


COMMANDS = {
    "grade": Command(
        "kata.grader.command", "grade exercises/ (or --solutions, --submission DIR, --class DIR)"
    ),
    "merge": Command(
        "kata.grader.merge", "(instructors) join the results of a class graded in shards into one summary.csv"
    ),
    "watch": Command("kata.feedback.watch", "grade the exercise you work on each time you save"),
    "hint": Command("kata.feedback.hints", "show the next hint for an exercise"),
    "diverge": Command(
        "kata.feedback.diverge", "where your encoder's numbers part from BERT's, stage by stage"
    ),
    "view": Command("kata.views.attention_view", "draw your encoder's attention next to BertModel's"),
    "search": Command("kata.views.search", "rank a file's lines by meaning with your encoder (exercise 7)"),
    "stubs": Command("kata.maintainer.stubs", "(maintainers) regenerate exercises/ from solutions/"),
    "bench": Command(
        "kata.maintainer.bench", "(maintainers) time the reference encoder and the feedback loop"
    ),
    "handout": Command(
        "kata.maintainer.handout", "(instructors) write the answer-free student handout, or --check one"
    ),
}
# A student handout (kata handout OUT) ships no maintainers' tools but kata/maintainer/handout.py:
# the commands whose module it lacks are not offered there.
COMMANDS = {
    name: command
    for name, command in COMMANDS.items()
    if (Path(__file__).parent.parent / f"{command.module.replace('.', '/')}.py").is_file()
}


class UsageError(Exception):
    """Raised by a command's run(args) for options argparse alone cannot check: reported as
    argparse reports its own errors (the usage, the message, exit code 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    """`kata COMMAND ...`: run the command, return its exit code (argparse exits 2 on a usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="kata",
        description="\n\n".join(__doc__.split("\n\n")[:2]),  # what it is, and its commands
        epilog="`kata COMMAND --help` lists the options of COMMAND.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {kata.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # The command's name is the first word that is not an option (`kata` itself has no option
    # that takes a value): only that command's module is imported.
    asked = next((word for word in argv if not word.startswith("-")), None)
    chosen = parser
    for name, command in COMMANDS.items():
        sub = commands.add_parser(
            name, help=command.summary, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        if name == asked:
            declare(sub, name)
            chosen = sub
    return run(chosen, parser.parse_args(argv))


def command_parser(name: str, prog: str) -> argparse.ArgumentParser:
    """The parser of one command on its own, called `prog` in its usage (grader.py's modes)."""
    parser = argparse.ArgumentParser(prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter)
    declare(parser, name)
    return parser


def declare(parser: argparse.ArgumentParser, name: str) -> None:
    """Give `parser` the options of command `name`, declared by its module, and its run()."""
    module = importlib.import_module(COMMANDS[name].module)
    parser.description = (module.__doc__ or COMMANDS[name].summary).split("\n\n")[0]
    module.add_arguments(parser)
    parser.set_defaults(run=module.run)


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """args.run(args), with a UsageError reported by `parser` (exit code 2)."""
    try:
        return args.run(args)
    except UsageError as error:
        parser.error(str(error))  # exits with EXIT_CANNOT_RUN, as argparse does


# ---- option types shared by the commands: argparse reports a bad value as a usage error ----


def source_options(parser: argparse.ArgumentParser, verb: str) -> argparse._MutuallyExclusiveGroup:
    """--solutions | --submission DIR: which modules to `verb` instead of exercises/ (the group, to add more)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--solutions", action="store_true", help=f"{verb} solutions/ instead of exercises/")
    source.add_argument(
        "--submission",
        metavar="DIR",
        type=existing_folder,
        help=f"{verb} the modules in DIR instead of exercises/",
    )
    return source


def timeout_option(parser: argparse.ArgumentParser, default: float) -> None:
    """--timeout SECONDS: how long each exercise's child may run."""
    parser.add_argument(
        "--timeout",
        type=float,
        default=default,
        metavar="SECONDS",
        help="seconds per exercise (default %(default)g)",
    )


def exercises_folder(track: str = "torch") -> Path:
    """The exercises/ a command uses when told no folder: the installed kata's. From inside another
    checkout of the kata (a second clone, a handout) that is not ./exercises, so say so, once."""
    from kata.core.paths import shown_path

    folder = kata.track_folder(kata.EXERCISES, track)
    here = kata.track_folder(Path.cwd() / "exercises", track)
    if (here / "attention.py").is_file() and here.resolve() != folder.resolve():
        print(
            f"note: the kata installed from {kata.REPO} uses its {shown_path(folder)}/, not ./{here.relative_to(Path.cwd())}/; "
            "to use this folder's, add --submission exercises (or run python -m kata here)",
            file=sys.stderr,
        )
    return folder


def existing_folder(text: str) -> Path:
    """A folder that exists (--submission DIR, --class DIR)."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return path


def file_to_write(example: str) -> Callable[[str], Path]:
    """The type of an option naming a file to write (--json results.json): anything but a folder."""

    def file(text: str) -> Path:
        path = Path(text)
        if path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{text} is a folder; give the file to write, e.g. {path / example}"
            )
        return path

    return file
