"""What every test file shares: which implementation is under test, the reference, the
Hugging Face models to compare against, and failure reports written for a learner.

    pytest                      tests exercises/ (the learner's code)
    pytest --solutions          tests solutions/ (the reference; everything passes)
    pytest --submission DIR     tests the modules in DIR
"""

from pathlib import Path

import pytest
import torch
from hypothesis import settings

from kata import COURSE, EXERCISES, REPO, SOLUTIONS, hf
from kata.compare import Mismatch
from kata.loading import ExerciseImportError, load, load_stack
from kata.weights import INSTALL_HINT, encode_pairs, load_pretrained, pretrained_source

pytest_plugins = ["pytester"]  # the catalogue runs these tests against known-wrong code

# Derandomized, so a learner sees the same failing example on every run.
settings.register_profile("kata", max_examples=25, deadline=None, derandomize=True, database=None)
settings.load_profile("kata")


def pytest_addoption(parser):
    group = parser.getgroup("kata", "Transformer Encoder Kata")
    group.addoption(
        "--solutions", action="store_true", help="test the reference solutions/ instead of exercises/"
    )
    group.addoption("--submission", metavar="DIR", help="test the modules in DIR instead of exercises/")


def pytest_configure(config):
    # The tests' tensors are tiny: threads only add overhead, and spin on a busy machine.
    torch.set_num_threads(1)
    if config.getoption("--solutions") and config.getoption("--submission"):
        raise pytest.UsageError("use --solutions or --submission DIR, not both")
    submission = config.getoption("--submission")
    if submission and not Path(submission, "attention.py").is_file():
        raise pytest.UsageError(
            f"--submission {submission}: no attention.py there; point it at a folder like exercises/"
        )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--solutions"):
        return
    kept = [item for item in items if item.get_closest_marker("maintainer") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


class Implementation:
    """One implementation of the kata, loaded by path (see kata/loading.py)."""

    def __init__(self, folder):
        self.folder = Path(folder).resolve()

    def module(self, name):
        """This implementation's `name` module, built on the reference modules before it."""
        return load(name, self.folder)

    def stack(self):
        """The encoder module with every module below it from this implementation too."""
        return load_stack(self.folder)


def _folder_under_test(config):
    if config.getoption("--solutions"):
        return SOLUTIONS
    return Path(config.getoption("--submission") or EXERCISES)


@pytest.fixture(scope="session")
def impl(pytestconfig):
    """The implementation under test."""
    return Implementation(_folder_under_test(pytestconfig))


@pytest.fixture(scope="session")
def reference():
    """The reference implementation (solutions/)."""
    return Implementation(SOLUTIONS)


@pytest.fixture(scope="session")
def tiny_bert_config():
    """A BERT config with small, odd, mutually different sizes (kata/hf.py)."""
    return hf.tiny_bert_config()


@pytest.fixture(scope="session")
def tiny_bert():
    """A seeded random BertModel in eval mode, every parameter redrawn (kata/hf.py)."""
    return hf.tiny_bert()


@pytest.fixture(scope="session")
def pretrained():
    """(BertModel, tokenizer) with the real pretrained weights; skips with an install hint without them."""
    if pretrained_source() is None:
        pytest.skip(INSTALL_HINT)
    return load_pretrained()


@pytest.fixture(scope="session")
def pretrained_batch(pretrained):
    """Real sentence pairs, padded, with two token types: input_ids, token_type_ids, attention_mask."""
    return encode_pairs(pretrained[1])


# ---- failure reports written for a learner ---------------------------------------


def _exercise_of(item):
    stem = Path(str(item.fspath)).stem.removeprefix("test_")
    return stem if stem in COURSE else None


def _shown_path(path):
    path = Path(path).resolve()
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def _short_report(excinfo):
    """One short paragraph instead of a traceback, for the failures a learner meets most."""
    error = excinfo.value
    if isinstance(error, NotImplementedError):
        entry = excinfo.traceback[-1]
        return f"not implemented yet: {_shown_path(entry.path)}:{entry.lineno + 1} ({error})", "todo"
    if isinstance(error, ExerciseImportError):
        return f"{_shown_path(error.path)} could not be imported: {str(error).split(': ', 1)[1]}", "broken"
    if isinstance(error, Mismatch):
        notes = "".join(f"\n  {note}" for note in getattr(error, "__notes__", ()))
        return f"{error}{notes}", "wrong"
    return None, "wrong"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and call.excinfo is not None:
        short, kind = _short_report(call.excinfo)
        if short:
            report.longrepr = short
        item.config.stash.setdefault(_failures_key, []).append((_exercise_of(item), kind))
    return report


_failures_key = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, config):
    failures = config.stash.get(_failures_key, [])
    failing = [name for name in COURSE if any(exercise == name for exercise, _ in failures)]
    if not failing:
        return
    first = failing[0]
    kinds = {kind for exercise, kind in failures if exercise == first}
    count = sum(exercise == first for exercise, _ in failures)
    folder = _shown_path(_folder_under_test(config))
    state = "not started yet" if kinds == {"todo"} else "in progress"
    terminalreporter.write_sep("-", "next step")
    terminalreporter.write_line(
        f"Exercise {COURSE.index(first) + 1} of {len(COURSE)}, {folder}/{first}.py, is {state}: "
        f"{count} of its checks fail. Work on it with: pytest tests/test_{first}.py"
    )
