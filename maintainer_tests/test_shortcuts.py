"""No shortcuts (kata/core/shortcuts.py): the source scan and the run-time guard find the library calls
an exercise asks the learner to write, and nothing else (the reference, the stubs, their given code).
The grader's side is in test_grader.py's fixtures (maintainer_tests/adversarial/library_*)."""

import importlib.util
import textwrap

import pytest
import torch
import torch.nn.functional as F

from kata import COURSE, EXERCISES, SOLUTIONS, TRACKS, track_folder
from kata.core import shortcuts
from kata.core.shortcuts import Watch, forbidden, scan_source

pytestmark = pytest.mark.maintainer

LAYER_NORM = forbidden("layer_norm")


def found(source, rules=LAYER_NORM):
    return [(use.line, use.called) for use in scan_source(textwrap.dedent(source), "layer_norm.py", rules)]


@pytest.mark.parametrize("track", TRACKS)
@pytest.mark.parametrize("root", [SOLUTIONS, EXERCISES], ids=["solutions", "stubs"])
def test_the_reference_and_the_stubs_take_no_shortcut(root, track):
    for name in COURSE:
        path = track_folder(root, track) / f"{name}.py"
        assert scan_source(path.read_text(), path.name, forbidden(name, track)) == [], path


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import torch.nn.functional as F\nF.layer_norm(x, (3,))", [(2, "F.layer_norm")]),
        (
            "from torch.nn.functional import layer_norm as ln\nln(x, (3,))",
            [(1, "F.layer_norm"), (2, "F.layer_norm")],
        ),
        ("import torch\ntorch.nn.functional.gelu(x)", [(2, "F.gelu")]),
        ("import torch\ntorch.layer_norm(x, (3,))", [(2, "torch.layer_norm")]),
        ("from torch import nn\nnorm = nn.LayerNorm(3)", [(2, "nn.LayerNorm")]),
        ("import torch.nn as nn\nclass N(nn.LayerNorm):\n    pass", [(2, "nn.LayerNorm")]),
        ("import torch.nn.functional as F\ngetattr(F, 'gelu')(x)", [(2, "F.gelu")]),
        ("import torch\ngetattr(torch.nn, 'GELU')()", [(2, "nn.GELU")]),
        ("from torch.nn.modules.normalization import LayerNorm\n", [(1, "nn.LayerNorm")]),  # the same class
        ("from torch import nn as tnn\nact = tnn.functional.gelu", [(2, "F.gelu")]),  # a reference counts
    ],
)
def test_the_source_scan_resolves_aliases_from_imports_getattr_and_nesting(source, expected):
    assert found(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "def gelu(x):\n    return x\ngelu(1)",  # a function of its own called gelu
        "from .feed_forward import gelu\ngelu(1)",  # the learner's own earlier module
        "import torch.nn.functional as F\nF.softmax(x, -1); F.dropout(x); torch.erf(x)",  # allowed calls
        "import torch.nn as nn\nnn.Linear(3, 3); nn.Embedding(3, 3); nn.Dropout(0.1)",
        "'''F.layer_norm and nn.LayerNorm in a docstring'''\n# F.gelu in a comment",
        "import torch.nn.functional as F\ngetattr(F, name)(x)",  # not a constant: the run time sees it
        "def f(:\n",  # does not parse: the import reports it
        "x = " + "(" * 500 + ")" * 500,  # too deep to parse
    ],
)
def test_the_source_scan_has_no_false_positives(source):
    assert found(source) == []


def test_the_numpy_track_may_not_import_torch_or_transformers():
    rules = forbidden("layer_norm", "numpy")
    assert found("import numpy as np\nnp.sqrt(2)", rules) == []
    source = "import torch\nfrom transformers import BertModel\n__import__('torch')\n"
    assert found(source, rules) == [(1, "torch"), (2, "transformers"), (3, "torch")]


def module_at(path, source):
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(f"learner_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_run_time_guard_sees_an_obfuscated_call_from_the_watched_file_only(tmp_path):
    path = tmp_path / "layer_norm.py"
    with Watch({str(path): LAYER_NORM}) as watch:
        learner = module_at(
            path,
            """
            import torch.nn.functional as F
            def layer_norm(x, weight, bias, eps):
                return getattr(F, "layer" + "_norm")(x, x.shape[-1:], weight, bias, eps)
            """,
        )
        x = torch.randn(2, 3)
        learner.layer_norm(x, torch.ones(3), torch.zeros(3), 1e-5)
        F.layer_norm(x, (3,))  # from here, not the learner's file: not recorded
    assert [(use.file, use.line, use.called) for use in watch.uses] == [("layer_norm.py", 4, "F.layer_norm")]
    assert F.layer_norm.__module__ == "torch.nn.functional" and not hasattr(F.layer_norm, "__wrapped__")


def test_the_run_time_guard_sees_a_library_module_built_and_a_hugging_face_forward(tmp_path):
    from kata.core import hf

    path = tmp_path / "encoder.py"
    with Watch({str(path): forbidden("encoder")}) as watch:
        learner = module_at(
            path,
            """
            import torch.nn as nn
            def build():
                return nn.GELU()
            def wrap(bert, ids):
                return bert(ids)
            """,
        )
        learner.build()
        learner.wrap(hf.tiny_bert(), torch.tensor([[1, 2, 3]]))
    called = [(use.line, use.called) for use in watch.uses]
    assert called[0] == (4, "nn.GELU") and called[1] == (6, "BertModel.forward")


def test_the_message_names_the_call_the_line_and_what_to_write_instead():
    use = shortcuts.Use(LAYER_NORM[-4], "layer_norm.py", 12)  # F.layer_norm
    assert use.shortcut.shown == "F.layer_norm"
    assert shortcuts.message([use], "layer_norm", "exercises") == (
        "exercise 4 calls F.layer_norm (exercises/layer_norm.py:12), the function this exercise asks you "
        "to write; " + use.shortcut.instead
    )


def test_the_grader_reads_back_only_known_shortcuts_in_watched_files():
    use = shortcuts.Use(LAYER_NORM[-4], "layer_norm.py", 12)
    line = shortcuts.json.dumps(shortcuts.as_record([use])).encode()
    forged = b'{"event": "shortcuts", "uses": [{"target": "os.system", "exercise": "x", "file": "a.py", "line": 1, "shown": ""}]}'
    assert shortcuts.from_records(
        line + b"\n" + forged + b"\nnot json", LAYER_NORM, ["/x/layer_norm.py"]
    ) == [use]


def test_the_readme_shows_the_message_the_layer_norm_one_liner_gets():
    from kata import REPO, SOLUTIONS

    # the fixture's layer_norm.py: the reference with the edits of its edits.json
    edits = REPO / "maintainer_tests" / "adversarial" / "library_layer_norm" / "edits.json"
    text = (SOLUTIONS / "layer_norm.py").read_text()
    for edit in shortcuts.json.loads(edits.read_text())["layer_norm.py"]:
        text = text.replace(edit["find"], edit["replace"])
    uses = scan_source(text, "layer_norm.py", LAYER_NORM)
    assert shortcuts.message(uses, "layer_norm", "exercises") in (REPO / "README.md").read_text()
