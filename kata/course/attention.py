"""Exercise 1, attention.py: scaled dot-product attention.

Its checks, known mistakes, hints and diverge text (kata/course/__init__.py says how they
are used); each check is also a test in tests/test_attention.py.
"""

from types import ModuleType
from typing import Any

import torch

from ..core.checking import Check, generator, likely, randn, sized
from ..core.compare import ONE_OP, Mismatch, expect_close, expect_shape
from ..core.mistakes import Mistake
from ..core.shortcuts import Shortcut

NAME = "attention"

# ---- probes: what each check runs, on inputs it makes itself ---------------------------


def attention_shapes(m: ModuleType) -> dict[str, object]:
    b, h, l_q, l_k = sized(2, 1, 3), sized(3, 2, 4), sized(4, 3, 6), sized(7, 5, 9)
    q, k, v = randn(b, h, l_q, 5, seed=1), randn(b, h, l_k, 5, seed=2), randn(b, h, l_k, 6, seed=3)
    out, weights = m.scaled_dot_product_attention(q, k, v)
    # Tensors, not just their shapes: a point must never be earned by output anyone could write down.
    return {"out": out, "weights": weights}


def attention_values(m: ModuleType) -> dict[str, object]:
    l_q, l_k = sized(4, 3, 5, 7), sized(6, 5, 8)
    q, k, v = randn(2, l_q, 5, seed=4), randn(2, l_k, 5, seed=5), randn(2, l_k, 3, seed=6)
    mask = torch.tensor([[True] * l_k, [True] * 3 + [False] * (l_k - 3)])[:, None, :]
    # One (L_q, L_k) mask for the whole batch, different for every query: used as it is, it broadcasts.
    query_mask = torch.ones(l_q, l_k, dtype=torch.bool).tril(diagonal=2)
    out, weights = m.scaled_dot_product_attention(q, k, v)
    masked_out, masked_weights = m.scaled_dot_product_attention(q, k, v, mask)
    query_masked_out, query_masked_weights = m.scaled_dot_product_attention(q, k, v, query_mask)
    # The weights before the output they make: a wrong scale or mask then shows as it is.
    return {
        "weights": weights,
        "out": out,
        "masked_weights": masked_weights,
        "masked_out": masked_out,
        "query_masked_weights": query_masked_weights,
        "query_masked_out": query_masked_out,
    }


def attention_extreme_scores(m: ModuleType) -> dict[str, object]:
    q = torch.full((1, 2, 3), 1e6)
    k = -1e6 - 1e6 * torch.rand(1, 4, 3, generator=generator(7))
    _, weights = m.scaled_dot_product_attention(
        q, k, randn(1, 4, 3, seed=8), torch.tensor([True, False, True, False])
    )
    # Scores of about +1e4 (float32): exp() of them overflows to inf, so a softmax written by
    # hand without each row's maximum subtracted first gives inf / inf = NaN.
    large_q = randn(1, 3, 4, seed=70) * 100
    _, large_weights = m.scaled_dot_product_attention(large_q, large_q * 2, randn(1, 3, 4, seed=71))
    return {"weights": weights, "large_weights": large_weights}


def attention_fully_hidden_row(m: ModuleType) -> dict[str, object]:
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0, 1] = False
    out, weights = m.scaled_dot_product_attention(
        randn(2, 3, 5, seed=9), randn(2, 4, 5, seed=10), randn(2, 4, 5, seed=11), mask
    )
    return {"out": out, "weights": weights}


def attention_float64(m: ModuleType) -> dict[str, object]:
    args = [randn(2, 3, 5, seed=s, dtype=torch.float64) for s in (12, 13, 14)]
    out, weights = m.scaled_dot_product_attention(*args, torch.tensor([True, True, False]))
    return {"out": out, "weights": weights}


def attention_dropout(m: ModuleType) -> dict[str, object]:
    q, k, v = randn(4, 8, 4, seed=15), randn(4, 8, 4, seed=16), randn(4, 8, 4, seed=17)
    torch.manual_seed(0)
    out, weights = m.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    _, undropped = m.scaled_dot_product_attention(q, k, v)
    return {"out": out, "weights": weights, "undropped": undropped, "v": v}


def judge_dropout(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Dropout is random, so it is judged by its properties, computed here from the raw outputs."""
    expect_close(
        actual["undropped"],
        expected["undropped"],
        atol=ONE_OP,
        what="attention weights with dropout_p=0",
        d_head=4,
    )
    weights, undropped = actual["weights"], actual["undropped"]
    expect_shape(weights, expected["weights"].shape, what="attention weights with dropout_p=0.5")
    kept = weights != 0
    share = 1 - kept.float().mean().item()
    if not 0.2 < share < 0.8:
        raise Mismatch(
            f"attention weights with dropout_p=0.5: {share:.0%} are zero, expected about half"
            + likely("apply F.dropout(weights, p=dropout_p) after the softmax")
        )
    expect_close(
        weights[kept],
        undropped[kept] * 2,
        atol=ONE_OP,
        what="weights kept by dropout_p=0.5",
        hint="dropout scales the kept weights by 1 / (1 - p)",
    )
    expect_close(
        actual["out"],
        weights @ expected["v"],
        atol=ONE_OP,
        what="attention output with dropout",
        hint="compute out from the dropped weights",
    )


# ---- the checks: the grader scores them, and each is a test ------------------------------

CHECKS = (
    Check(
        NAME,
        "shapes",
        "returns (out, weights) with the documented shapes for two leading dimensions",
        2,
        attention_shapes,
        {
            "out": (
                "attention output for q, k of shape (2, 3, 4|7, 5), v (2, 3, 7, 6)",
                "out is (..., L_q, d_v)",
            ),
            "weights": ("attention weights for the same", "weights are (..., L_q, L_k); is k transposed?"),
        },
    ),
    Check(
        NAME,
        "values",
        "matches the reference without a mask, with a padding mask and with one (L_q, L_k) mask for the batch",
        5,
        attention_values,
        {
            "weights": ("attention weights", "scores are q @ k^T / sqrt(d); softmax over the last axis"),
            "out": ("attention output", "out = weights @ v"),
            "masked_weights": (
                "attention weights with a padding mask",
                "fill hidden scores (mask False) before the softmax",
            ),
            "masked_out": ("attention output with a padding mask", None),
            "query_masked_weights": (
                "attention weights with a mask of shape (L_q, L_k) = (4, 6) for q of shape (2, 4, 5)",
                "use the mask as it is: it broadcasts against the (..., L_q, L_k) scores",
            ),
            "query_masked_out": ("attention output with a mask of shape (L_q, L_k)", None),
        },
        d_head=5,
    ),
    Check(
        NAME,
        "extreme_scores",
        "gives hidden keys zero weight even when every visible score is about -1e12, and no NaN for scores of about +1e4",
        3,
        attention_extreme_scores,
        {
            "weights": ("attention weights", "fill with torch.finfo(scores.dtype).min, not a constant"),
            "large_weights": (
                "attention weights for scores of about +1e4",
                "exp(1e4) overflows: use torch.softmax, or subtract each row's maximum before exp()",
            ),
        },
    ),
    Check(
        NAME,
        "fully_hidden_row",
        "gives no NaN when a query may attend to nothing",
        2,
        attention_fully_hidden_row,
        {
            "weights": ("attention weights", "-inf makes softmax compute 0/0; use torch.finfo(dtype).min"),
            "out": ("attention output", None),
        },
    ),
    Check(NAME, "float64", "keeps float64 precision", 1, attention_float64, atol=1e-12, d_head=5),
    Check(NAME, "dropout", "applies dropout_p to the weights", 2, attention_dropout, judge=judge_dropout),
)

# ---- known mistakes: exact edits of the reference that a learner plausibly makes -----------

MISTAKES = (
    Mistake(
        NAME,
        "unscaled_scores",
        "forgot to divide the scores by sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
        "scores = q @ k.transpose(-2, -1)",
    ),
    Mistake(
        NAME,
        "scaled_by_d",
        "divided the scores by d instead of sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / d",
    ),
    Mistake(
        NAME,
        "softmax_over_queries",
        "ran the softmax over the queries axis instead of the keys",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.softmax(scores, dim=-2)",
    ),
    Mistake(
        NAME,
        "inverted_mask",
        "hid the keys the mask allows instead of those it hides",
        "scores.masked_fill(~mask,",
        "scores.masked_fill(mask,",
    ),
    Mistake(
        NAME,
        "mask_after_softmax",
        "zeroed the hidden weights after the softmax instead of before",
        "    weights = torch.softmax(scores, dim=-1)  # (..., L_q, L_k), each row sums to 1\n",
        "    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)\n"
        "    if mask is not None:\n"
        "        weights = weights.masked_fill(~mask, 0.0)\n",
    ),
    Mistake(
        NAME,
        "mask_with_minus_infinity",
        "filled hidden scores with -inf, or renormalised the weights after zeroing hidden keys: either gives "
        "0 / 0 = NaN in a row whose keys are all hidden; finfo(dtype).min before the softmax gives a uniform row",
        "torch.finfo(scores.dtype).min)",
        "float('-inf'))",
    ),
    Mistake(
        NAME,
        "mask_with_small_constant",
        "filled hidden scores with -1e4 instead of the dtype's minimum",
        "torch.finfo(scores.dtype).min)",
        "-1e4)",
    ),
    Mistake(
        NAME,
        "softmax_without_the_max",
        "wrote the softmax by hand without subtracting each row's maximum first (overflow, then NaN)",
        "    weights = torch.softmax(scores, dim=-1)  # (..., L_q, L_k), each row sums to 1\n",
        "    exponentials = torch.exp(scores)\n"
        "    weights = exponentials / exponentials.sum(dim=-1, keepdim=True)\n",
    ),
    Mistake(
        NAME,
        "dropout_ignored",
        "ignored dropout_p",
        "weights = F.dropout(weights, p=dropout_p)",
        "weights = F.dropout(weights, p=0.0)",
    ),
)

NUMPY_MISTAKES = (
    Mistake(
        NAME,
        "unscaled_scores",
        "forgot to divide the scores by sqrt(d)",
        "scores = q @ k.swapaxes(-1, -2) / math.sqrt(d)",
        "scores = q @ k.swapaxes(-1, -2)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "softmax_over_queries",
        "ran the softmax over the queries axis instead of the keys",
        "    exponentials = np.exp(scores - scores.max(axis=-1, keepdims=True))  # (..., L_q, L_k)\n"
        "    weights = exponentials / exponentials.sum(axis=-1, keepdims=True)",
        "    exponentials = np.exp(scores - scores.max(axis=-2, keepdims=True))\n"
        "    weights = exponentials / exponentials.sum(axis=-2, keepdims=True)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "inverted_mask",
        "hid the keys the mask allows instead of those it hides",
        "np.where(mask, scores, np.finfo(scores.dtype).min)",
        "np.where(~mask, scores, np.finfo(scores.dtype).min)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "mask_with_minus_infinity",
        "filled hidden scores with -inf, or renormalised the weights after zeroing hidden keys: either gives "
        "0 / 0 = NaN in a row whose keys are all hidden; finfo(dtype).min before the softmax gives a uniform row",
        "np.finfo(scores.dtype).min)",
        "-np.inf)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "mask_with_small_constant",
        "filled hidden scores with -1e4 instead of the dtype's minimum",
        "np.finfo(scores.dtype).min)",
        "-1e4)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "softmax_without_the_max",
        "exponentiated the scores without subtracting each row's maximum first (overflow, then NaN)",
        "np.exp(scores - scores.max(axis=-1, keepdims=True))",
        "np.exp(scores)",
        track="numpy",
    ),
)

# ---- graded hints: `kata hint attention` shows one more each time --------------------------

HINTS = (
    "Start from the equation in the docstring, softmax(q k^T / sqrt(d)) v, and leave the "
    "mask for later: get the tests without a mask passing first. Each step is one tensor "
    "operation on the last two axes, so the leading '...' axes take care of themselves.",
    "k^T swaps the last two axes of k (Tensor.transpose takes the two axes to swap; .T "
    "would reverse every axis of a batched k). d is the width of one query, the size of q's "
    "last axis. The "
    "scores have shape (..., L_q, L_k) and each query's row of weights must sum to 1: "
    "which axis does the softmax run over?",
    "The mask goes in before the softmax: where it is False, replace the score with the "
    "most negative finite number of the scores' dtype (torch.finfo tells you what it is; "
    "masked_fill does the replacing, and ~mask turns 'may attend' into 'hidden'). Not -inf: "
    "a row with every key hidden would become NaN. Then softmax, F.dropout with "
    "p=dropout_p, the product with v, and return the output and the weights.",
)

# ---- kata diverge: what a stage computes and where to look, once every stage before it matched

DIVERGE = {
    "attention weights": "The attention weights of layer {layer}: for each of the {heads} heads, "
    "softmax(q k^T / sqrt({head_width})) over the keys, where q and k are the layer's "
    "input projected by q_proj and k_proj and split into heads of width {head_width}; "
    "padded keys get weight 0. The layer's input matched, so the difference is made "
    "here. Look at scaled_dot_product_attention in {attention}, at split_heads and "
    "MultiHeadAttention.forward in {multi_head}, and, in {encoder}, at the BERT weights "
    "hf_weight_names loads into q_proj and k_proj and the mask Encoder.forward builds.",
}


# ---- what each check runs besides its own code: fix those first (kata/feedback/diagnosis.py uses)

USES = {"float64": ("values",), "dropout": ("values",)}


# ---- no shortcuts: library calls this exercise's code may not make (kata/core/shortcuts.py) ----
# The grader scores 0 the checks of an exercise whose code calls one (and pytest says so first), nor may
# a later exercise's code. To allow a call in your course, remove its entry.

SHORTCUTS = (
    Shortcut(
        NAME,
        "torch.nn.functional.scaled_dot_product_attention",
        "F.scaled_dot_product_attention",
        "write it from torch operations: scores = q @ k.transpose(-2, -1) / sqrt(d), the mask, softmax, then @ v",
    ),
)
