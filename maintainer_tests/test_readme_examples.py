"""The README's examples of output are real output: each is run here and compared line by line.

An example matches when its lines appear, in order and one after the other, in what the
command prints. In an example, a line `...` stands for any number of lines and `...` inside a
line for any text; whole numbers must be the same, decimals within 10% (both below 1e-5
counts as the same: rounding noise of another machine). The failure message's example has
its own test, in test_failure_messages.py.
"""

import re
import shutil
import subprocess
import sys

import pytest

from kata import EXERCISES, REPO, SOLUTIONS, cli
from kata.course import mistakes_for

pytestmark = pytest.mark.maintainer

NUMBER = r"[-+]?(?:\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+|\d+)"
TOKEN = re.compile(rf"(\.\.\.|{NUMBER})")
SENTENCE = ["The cat sat on the mat.", "--pair", "It was asleep."]


def readme_example(first_line):
    """The README's fenced block of output whose first line starts with `first_line`."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", (REPO / "README.md").read_text(), re.MULTILINE | re.DOTALL)
    found = [block for block in blocks if block.startswith(first_line)]
    assert len(found) == 1, f"README.md should have one example starting {first_line!r}, has {len(found)}"
    return found[0].rstrip("\n").splitlines()


def line_pattern(line):
    """A regex for one example line (numbers captured, `...` any text, runs of spaces any width)."""
    parts = []
    for token in TOKEN.split(line.rstrip()):
        if token == "...":
            parts.append(".*?")
        elif TOKEN.fullmatch(token):
            parts.append(f"({NUMBER})")
        else:
            parts.append(r"\s+".join(re.escape(word) for word in re.split(" +", token)))
    return re.compile("".join(parts) + r"\s*$")


def same_number(written, printed):
    if not any(mark in written + printed for mark in ".e"):
        return int(written) == int(printed)
    a, b = float(written), float(printed)
    return max(abs(a), abs(b)) < 1e-5 or abs(a - b) <= 0.1 * max(abs(a), abs(b))


def line_matches(example_line, printed_line):
    match = line_pattern(example_line).match(printed_line.rstrip())
    written = [token for token in TOKEN.findall(example_line) if token != "..."]
    return bool(match) and all(same_number(w, p) for w, p in zip(written, match.groups(), strict=True))


def matches_from(example, printed):
    """Whether `example` matches `printed` from its first line (a `...` line: any number of lines)."""
    if not example:
        return True
    if example[0].strip() == "...":
        return any(matches_from(example[1:], printed[skip:]) for skip in range(len(printed) + 1))
    return bool(printed) and line_matches(example[0], printed[0]) and matches_from(example[1:], printed[1:])


def expect_example(example, output, command):
    printed = output.splitlines()
    if not any(matches_from(example, printed[start:]) for start in range(len(printed))):
        first_wrong = next(
            (
                line
                for line in example
                if line.strip() != "..." and not any(line_matches(line, p) for p in printed)
            ),
            "(each line is printed, but not in this order)",
        )
        pytest.fail(
            f"README.md's example of `{command}` is not what it prints.\nFirst example line not printed:\n"
            f"  {first_wrong}\nPrinted:\n{output}\nUpdate the README from this output (or fix the command).",
            pytrace=False,
        )


def test_the_matcher_tells_a_drifted_example_from_a_faithful_one():
    printed = ["header", "  2  multi_head      0/5       0 / 15  in progress", "  difference 9.5e-07", "end"]
    assert matches_from(["  2  multi_head  0/5  0 / 15  in progress", "...", "end"], printed[1:])
    assert matches_from(["  difference 6.0e-07"], printed[2:])  # rounding noise
    assert not matches_from(["  2  multi_head  1/4  5 / 15  in progress"], printed[1:])  # a check count
    assert not matches_from(["  2  multi_head  0/5  0 / 15  done"], printed[1:])
    assert matches_from(
        ["by up to 4.01 at index (0, 5, 16) ..."], ["by up to 4.03 at index (0, 5, 16) (got 1)"]
    )
    assert not matches_from(["by up to 4.01"], ["by up to 5.2"])


def learner_folder(tmp_path):
    """Attention done, multi-head with its heads merged without the transpose, the rest untouched stubs."""
    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder, ignore=shutil.ignore_patterns("numpy", "__pycache__"))
    shutil.copy(SOLUTIONS / "attention.py", folder)
    mistake = next(m for m in mistakes_for("multi_head") if m.name == "merge_without_transpose")
    (folder / "multi_head.py").write_text(mistake.apply((SOLUTIONS / "multi_head.py").read_text()))
    return folder


@pytest.mark.grader  # a whole grader run: with the grader's tests (CI step 7)
def test_the_grader_example_is_what_the_grader_prints(tmp_path):
    learner_folder(tmp_path)
    graded = subprocess.run(
        [sys.executable, REPO / "grader.py", "--submission", "exercises"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert graded.returncode == 1, graded.stdout + graded.stderr
    example = [line.replace(" --submission=exercises", "") for line in readme_example("   #  exercise")]
    output = graded.stdout.replace(" --submission=exercises", "")  # the README's reader grades exercises/
    expect_example(example, output, "python grader.py")


@pytest.mark.pretrained
def test_the_diverge_example_is_what_diverge_prints(pretrained, capsys, tmp_path, monkeypatch):
    folder = learner_folder(tmp_path)
    monkeypatch.chdir(tmp_path)  # paths are shown as the README's reader sees them: exercises/...
    shutil.copy(SOLUTIONS / "feed_forward.py", folder)  # diverge runs the whole stack: every module written
    for name in ("layer_norm", "positional", "encoder"):
        shutil.copy(SOLUTIONS / f"{name}.py", folder)
    cli.main(["diverge", *SENTENCE, "--submission", "exercises"])
    expect_example(readme_example("  stage"), capsys.readouterr().out, "kata diverge")


@pytest.mark.pretrained
def test_the_search_example_is_what_search_prints(pretrained, capsys):
    pytest.importorskip("sentence_transformers", reason="the example shows sentence-transformers' columns")
    queries = ["How do I keep my bread from going stale?", "how do I fix a flat tyre on my bike"]
    cli.main(["search", *queries, "--top", "3", "--solutions"])
    expect_example(readme_example("The reference encoder"), capsys.readouterr().out, "kata search")
