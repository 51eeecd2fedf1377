"""Exercise 3, feed_forward.py: GELU and the position-wise feed-forward network.

Its checks, known mistakes, hints and diverge text (kata/course/__init__.py says how they
are used); each check is also a test in tests/test_feed_forward.py.
"""

from types import ModuleType
from typing import Any

import torch

from ..core.checking import (
    Check,
    fill_parameters,
    judge_dropout_in_train_only,
    judge_error,
    parameter_names,
    raised,
    randn,
    sized,
    working,
)
from ..core.compare import FLOAT64, ONE_OP, Mismatch, expect_close
from ..core.mistakes import Mistake, on_numpy_too
from ..core.shortcuts import Shortcut

NAME = "feed_forward"

# ---- probes: what each check runs, on inputs it makes itself ---------------------------


def gelu_values(m: ModuleType) -> dict[str, object]:
    x = torch.linspace(-6, 6, sized(241, 199, 257, 301))  # a hidden check samples [-6, 6] at other points
    return {"gelu": m.gelu(x), "gelu64": m.gelu(x.double())}


def judge_gelu(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Each dtype within its own rounding: float64 computed in float32 anywhere loses its precision."""
    for key, what, atol, hint in (
        (
            "gelu",
            "gelu(x) for x in [-6, 6]",
            ONE_OP,
            "0.5 * x * (1 + erf(x / sqrt(2))), not the tanh approximation",
        ),
        (
            "gelu64",
            "gelu(x) in float64 for x in [-6, 6]",
            FLOAT64,
            "keep the computation in the input's dtype: no .float() or float32 tensor on the way",
        ),
    ):
        if key not in actual:
            raise Mismatch(f"{what}: no output (the probe did not get this far)")
        expect_close(actual[key], expected[key], atol=atol, what=what, hint=hint)


def feed_forward_gelu(m: ModuleType) -> dict[str, object]:
    ffn = fill_parameters(m.FeedForward(30, 43), seed=30)
    return {"parameters": parameter_names(ffn), "out": ffn(randn(2, 7, 30, seed=31))}


def feed_forward_relu(m: ModuleType) -> dict[str, object]:
    ffn = fill_parameters(m.FeedForward(30, 43, activation="relu"), seed=32)
    return {"out": ffn(randn(2, 7, 30, seed=33))}


def feed_forward_bad_activation(m: ModuleType) -> dict[str, object]:
    valid = fill_parameters(m.FeedForward(30, 43, activation="relu"), seed=36)
    return {
        **working("FeedForward(30, 43, activation='relu') output", valid(randn(1, 4, 30, seed=36))),
        **raised(
            "activation",
            "FeedForward(30, 43, activation='swish')",
            lambda: m.FeedForward(30, 43, activation="swish"),
        ),
    }


def feed_forward_dropout(m: ModuleType) -> dict[str, object]:
    ffn = fill_parameters(m.FeedForward(30, 43, dropout=0.5), seed=34)
    x = randn(2, 7, 30, seed=35)
    torch.manual_seed(0)
    out_eval = ffn(x)
    torch.manual_seed(0)
    return {"out_eval": out_eval, "out_train": ffn.train()(x)}


def feed_forward_dropout_ignored(m: ModuleType) -> dict[str, object]:
    ffn = fill_parameters(m.FeedForward(30, 43, dropout=0.5), seed=34)
    return {"out": ffn(randn(2, 7, 30, seed=35))}


# ---- the checks: the grader scores them, and each is a test ------------------------------

CHECKS = (
    Check(
        NAME,
        "gelu",
        "gelu is the exact erf GELU, in float32 and float64",
        4,
        gelu_values,
        judge=judge_gelu,
    ),
    Check(
        NAME,
        "gelu_network",
        "FeedForward with gelu matches the reference",
        3,
        feed_forward_gelu,
        {
            "parameters": ("FeedForward parameters", "linear1 = nn.Linear(D, F), linear2 = nn.Linear(F, D)"),
            "out": ("feed-forward output", "linear2(gelu(linear1(x)))"),
        },
    ),
    Check(NAME, "relu_network", "FeedForward with relu matches the reference", 1, feed_forward_relu),
    Check(
        NAME,
        "bad_activation",
        "an unknown activation raises ValueError",
        1,
        feed_forward_bad_activation,
        judge=judge_error(("activation", ["ValueError"], ["swish"])),
    ),
    Check(
        NAME,
        "dropout",
        "dropout acts on the output in train() only",
        1,
        feed_forward_dropout,
        judge=judge_dropout_in_train_only({"out": "feed-forward output"}, scaled=("out",)),
        inference_only_probe=feed_forward_dropout_ignored,
    ),
)

# ---- known mistakes: exact edits of the reference that a learner plausibly makes -----------

MISTAKES = (
    Mistake(
        NAME,
        "tanh_gelu",
        "used the tanh approximation of GELU",
        "return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))",
        "return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))",
    ),
    Mistake(
        NAME,
        "sigmoid_gelu",
        "used the sigmoid approximation x * sigmoid(1.702 x) of GELU",
        "return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))",
        "return x * torch.sigmoid(1.702 * x)",
    ),
    Mistake(
        NAME,
        "relu_always",
        "used ReLU whatever the activation argument says",
        'activations = {"gelu": gelu, "relu": torch.relu}',
        'activations = {"gelu": torch.relu, "relu": torch.relu}',
    ),
    Mistake(
        NAME,
        "no_activation",
        "left out the activation between the two linear layers",
        "hidden = self.activation(self.linear1(x))",
        "hidden = self.linear1(x)",
    ),
    Mistake(
        NAME,
        "gelu_without_half",
        "forgot the factor 1/2 in GELU",
        "return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))",
        "return x * (1.0 + torch.erf(x / math.sqrt(2.0)))",
    ),
    Mistake(
        NAME,
        "gelu_erf_unscaled",
        "took erf(x) instead of erf(x / sqrt(2)) in GELU",
        "torch.erf(x / math.sqrt(2.0))",
        "torch.erf(x)",
    ),
    Mistake(
        NAME,
        "linear_sizes_as_weight_shape",
        "built the linear layers as nn.Linear(out, in), the shape of their weights",
        "        self.linear1 = nn.Linear(d_model, d_ff)\n        self.linear2 = nn.Linear(d_ff, d_model)\n",
        "        self.linear1 = nn.Linear(d_ff, d_model)\n        self.linear2 = nn.Linear(d_model, d_ff)\n",
    ),
    Mistake(
        NAME,
        "activation_after_second_linear",
        "applied the activation after linear2 instead of between the two layers",
        "        hidden = self.activation(self.linear1(x))  # (B, L, F)\n"
        "        return self.dropout(self.linear2(hidden))  # (B, L, D)\n",
        "        hidden = self.linear1(x)\n        return self.dropout(self.activation(self.linear2(hidden)))\n",
    ),
    Mistake(
        NAME,
        "dropout_on_hidden",
        "applied dropout to the hidden layer instead of the output",
        "        hidden = self.activation(self.linear1(x))  # (B, L, F)\n"
        "        return self.dropout(self.linear2(hidden))  # (B, L, D)\n",
        "        hidden = self.dropout(self.activation(self.linear1(x)))\n        return self.linear2(hidden)\n",
    ),
    Mistake(
        NAME,
        "dropout_on_in_eval_mode",
        "called F.dropout without training=self.training, so dropout stays on after .eval()",
        "return self.dropout(self.linear2(hidden))",
        "return nn.functional.dropout(self.linear2(hidden), p=self.dropout.p)",
    ),
    Mistake(
        NAME,
        "dropout_ignored",
        "accepted the dropout argument but never applied it",
        "return self.dropout(self.linear2(hidden))",
        "return self.linear2(hidden)",
    ),
    Mistake(
        NAME,
        "unknown_activation_becomes_gelu",
        "fell back to GELU for an unknown activation instead of raising ValueError",
        "        if activation not in activations:\n"
        "            raise ValueError(f\"activation must be 'gelu' or 'relu', not {activation!r}\")\n"
        "        self.activation = activations[activation]\n",
        "        self.activation = activations.get(activation, gelu)\n",
    ),
    Mistake(
        NAME,
        "activation_error_without_its_name",
        "raised ValueError for an unknown activation without saying which",
        "raise ValueError(f\"activation must be 'gelu' or 'relu', not {activation!r}\")",
        'raise ValueError("unknown activation")',
    ),
)

NUMPY_MISTAKES = (
    Mistake(
        NAME,
        "tanh_gelu",
        "used the tanh approximation of GELU",
        "return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))",
        "return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))",
        track="numpy",
    ),
    Mistake(
        NAME,
        "erf_in_float64",
        "let np.vectorize(math.erf) return float64, so float32 in gives float64 out",
        "erf = np.vectorize(math.erf, otypes=[x.dtype])",
        "erf = np.vectorize(math.erf)",
        track="numpy",
    ),
    *on_numpy_too(MISTAKES, "no_activation"),
)

# ---- graded hints: `kata hint feed_forward` shows one more each time --------------------------

HINTS = (
    "GELU(x) is x times Phi(x), the probability that a standard normal variable is below x. "
    "Phi can be written with the error function, which torch has: the docstring gives the "
    "equation. The tanh formula you may have seen is an approximation, about 1e-3 off, "
    "which the tests notice.",
    "FeedForward is linear1 (D to d_ff), the activation on that wide hidden layer, linear2 "
    "(d_ff back to D), then dropout on the output. nn.Linear takes its sizes in the order the "
    "data flows, (in_features, out_features).",
    "Choose the activation once, in __init__: a small dict from the names 'gelu' and 'relu' "
    "to functions (your gelu, torch.relu) works well; an unknown name raises ValueError that "
    "says which name it got. forward is then two lines.",
)

# ---- kata diverge: what a stage computes and where to look, once every stage before it matched

DIVERGE = {
    "feed-forward": "The feed-forward output of layer {layer}, before the residual: "
    "linear2(gelu(linear1(x))) with x the first norm's output. The first norm matched, "
    "so look at gelu and FeedForward.forward in {feed_forward}, at what "
    "EncoderLayer.forward in {encoder} passes to self.ffn, and at the weights "
    "hf_weight_names loads into linear1 (intermediate.dense) and linear2 (output.dense).",
}


# ---- what each check runs besides its own code: fix those first (kata/feedback/diagnosis.py uses)

USES = {"gelu_network": ("gelu",), "dropout": ("gelu",)}


# ---- no shortcuts: library calls this exercise's code may not make (kata/core/shortcuts.py) ----
# The grader scores 0 the checks of an exercise whose code calls one (and pytest says so first), nor may
# a later exercise's code. To allow a call in your course, remove its entry.

SHORTCUTS = (
    Shortcut(
        NAME,
        "torch.nn.functional.gelu",
        "F.gelu",
        "write it from torch operations: 0.5 * x * (1 + torch.erf(x / sqrt(2)))",
    ),
    Shortcut(NAME, "torch.nn.GELU", "nn.GELU", "use your own gelu function in FeedForward", "module"),
)
