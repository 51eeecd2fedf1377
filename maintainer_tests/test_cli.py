"""The command line: `kata COMMAND` (python -m kata) and grader.py, its first name.

Help is asked of fresh processes, as a learner would; usage errors are made in this process
(argparse exits before anything runs). Nothing is graded.
"""

import os
import re
import subprocess
import sys

import pytest

import grader
from kata import REPO, cli
from kata.cli import COMMANDS
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_OK

pytestmark = pytest.mark.maintainer  # checks the kata's own tool, not the learner's code

# Every option grader.py's docstring and the README document, and a --help must show.
GRADER_OPTIONS = (
    "--solutions",
    "--submission",
    "--only",
    "--json",
    "--track",
    "--watch",
    "--hint",
    "--class",
    "--out",
    "--gradescope-zip",
    "--timeout",
)


def run(*arguments, cwd=REPO):
    """(exit code, stdout, stderr) of `python ARGUMENTS` in a fresh process, in `cwd`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, *map(str, arguments)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


def words(value):
    """A test id: the command line's words."""
    return " ".join(value) if isinstance(value, tuple) else None


def test_kata_help_lists_every_command():
    code, out, err = run("-m", "kata", "--help")
    assert code == EXIT_OK, err
    missing = [name for name in COMMANDS if not re.search(rf"^\s+{name}\s", out, re.MULTILINE)]
    assert not missing, f"`kata --help` does not list {missing}:\n{out}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_its_help(command):
    code, out, err = run("-m", "kata", command, "--help")
    assert code == EXIT_OK, f"`kata {command} --help` exited {code}:\n{err}"
    assert out.startswith(f"usage: kata {command}"), out


def test_grader_help_lists_every_documented_option():
    code, out, err = run(REPO / "grader.py", "--help")
    assert code == EXIT_OK, err
    missing = [option for option in GRADER_OPTIONS if option not in out]
    assert not missing, f"`python grader.py --help` does not mention {missing}:\n{out}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--out", "results"), "--class DIR and --out DIR go together"),
        (("--class", "learners"), "--class DIR and --out DIR go together"),
        (("--json", "learners"), "learners is a folder; give the file to write"),
        (("--only", "nosuch"), "invalid choice: 'nosuch'"),
        (("--submission", "nowhere"), "nowhere is not a folder"),
        (("--solutions", "--submission", "learners"), "not allowed with argument --solutions"),
        (("--watch", "--class", "learners"), "unrecognized arguments: --class"),
        (("--watch", "--track", "numpy"), "invalid choice: 'numpy'"),
        (("--hint", "attentoin"), "invalid choice: 'attentoin'"),
    ],
    ids=words,
)
def test_grader_usage_errors_exit_2_with_a_message(tmp_path, monkeypatch, capsys, arguments, message):
    expect_usage_error(grader.main, arguments, message, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("grade", "--out", "results"), "--class DIR and --out DIR go together"),
        (("grade", "--json", "learners"), "learners is a folder"),
        (("hint",), "the following arguments are required: NAME"),
        (("view", "text", "--pad", "-1"), "a number of padding tokens, 0 or more"),
        (("diverge", "text", "--submission", "nowhere"), "nowhere is not a folder"),
        (("nosuch",), "invalid choice: 'nosuch'"),
        ((), "the following arguments are required: COMMAND"),
    ],
    ids=words,
)
def test_kata_usage_errors_exit_2_with_a_message(tmp_path, monkeypatch, capsys, arguments, message):
    expect_usage_error(cli.main, arguments, message, tmp_path, monkeypatch, capsys)


def expect_usage_error(main, arguments, message, folder, monkeypatch, capsys):
    """main(arguments), run in `folder` (which holds an empty learners/), exits 2 with usage and `message`."""
    (folder / "learners").mkdir()
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as exit_:
        main(list(arguments))
    err = capsys.readouterr().err
    assert exit_.value.code == EXIT_CANNOT_RUN and "usage:" in err and message in err, (exit_.value.code, err)


def test_kata_hint_shows_the_first_hint_and_remembers_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KATA_STATE_DIR", str(tmp_path))
    code, out, err = run("-m", "kata", "hint", "attention")
    assert code == EXIT_OK, err
    assert "Hint 1 of" in out and "kata hint attention" in out, out
    assert (tmp_path / ".kata-hints.json").is_file(), "the hints shown should be remembered in KATA_STATE_DIR"
