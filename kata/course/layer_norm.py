"""Exercise 4, layer_norm.py: layer normalisation.

Its checks, known mistakes, hints and diverge text (kata/course/__init__.py says how they
are used); each check is also a test in tests/test_layer_norm.py.
"""

from types import ModuleType

import torch

from ..core.checking import Check, fill_parameters, parameter_names, randn, sized
from ..core.mistakes import Mistake
from ..core.shortcuts import Shortcut

NAME = "layer_norm"

# ---- probes: what each check runs, on inputs it makes itself ---------------------------


def layer_norm_function(m: ModuleType) -> dict[str, object]:
    # Rows with different means and spreads: a statistic over the wrong axis shows.
    # Sizes: the public check's, or (a hidden check, kata/core/checking.py sized) one of the others.
    b, length, d = sized(2, 3, 4), sized(7, 5, 9), sized(30, 24, 36, 48)
    x = randn(b, length, d, seed=40) * (0.5 + randn(b, length, 1, seed=47).abs()) + 3 * randn(
        b, length, 1, seed=48
    )
    weight, bias = 1 + randn(d, seed=41), randn(d, seed=42)
    small = randn(sized(5, 4, 6), 3, seed=43)  # D = 3: the biased variance shows
    flat = 4.0 + 1e-3 * randn(sized(4, 3, 6), d, seed=44)  # tiny variance: where eps sits shows
    return {
        "out": m.layer_norm(x, weight, bias, 1e-12),
        "small_width": m.layer_norm(small, torch.ones(3), torch.zeros(3), 1e-5),
        "large_eps": m.layer_norm(flat, torch.ones(d), torch.zeros(d), 1e-2),
    }


def layer_norm_module(m: ModuleType) -> dict[str, object]:
    fresh = m.LayerNorm(30)
    norm = fill_parameters(m.LayerNorm(30, eps=1e-12), seed=45)
    given = fill_parameters(m.LayerNorm(30, eps=1e-2), seed=49)
    x = randn(sized(3, 2, 4), sized(5, 6, 8), 30, seed=46)
    # Variance about 1e-6, far below eps: which eps is used shows. Small constants, so float32
    # still resolves the noise.
    rows = sized(4, 3, 5)
    flat = 0.01 * randn(rows, 1, seed=50) + 1e-3 * randn(rows, 30, seed=51)
    return {
        "parameters": parameter_names(fresh),
        "fresh_weight": fresh.weight.detach(),
        "fresh_bias": fresh.bias.detach(),
        "out": norm(x),
        "default_eps": fresh(flat),
        "given_eps": given(flat),
    }


# ---- the checks: the grader scores them, and each is a test ------------------------------

CHECKS = (
    Check(
        NAME,
        "function",
        "layer_norm: biased variance, eps inside the square root, last axis",
        6,
        layer_norm_function,
        {
            "out": (
                "layer_norm output (rows with different means and spreads)",
                "the mean and variance are per row, over the last axis only (keepdim=True), "
                "never over the whole tensor or the batch; the variance as the mean of (x - mean) ** 2 "
                "(E[x^2] - E[x]^2 loses digits: a value or two off by about 1e-5 is that); then * weight + bias",
            ),
            "small_width": (
                "layer_norm over a width of 3",
                "use the biased variance, divided by D, not D - 1 (torch.var's default is D - 1: "
                "pass correction=0)",
            ),
            "large_eps": (
                "layer_norm with eps=1e-2 on nearly constant rows (variance about 1e-6)",
                "eps goes inside the square root: (x - mean) / sqrt(var + eps), not / (sqrt(var) + eps), "
                "and is never left out",
            ),
        },
    ),
    Check(
        NAME,
        "module",
        "LayerNorm starts at weight 1, bias 0, uses its eps (default 1e-5) and matches the reference",
        4,
        layer_norm_module,
        {
            "parameters": (
                "LayerNorm parameters",
                "weight and bias, each nn.Parameter of shape (D,) (a plain tensor attribute is not a "
                "parameter; loading BERT relies on the names)",
            ),
            "fresh_weight": (
                "LayerNorm(30).weight when freshly built",
                "the weight starts at ones and the bias at zeros, so a fresh LayerNorm only normalises",
            ),
            "fresh_bias": (
                "LayerNorm(30).bias when freshly built",
                "the weight starts at ones and the bias at zeros, so a fresh LayerNorm only normalises",
            ),
            "out": (
                "LayerNorm(30, eps=1e-12) output",
                "forward is layer_norm(x, self.weight, self.bias, self.eps)",
            ),
            "default_eps": (
                "LayerNorm(30) (default eps) on rows whose variance is about 1e-6",
                "the default is eps=1e-5 (as in torch.nn.LayerNorm); keep it and pass it to layer_norm",
            ),
            "given_eps": (
                "LayerNorm(30, eps=1e-2) on rows whose variance is about 1e-6",
                "store the eps argument in __init__ (self.eps = eps) and pass it to layer_norm in forward",
            ),
        },
    ),
)

# ---- known mistakes: exact edits of the reference that a learner plausibly makes -----------

MISTAKES = (
    Mistake(
        NAME,
        "unbiased_variance",
        "used the unbiased variance (divide by D - 1)",
        "variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
        "variance = x.var(dim=-1, keepdim=True)",
    ),
    Mistake(
        NAME,
        "eps_outside_sqrt",
        "added eps outside the square root",
        "torch.sqrt(variance + eps)",
        "(torch.sqrt(variance) + eps)",
    ),
    Mistake(
        NAME,
        "eps_ignored",
        "ignored eps",
        "torch.sqrt(variance + eps)",
        "torch.sqrt(variance)",
    ),
    Mistake(
        NAME,
        "normalized_over_all_axes",
        "took the mean and variance over every axis, not the last",
        "    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)\n"
        "    variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
        "    mean = x.mean()\n    variance = ((x - mean) ** 2).mean()",
    ),
    Mistake(
        NAME,
        "no_scale_and_shift",
        "forgot the learned scale and shift",
        "return normalized * weight + bias",
        "return normalized",
    ),
    Mistake(
        NAME,
        "mean_not_subtracted",
        "divided by the standard deviation without subtracting the mean",
        "normalized = (x - mean) / torch.sqrt(variance + eps)",
        "normalized = x / torch.sqrt(variance + eps)",
    ),
    Mistake(
        NAME,
        "no_square_root",
        "divided by the variance instead of the standard deviation",
        "torch.sqrt(variance + eps)",
        "(variance + eps)",
    ),
    Mistake(
        NAME,
        "normalized_over_first_axis",
        "took the mean and variance over the first axis, as batch norm does, not the last",
        "    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)\n"
        "    variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
        "    mean = x.mean(dim=0, keepdim=True)\n    variance = ((x - mean) ** 2).mean(dim=0, keepdim=True)",
    ),
    Mistake(
        NAME,
        "no_keepdim",
        "reduced without keepdim=True, so the statistics do not broadcast back over the rows",
        "    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)\n"
        "    variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
        "    mean = x.mean(dim=-1)\n    variance = ((x - mean) ** 2).mean(dim=-1)",
    ),
    Mistake(
        NAME,
        "module_eps_ignored",
        "hard-coded eps in LayerNorm instead of keeping the argument",
        "self.eps = eps",
        "self.eps = 1e-5",
    ),
    Mistake(
        NAME,
        "plain_tensor_parameters",
        "stored weight and bias as plain tensors, not nn.Parameter",
        "        self.weight = nn.Parameter(torch.ones(d_model))\n        self.bias = nn.Parameter(torch.zeros(d_model))\n",
        "        self.weight = torch.ones(d_model)\n        self.bias = torch.zeros(d_model)\n",
    ),
    Mistake(
        NAME,
        "weight_and_bias_initialised_swapped",
        "initialised the weight to zeros and the bias to ones",
        "        self.weight = nn.Parameter(torch.ones(d_model))\n        self.bias = nn.Parameter(torch.zeros(d_model))\n",
        "        self.weight = nn.Parameter(torch.zeros(d_model))\n        self.bias = nn.Parameter(torch.ones(d_model))\n",
    ),
    Mistake(
        NAME,
        "module_weight_and_bias_swapped",
        "passed bias as the scale and weight as the shift in LayerNorm.forward",
        "return layer_norm(x, self.weight, self.bias, self.eps)",
        "return layer_norm(x, self.bias, self.weight, self.eps)",
    ),
)

NUMPY_MISTAKES = (
    Mistake(
        NAME,
        "unbiased_variance",
        "used the unbiased variance (ddof=1, divide by D - 1)",
        "x.var(axis=-1, keepdims=True)",
        "x.var(axis=-1, keepdims=True, ddof=1)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "eps_outside_sqrt",
        "added eps outside the square root",
        "np.sqrt(variance + eps)",
        "(np.sqrt(variance) + eps)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "no_keepdims",
        "reduced without keepdims=True, so the statistics do not broadcast back over the rows",
        "    mean = x.mean(axis=-1, keepdims=True)  # (..., 1)\n    variance = x.var(axis=-1, keepdims=True)",
        "    mean = x.mean(axis=-1)\n    variance = x.var(axis=-1)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "float64_parameters",
        "built weight and bias with np.ones and np.zeros without dtype=np.float32 (float64)",
        "        self.weight = np.ones(d_model, dtype=np.float32)\n"
        "        self.bias = np.zeros(d_model, dtype=np.float32)\n",
        "        self.weight = np.ones(d_model)\n        self.bias = np.zeros(d_model)\n",
        track="numpy",
    ),
)

# ---- graded hints: `kata hint layer_norm` shows one more each time --------------------------

HINTS = (
    "Each position's vector is normalised on its own: the mean and the variance are taken "
    "over the last axis only, with keepdim=True so that they broadcast back against x.",
    "The variance is the biased one, the mean of the squared deviations (divide by D). "
    "torch.var divides by D - 1 unless you pass correction=0 (unbiased=False in older "
    "versions). eps is added to the variance, inside the square root.",
    "After normalising, multiply by weight and add bias, both of shape (D,): broadcasting "
    "lines them up with the last axis. In LayerNorm, keep eps, and make weight (ones) and "
    "bias (zeros) nn.Parameter, so that they are trained and loaded with the rest; forward "
    "calls your layer_norm.",
)

DIVERGE: dict[str, str] = {}


# ---- what each check runs besides its own code: fix those first (kata/feedback/diagnosis.py uses)

USES = {"module": ("function",)}


# ---- no shortcuts: library calls this exercise's code may not make (kata/core/shortcuts.py) ----
# The grader scores 0 the checks of an exercise whose code calls one (and pytest says so first), nor may
# a later exercise's code. To allow a call in your course, remove its entry.

INSTEAD = (
    "write it from torch operations: the mean and biased variance over the last axis, "
    "(x - mean) / torch.sqrt(variance + eps), then * weight + bias"
)
SHORTCUTS = (
    Shortcut(NAME, "torch.nn.functional.layer_norm", "F.layer_norm", INSTEAD),
    Shortcut(NAME, "torch.layer_norm", "torch.layer_norm", INSTEAD),
    Shortcut(NAME, "torch.native_layer_norm", "torch.native_layer_norm", INSTEAD),
    Shortcut(
        NAME,
        "torch.nn.LayerNorm",
        "nn.LayerNorm",
        "write it with nn.Parameter weight and bias and your own layer_norm function",
        "module",
    ),
)
