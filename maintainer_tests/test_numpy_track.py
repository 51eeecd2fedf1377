"""The NumPy track itself: the PyTorch track's public names and signatures, no torch at run
time, and a grader that grades it as it grades the PyTorch track.

Marked `maintainer`: these check the repository (solutions/numpy/ and exercises/numpy/),
so they run with `pytest --solutions`; the grader's checks of the NumPy track with
`pytest --solutions --track numpy`, and the grader's own runs (slow) with
`pytest --solutions --track numpy -m grader`.
"""

import ast
import inspect
import json
import shutil
import subprocess
import sys

import pytest

from kata import COURSE, EXERCISES, REPO, SOLUTIONS, course, track_folder
from kata.core import wire
from kata.core.as_torch import as_torch
from kata.core.loading import load, load_stack
from kata.core.weights import INSTALL_HINT, pretrained_source
from kata.grader import grading

pytestmark = pytest.mark.maintainer

NUMPY_SOLUTIONS = track_folder(SOLUTIONS, "numpy")

FRAMEWORKS = ("torch", "transformers")  # what the NumPy track must never import

# Builds and runs a whole NumPy encoder in a fresh interpreter where importing torch fails.
WITHOUT_TORCH = """
import sys
for name in {frameworks!r}:
    sys.modules[name] = None  # any `import torch` now raises ImportError
import numpy as np
from kata import SOLUTIONS, track_folder
from kata.core.loading import load_stack

encoder = load_stack(track_folder(SOLUTIONS, "numpy"))
for positional, activation in (("learned", "gelu"), ("sinusoidal", "relu")):
    config = encoder.EncoderConfig(
        vocab_size=31, d_model=20, num_heads=4, num_layers=2, d_ff=27, max_len=13,
        positional=positional, activation=activation,
    )
    ids = np.random.default_rng(0).integers(0, 31, (2, 7))
    attention_mask = (np.arange(7) < np.array([[7], [4]])).astype(np.int64)
    output = encoder.Encoder(config)(ids, attention_mask, np.zeros_like(ids))
    assert output.last_hidden_state.shape == (2, 7, 20), output.last_hidden_state.shape
print(sorted(name for name in sys.modules if name.split(".")[0] in {frameworks!r} and sys.modules[name]))
"""


def members(cls):
    """A class's __init__ and its public methods, by name."""
    return {
        name: getattr(cls, name)
        for name in vars(cls)
        if callable(getattr(cls, name)) and (name == "__init__" or not name.startswith("_"))
    }


def parameters(function):
    """Names, kinds and defaults of the parameters; annotations (tensor or array) aside."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("name", COURSE)
def test_the_numpy_track_has_every_public_name_of_the_pytorch_track_with_the_same_signature(name):
    torch_module = load(name, SOLUTIONS)
    numpy_module = load(name, NUMPY_SOLUTIONS, reference=NUMPY_SOLUTIONS)
    public = [
        public_name
        for public_name, value in vars(torch_module).items()
        if not public_name.startswith("_") and getattr(value, "__module__", None) == torch_module.__name__
    ]
    for public_name in public:
        theirs, ours = getattr(torch_module, public_name), getattr(numpy_module, public_name, None)
        assert ours is not None, f"solutions/numpy/{name}.py has no {public_name} (solutions/{name}.py has)"
        pairs = {public_name: (theirs, ours)}
        if inspect.isclass(theirs):
            pairs = {
                f"{public_name}.{method}": (member, getattr(ours, method, None))
                for method, member in members(theirs).items()
            }
        for qualified, (their_member, our_member) in pairs.items():
            assert our_member is not None, f"solutions/numpy/{name}.py: {qualified} is missing"
            assert parameters(our_member) == parameters(their_member), (
                f"solutions/numpy/{name}.py: {qualified}{inspect.signature(our_member)} differs from "
                f"the PyTorch track's {qualified}{inspect.signature(their_member)}"
            )


@pytest.mark.parametrize("root", [SOLUTIONS, EXERCISES], ids=["solutions", "exercises"])
def test_no_module_of_the_numpy_track_imports_torch(root):
    for path in sorted(track_folder(root, "numpy").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported = [node.module]
            else:
                continue
            frameworks = [module for module in imported if module.split(".")[0] in FRAMEWORKS]
            assert not frameworks, (
                f"{path.relative_to(REPO)}:{node.lineno} imports {', '.join(frameworks)}: the NumPy track "
                "runs on NumPy alone"
            )


def test_the_numpy_encoder_runs_where_torch_cannot_be_imported():
    script = WITHOUT_TORCH.format(frameworks=FRAMEWORKS)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, (
        "the NumPy track's whole encoder failed in a Python where importing torch raises ImportError:\n"
        + result.stderr[-2000:]
    )
    assert result.stdout.strip() == "[]", f"the NumPy track imported {result.stdout.strip()}"


# ---- the grader on the NumPy track ---------------------------------------------------------


@pytest.mark.numpy_only(reason="the NumPy track's grader checks, on its own run")
@pytest.mark.parametrize("check", course.checks("numpy"), ids=lambda check: check.name)
def test_every_grader_check_of_the_numpy_track_passes_on_the_numpy_reference(check):
    """What a grader's child does, in this process: probe the NumPy reference, judge against the PyTorch one."""
    if check.needs_weights and pretrained_source() is None:
        pytest.skip(INSTALL_HINT)
    if check.group == "capstone":
        module = load_stack(NUMPY_SOLUTIONS)
    else:
        module = load(check.group, NUMPY_SOLUTIONS, reference=NUMPY_SOLUTIONS)
    outputs = check.probe(as_torch(module))
    result = grading.score_outputs(
        check, {key: wire.encode(value) for key, value in outputs.items()}, "numpy"
    )
    assert result.passed, f"the grader's check {check.name} fails on solutions/numpy/: {result.message}"


def grade(*options, cwd):
    """Run grader.py --track numpy with `options` and --json; (exit code, results.json data)."""
    results = cwd / "results.json"
    command = [sys.executable, REPO / "grader.py", "--track", "numpy", *options, "--json", results]
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert results.is_file(), (
        f"grader.py wrote no results.json (exit code {run.returncode}):\n{run.stderr[-3000:]}"
    )
    return run.returncode, json.loads(results.read_text())


def by_group(data):
    """{exercise: (points earned, points possible)} from results.json."""
    points = {}
    for test in data["tests"]:
        group = test["name"].split("/", 1)[0]
        earned, possible = points.get(group, (0, 0))
        points[group] = (earned + test["score"], possible + test["max_score"])
    return points


@pytest.mark.grader
def test_the_grader_gives_the_numpy_reference_every_point_and_says_the_track(tmp_path):
    code, data = grade("--solutions", cwd=tmp_path)
    assert code == 0 and data["score"] == 100, data["output"]
    assert data["extra_data"]["track"] == "numpy"
    assert "(NumPy track)" in data["output"].splitlines()[0]
    names = sorted(test["name"].split(":")[0] for test in data["tests"])
    assert names == sorted(check.name for check in course.checks("numpy"))
    assert sum(test["max_score"] for test in data["tests"]) == 100


@pytest.mark.grader
def test_the_grader_finds_the_pristine_numpy_stubs_not_started(tmp_path):
    code, data = grade("--only", "attention", cwd=tmp_path)
    assert code == 1 and data["score"] == 0, data["output"]
    assert "exercises/numpy/attention.py" in data["output"] and "not started" in data["output"]


@pytest.mark.grader
def test_hostile_numpy_modules_cost_only_their_own_exercises(tmp_path):
    submission = tmp_path / "submission"
    shutil.copytree(NUMPY_SOLUTIONS, submission)
    hostile = {  # appended to the reference's own code
        "attention.py": "\nwhile True:  # loops forever at import\n    pass\n",
        "multi_head.py": "\nimport sys\n\nsys.exit(0)\n",
        "feed_forward.py": "\nnp.isfinite = np.abs = lambda x: 0 * x  # blinds NumPy in this process\n"
        "gelu = lambda x: 0.5 * x * (1.0 + np.tanh(x))  # and is wrong\n",
        "layer_norm.py": f"\nexec(open({str(NUMPY_SOLUTIONS / 'layer_norm.py')!r}).read())  # copies the reference\n",
    }
    for name, code in hostile.items():
        with open(submission / name, "a") as module:
            module.write(code)
    code, data = grade("--submission", submission, "--timeout", "20", cwd=tmp_path)
    points = by_group(data)
    assert code == 1 and data["extra_data"]["track"] == "numpy", data["output"]
    assert points["positional"] == (15, 15) and points["encoder"] == (35, 35), data["output"]
    assert points["attention"][0] == points["multi_head"][0] == points["layer_norm"][0] == 0, data["output"]
    gelu = next(test for test in data["tests"] if test["name"].startswith("feed_forward/gelu:"))
    assert gelu["status"] == "failed", data["output"]
    statuses = data["output"]
    assert "timed out" in statuses and "crashed" in statuses, data["output"]
