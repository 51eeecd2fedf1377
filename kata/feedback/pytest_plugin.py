"""The kata's pytest plugin: which implementation is under test, the reference, the Hugging
Face models to compare against (live, or recorded), each graded check as a test, and
failure reports written for a learner.

    pytest                      tests exercises/ (the learner's code)
    pytest --solutions          tests solutions/ (the reference; everything passes), and the
                                maintainer tests in maintainer_tests/ when no path is given
    pytest --submission=DIR     tests the modules in DIR (with "=": pytest reads a bare path
                                argument before it knows this option)
    pytest --track numpy        the same, for the NumPy track (exercises/numpy/, solutions/numpy/)

pyproject.toml loads it (`-p kata.feedback.pytest_plugin`), so tests/conftest.py stays short.
"""

from kata.feedback.end_of_run import EndOfRun, never_empty
from kata.feedback.fast_start import freeze, import_transformers, paused_collector

paused_collector(lambda: __import__("torch"))  # before anything imports torch

import inspect
import types
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import torch
from hypothesis import Phase, settings
from threadpoolctl import threadpool_limits

from kata import COURSE, EXERCISES, REPO, SOLUTIONS, course, track_folder
from kata.core import hf
from kata.core.as_torch import as_torch
from kata.core.checking import Check, run_check
from kata.core.compare import Mismatch
from kata.core.loading import ExerciseImportError, load, load_stack, origin
from kata.core.paths import shown_path, where_raised
from kata.core.recorded import FOUNDATION, foundation, handout_mode
from kata.core.shortcuts import ShortcutTaken, Watch, scan_files, watched
from kata.core.shortcuts import message as shortcut_message
from kata.core.weights import INSTALL_HINT, encode_pairs, load_pretrained, pretrained_source
from kata.feedback.diagnosis import (
    basics,
    diagnose,
    diagnose_check,
    explain,
    fix_first,
    learner_outcomes,
    root_cause,
    silently,
)

# Derandomized, so a learner sees the same failing example on every run.
# Without the explain phase, which prints lines of the kata's own code that mean nothing to a learner.
settings.register_profile(
    "kata",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[phase for phase in Phase if phase is not Phase.explain],
)
settings.load_profile("kata")

if TYPE_CHECKING:
    from transformers import BertConfig, BertModel, PreTrainedTokenizerBase


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kata", "Transformer Encoder Kata")
    group.addoption(
        "--solutions", action="store_true", help="test the reference solutions/ instead of exercises/"
    )
    group.addoption("--submission", metavar="DIR", help="test the modules in DIR instead of exercises/")
    group.addoption(
        "--track",
        choices=("torch", "numpy"),
        default="torch",
        help="the PyTorch track (default) or the NumPy track (exercises/numpy/, solutions/numpy/)",
    )


MAINTAINER_TESTS = REPO / "maintainer_tests"


def pytest_configure(config: pytest.Config) -> None:
    # `pytest --solutions` with no path also runs the maintainer tests: everything an
    # instructor needs to trust (stubs in sync, hints, views, the recording, the NumPy face).
    if (
        config.getoption("--solutions")
        and config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and MAINTAINER_TESTS.is_dir()
    ):
        config.args.append(str(MAINTAINER_TESTS))
    config.pluginmanager.register(EndOfRun(), "kata-end-of-run")  # the run's last lines (end_of_run.py)
    # The tests' tensors are tiny: threads only add overhead, and spin on a busy machine.
    torch.set_num_threads(1)
    threadpool_limits(limits=1, user_api="blas")  # NumPy's BLAS too (the NumPy track)
    if config.getoption("--solutions") and config.getoption("--submission"):
        raise pytest.UsageError("use --solutions or --submission DIR, not both")
    submission = config.getoption("--submission")
    if submission and not Path(submission, "attention.py").is_file():
        raise pytest.UsageError(
            f"--submission {submission}: no attention.py there; point it at a folder like exercises/"
        )


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    freeze()  # exit without walking transformers and the models once more (fast_start)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test of what only the other track has (autograd and train mode; float64 loading) is not
    # a test of this track at all: it is left out, not counted as deselected.
    off_track = "numpy_only" if config.getoption("--track") == "torch" else "torch_only"
    items[:] = [item for item in items if not item.get_closest_marker(off_track)]
    # The maintainer tests check the kata itself: against the reference only.
    if not config.getoption("--solutions"):
        maintainer = [item for item in items if item.get_closest_marker("maintainer")]
        if maintainer:
            config.hook.pytest_deselected(items=maintainer)
            items[:] = [item for item in items if item not in maintainer]
    # In course order, so the first failures on screen belong to the first unfinished exercise.
    items.sort(key=lambda item: COURSE.index(_exercise_of(item)) if _exercise_of(item) else len(COURSE))


class Implementation:
    """One implementation of the kata, loaded by path (see kata/core/loading.py).

    A NumPy-track implementation is built on the NumPy reference and seen through
    kata/core/as_torch.py, so the tests call it exactly as they call a PyTorch one.
    """

    def __init__(self, folder: str | Path, track: str = "torch") -> None:
        self.folder = Path(folder).resolve()
        self.track = track

    def module(self, name: str) -> types.ModuleType:
        """This implementation's `name` module, built on the reference modules before it."""
        return self._face(load(name, self.folder, reference=foundation(self.track)))

    def stack(self) -> types.ModuleType:
        """The encoder module with every module below it from this implementation too."""
        return self._face(load_stack(self.folder))

    def _face(self, module):
        return as_torch(module) if self.track == "numpy" else module

    def run_check(self, check: Check) -> None:
        """Run one graded check (kata/course/) on this implementation, exactly as the grader judges it."""
        if check.needs_weights and pretrained_source() is None:
            pytest.skip(INSTALL_HINT)
        if check.needs_weights:
            import_transformers()
        module = self.stack() if check.group == "capstone" else self.module(check.group)
        files = watched(self.folder, check.group, self.track)
        try:
            with Watch(files) as watch:  # the grader scores 0 a check whose modules take a shortcut
                run_check(check, module)
        except Mismatch as mismatch:
            # As BaseException.add_note does from Python 3.11; the report below shows __notes__.
            note = f"(graded check {check.name}: {check.title}; {check.points:g} point{'' if check.points == 1 else 's'})"
            mismatch.__notes__ = [*getattr(mismatch, "__notes__", []), note]  # type: ignore[attr-defined]
            raise
        self._no_shortcuts(check.group, [*scan_files(files), *watch.uses])

    def takes_no_shortcut(self, group: str) -> None:
        """Raise ShortcutTaken when `group`'s module calls a library function the course asks the learner
        to write (kata/core/shortcuts.py): in its source, or while its graded checks' probes run. A
        probe that is not implemented yet raises NotImplementedError when nothing else is wrong."""
        files = watched(self.folder, group, self.track)
        uses = scan_files(files)
        module = self.stack() if group == "capstone" else self.module(group)
        pending = None
        with Watch(files) as watch, silently():
            for check in course.group_checks(group, self.track):
                if check.needs_weights:
                    continue
                try:
                    check.probe(module)
                except NotImplementedError as error:
                    pending = pending or error
                except Exception:  # noqa: BLE001  (the exercise's other tests report its errors)
                    pass
        self._no_shortcuts(group, [*uses, *watch.uses])
        if pending is not None:
            raise pending

    def _no_shortcuts(self, group, uses):
        if uses:
            module = "encoder" if group == "capstone" else group
            raise ShortcutTaken(shortcut_message(uses, module, shown_path(self.folder)))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that asks for `graded_check` runs once per graded check of its file's exercise
    (the encoder's file also has the capstone's): the checks' pytest twins."""
    if "graded_check" not in metafunc.fixturenames:
        return
    exercise = _exercise_of(metafunc.definition)
    groups = (exercise, "capstone") if exercise == course.CAPSTONE_OF else (exercise,)
    track = metafunc.config.getoption("--track")
    checks = [check for group in groups for check in course.group_checks(group, track)]
    metafunc.parametrize(
        "graded_check",
        [
            pytest.param(check, id=check.name, marks=[pytest.mark.pretrained] if check.needs_weights else [])
            for check in checks
        ],
    )


def _folder_under_test(config):
    track = config.getoption("--track")
    if config.getoption("--solutions"):
        return track_folder(SOLUTIONS, track)
    return Path(config.getoption("--submission") or track_folder(EXERCISES, track))


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> Implementation:
    """The implementation under test."""
    return Implementation(_folder_under_test(pytestconfig), pytestconfig.getoption("--track"))


@pytest.fixture(scope="session")
def reference() -> Implementation:
    """The reference implementation (solutions/); in a student handout, its foundation (kata/core/recorded.py)."""
    return Implementation(SOLUTIONS) if not handout_mode() else Foundation(FOUNDATION)


class Foundation(Implementation):
    """A handout's stand-in for the reference: its foundation, written with the library functions the
    exercises forbid (an oracle that needs no answer key). It has no encoder and no embeddings: a
    test that asks for the reference's is skipped there, and the recorded graded checks hold them."""

    def module(self, name: str) -> types.ModuleType:
        if not (self.folder / f"{name}.py").is_file():
            pytest.skip(
                f"the handout has no reference {name} to compare with: this test runs in the full kata, and "
                f"the graded checks of {name} (pytest tests/test_{name}.py -k graded_check) hold yours to its recorded outputs"
            )
        return self._face(load(name, self.folder, reference=self.folder))


@pytest.fixture(scope="session")
def tiny_bert_config() -> "BertConfig":
    """A BERT config with small, odd, mutually different sizes (kata/core/hf.py)."""
    import_transformers()
    return hf.tiny_bert_config()


@pytest.fixture(scope="session")
def tiny_bert() -> "BertModel":
    """A seeded random BertModel in eval mode, every parameter redrawn (kata/core/hf.py)."""
    import_transformers()
    return hf.tiny_bert()


@pytest.fixture(scope="session")
def hf_recording() -> dict[str, Any]:
    """tiny_bert() recorded for the Hugging Face tests of exercises 2 to 5 (kata/core/hf.py): no transformers import."""
    return hf.load_recording()


@pytest.fixture(scope="session")
def pretrained() -> tuple["BertModel", "PreTrainedTokenizerBase"]:
    """(BertModel, tokenizer) with the real pretrained weights; skips with an install hint without them."""
    if pretrained_source() is None:
        pytest.skip(INSTALL_HINT)
    import_transformers()
    return load_pretrained()


@pytest.fixture(scope="session")
def pretrained_batch(pretrained: tuple["BertModel", "PreTrainedTokenizerBase"]) -> dict[str, torch.Tensor]:
    """Real sentence pairs, padded, with two token types: input_ids, token_type_ids, attention_mask."""
    return encode_pairs(pretrained[1])


# ---- failure reports written for a learner ---------------------------------------


def _graded_check_of(item):
    """The graded check a twin test runs (its `graded_check` argument), or None for a test of its own."""
    return getattr(item, "funcargs", {}).get("graded_check")  # funcargs: pytest.Function's, not Item's


def _exercise_of(item):
    stem = Path(str(item.fspath)).stem.removeprefix("test_")
    return stem if stem in COURSE else None


def _short_report(excinfo):
    """One short paragraph instead of a traceback, for the failures a learner meets most."""
    error = excinfo.value
    if isinstance(error, NotImplementedError):
        return f"not implemented yet: {where_raised(error)} ({error})", "todo"
    if isinstance(error, ShortcutTaken):
        return f"{error}\n  The grader scores this exercise's checks 0 while it does.", "shortcut"
    if isinstance(error, ExerciseImportError):
        return f"{shown_path(error.path)} could not be imported: {str(error).split(': ', 1)[1]}", "broken"
    notes = "".join(f"\n  {note}" for note in getattr(error, "__notes__", ()))
    if isinstance(error, Mismatch):
        return f"{error}{notes}", "wrong"
    if isinstance(error, AssertionError) and str(error).strip():
        # A test's own assert: its message, without pytest's rewrite of the expression.
        return f"{str(error).split(chr(10) + 'assert ', 1)[0]}{notes}", "wrong"
    return None, "wrong"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.excinfo is not None:
        short, kind = _short_report(call.excinfo)
        diagnosed = item.config.stash.setdefault(_diagnosed_key, [0])
        diagnoses = item.config.stash.setdefault(_diagnoses_key, [])
        roots = item.config.stash.setdefault(_roots_key, {})  # root check name -> its entry in diagnoses
        root = _root_cause(item) if kind == "wrong" and call.when == "call" else None
        if root is not None:
            # A more basic check of this exercise fails too: that failure, not this test's own hint, is the way in.
            short = _without_where_to_look(short or str(report.longrepr)) + fix_first(
                root, used=_graded_check_of(item) is not None
            )
            if root.name not in roots:
                roots[root.name] = len(diagnoses)
                diagnoses.append(f"{root.name} ({root.title}): later tests use it.")
        elif kind == "wrong" and call.when == "call" and diagnosed[0] < DIAGNOSED_FAILURES:
            diagnosed[0] += 1
            diagnosis = _diagnosis(item, call.excinfo.value)
            if diagnosis:
                # The diagnosis is specific; the generic "Where to look" would only distract from it.
                short = _without_where_to_look(short or str(report.longrepr)) + diagnosis
                check = _graded_check_of(item)
                if check is not None and check.name in roots:  # the root's own diagnosis takes its place
                    diagnoses[roots[check.name]] = diagnosis.strip()
                else:
                    diagnoses.append(diagnosis.strip())
        if kind == "shortcut" and not any(str(call.excinfo.value) in said for said in diagnoses):
            diagnoses.append(str(call.excinfo.value))  # the run's "Fix this first": its test comes first
        short = never_empty(short, call.excinfo.value)
        if short:
            report.longrepr = short
        item.config.stash.setdefault(_failures_key, []).append((_exercise_of(item), kind))
    return report


def _without_where_to_look(text):
    """`text` without its generic "Where to look: ..." hints (each to the end of its line), the
    rest of a line kept: the test's own message stays, whatever line its hint is on."""
    kept = (line.split("Where to look:", 1)[0].rstrip() for line in text.splitlines())
    return "\n".join(line for line in kept if line.strip())


# Diagnosing reruns the test once per known mistake: the first few failures are the ones read.
DIAGNOSED_FAILURES = 3
_diagnosed_key = pytest.StashKey[list]()
_diagnoses_key = pytest.StashKey[list]()
_roots_key = pytest.StashKey[dict]()


def _root_cause(item):
    """The more basic graded check of this exercise that this graded check's twin uses and that
    fails too (kata/feedback/diagnosis.py root_cause), or None."""
    check, exercise = _graded_check_of(item), _exercise_of(item)
    impl = Implementation(_folder_under_test(item.config), item.config.getoption("--track"))
    if exercise is None or (check is not None and check.group not in COURSE):
        return None

    def passed(used):
        if used.needs_weights:
            return True
        try:
            with silently():
                run_check(used, impl.module(used.group))
        except Exception:  # noqa: BLE001  (the learner's code may fail in any way)
            return False
        return True

    track = item.config.getoption("--track")
    if check is not None:
        return root_cause(check, passed, track)
    # A test of its own: the exercise's most basic failing check, if any (its code is what the rest builds on).
    return next((basic for basic in basics(exercise, track) if not passed(basic)), None)


def _diagnosis(item, failure):
    """The known mistake this failure is (kata/feedback/diagnosis.py), found by rerunning the test on each."""
    exercise = _exercise_of(item)
    if exercise is None or not isinstance(failure, Exception):
        return ""
    track = item.config.getoption("--track")
    check = _graded_check_of(item)

    def learner():  # the learner's outcomes on every graded check: what tells "exactly" from "looks like"
        return learner_outcomes(exercise, _folder_under_test(item.config), track)

    if check is not None:  # a graded check's twin: the grader's own diagnosis
        return explain(diagnose_check(check, failure, track, learner))

    def run(folder):
        arguments = _arguments_with_implementation(item, folder)
        if arguments is None:
            return failure  # nothing to swap: the outcome does not depend on the implementation
        try:
            item.obj(**arguments)
        except Exception as error:  # a known-wrong implementation may fail in any way
            return error
        return None

    return explain(diagnose(failure, exercise, run, track, learner))


def _arguments_with_implementation(item, folder):
    """The test's arguments with each piece of the implementation under test taken from `folder` instead."""
    track = item.config.getoption("--track")
    under_test = _folder_under_test(item.config).resolve()
    replacement = Implementation(folder, track)
    arguments, swapped = {}, False
    for name in inspect.signature(item.obj).parameters:
        value = item.funcargs[name]
        # A NumPy-track module reaches the tests through its PyTorch face (kata/core/as_torch.py).
        module = getattr(value, "__wrapped__", value)
        loaded_from = origin(module) if isinstance(module, types.ModuleType) else None
        if isinstance(value, Implementation) and value.folder == under_test:
            value, swapped = replacement, True
        elif loaded_from and loaded_from[1] == under_test:
            whole_stack = loaded_from[2] == under_test and under_test != track_folder(SOLUTIONS, track)
            value = replacement.stack() if whole_stack else replacement.module(loaded_from[0])
            swapped = True
        arguments[name] = value
    return arguments if swapped else None


_failures_key = pytest.StashKey[list]()


def _track_option(config):
    return " --track numpy" if config.getoption("--track") == "numpy" else ""


def pytest_report_header(config: pytest.Config) -> str:
    return f"kata: testing {shown_path(_folder_under_test(config))}/ ({config.getoption('--track')} track)"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = next_step(config, terminalreporter.stats)
    if lines:
        terminalreporter.write_sep("-", "next step")
        for line in lines:
            terminalreporter.write_line(line)


def next_step(config: pytest.Config, stats: dict[str, list[Any]]) -> list[str]:
    """The lines of the run's next step (none when there is nothing to say), from the failures
    this plugin noted and pytest's `stats` of reports: printed at the end of every run, and
    shown by the notebook's check (kata/feedback/notebook.py)."""
    failures = config.stash.get(_failures_key, [])
    folder = shown_path(_folder_under_test(config))
    failing = [name for name in COURSE if any(exercise == name for exercise, _ in failures)]
    ran = {_exercise_of(report) for report in stats.get("passed", [])}
    if not failing:
        finished = [name for name in COURSE if name in ran]
        if finished and finished[-1] != COURSE[-1] and not config.getoption("--solutions"):
            following = COURSE[COURSE.index(finished[-1]) + 1]
            return [
                f"Every test that ran passes. Next: exercise {COURSE.index(following) + 1}, "
                f"{folder}/{following}.py: pytest tests/test_{following}.py{_track_option(config)}"
            ]
        return []
    first = failing[0]
    kinds = {kind for exercise, kind in failures if exercise == first}
    count = sum(exercise == first for exercise, _ in failures)
    state = "not started yet" if kinds == {"todo"} else "in progress"
    tests = "tests fails" if count == 1 else "tests fail"
    optional = "Optional: " if course.points(first) == 0 else ""  # exercise 7 earns no points
    worth = " (optional, 0 points)" if optional else ""
    lines = [
        f"{optional}Exercise {COURSE.index(first) + 1} of {len(COURSE)}, {folder}/{first}.py{worth}, is {state}: "
        f"{count} of its {tests}. Work on it with: pytest tests/test_{first}.py{_track_option(config)}"
    ]
    diagnoses = config.stash.get(_diagnoses_key, [])
    if diagnoses:
        lines.append(f"Fix this first: {diagnoses[0].removeprefix('Diagnosis: ')}")
    return lines
