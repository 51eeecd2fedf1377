"""Exercise 2, multi_head.py: multi-head attention.

Its checks, known mistakes, hints and diverge text (kata/course/__init__.py says how they
are used); each check is also a test in tests/test_multi_head.py.
"""

from types import ModuleType

import torch

from ..core.checking import (
    Check,
    fill_parameters,
    generator,
    judge_dropout_in_train_only,
    judge_error,
    padding_mask,
    parameter_names,
    raised,
    randn,
    sized,
    working,
)
from ..core.mistakes import Mistake
from ..core.shortcuts import Shortcut

NAME = "multi_head"

# ---- probes: what each check runs, on inputs it makes itself ---------------------------


def split_heads(m: ModuleType) -> dict[str, object]:
    b, length = sized(2, 1, 3), sized(7, 4, 9)
    x = randn(b, length, 30, seed=20)
    return {"split": m.split_heads(x, 5), "merged": m.merge_heads(randn(b, 5, length, 6, seed=21))}


def multi_head_values(m: ModuleType) -> dict[str, object]:
    attention = fill_parameters(m.MultiHeadAttention(30, 5), seed=22)
    length = sized(7, 6, 9, 11)
    x = randn(3, length, 30, seed=23)
    out, weights = attention(x)
    masked_out, masked_weights = attention(x, padding_mask([length, 4, 2], length))
    # The weights before the output they make: a wrong scale or mask then shows as it is.
    return {
        "parameters": parameter_names(attention),
        "weights": weights,
        "out": out,
        "masked_weights": masked_weights,
        "masked_out": masked_out,
    }


def multi_head_per_head_mask(m: ModuleType) -> dict[str, object]:
    attention = fill_parameters(m.MultiHeadAttention(12, 3), seed=24)
    mask = torch.rand(2, 3, 5, 5, generator=generator(25)) > 0.4
    mask[..., 0] = True
    x = randn(2, 5, 12, seed=26)
    out, weights = attention(x, mask)
    # A causal (L, L) mask, the same for every batch row and head: passed on as it is, it broadcasts.
    causal_out, causal_weights = attention(x, torch.ones(5, 5, dtype=torch.bool).tril())
    return {"weights": weights, "out": out, "causal_weights": causal_weights, "causal_out": causal_out}


def multi_head_bad_head_count(m: ModuleType) -> dict[str, object]:
    valid = fill_parameters(m.MultiHeadAttention(30, 5), seed=29)
    return {
        **working("MultiHeadAttention(30, 5) output", valid(randn(1, 4, 30, seed=29))[0]),
        **raised("bad_heads", "MultiHeadAttention(30, 7)", lambda: m.MultiHeadAttention(30, 7)),
    }


def multi_head_dropout(m: ModuleType) -> dict[str, object]:
    attention = fill_parameters(m.MultiHeadAttention(30, 5, dropout=0.5), seed=27)
    x = randn(2, 9, 30, seed=28)
    torch.manual_seed(0)  # also in eval(): a dropout wrongly active there drops the same values every run
    out_eval, weights_eval = attention(x)
    torch.manual_seed(0)
    out_train, weights_train = attention.train()(x)
    return {
        "out_eval": out_eval,
        "weights_eval": weights_eval,
        "out_train": out_train,
        "weights_train": weights_train,
    }


def multi_head_dropout_ignored(m: ModuleType) -> dict[str, object]:
    attention = fill_parameters(m.MultiHeadAttention(30, 5, dropout=0.5), seed=27)
    out, weights = attention(randn(2, 9, 30, seed=28))
    return {"out": out, "weights": weights}


# ---- the checks: the grader scores them, and each is a test ------------------------------

CHECKS = (
    Check(
        NAME,
        "split_merge",
        "split_heads and merge_heads move the head axis correctly",
        4,
        split_heads,
        {
            "split": (
                "split_heads(x, 5) for x of shape (2, 7, 30)",
                "view as (B, L, H, Dh), then transpose(1, 2)",
            ),
            "merged": (
                "merge_heads(x) for x of shape (2, 5, 7, 6)",
                "transpose(1, 2) back before reshaping to (B, L, D)",
            ),
        },
    ),
    Check(
        NAME,
        "values",
        "matches the reference with and without a padding mask",
        6,
        multi_head_values,
        {
            "parameters": (
                "MultiHeadAttention parameters",
                "q_proj, k_proj, v_proj, out_proj, each nn.Linear(D, D)",
            ),
            "out": ("multi-head attention output", "split, attend, merge, then out_proj"),
            "weights": (
                "multi-head attention weights (B, H, L, L)",
                "q and k from q_proj and k_proj, split into heads; scaled_dot_product_attention scales the "
                "scores itself",
            ),
            "masked_out": ("multi-head attention output with a padding mask", None),
            "masked_weights": ("multi-head attention weights with a padding mask", None),
        },
        d_head=6,
    ),
    Check(
        NAME,
        "per_head_mask",
        "accepts a mask of shape (B, H, L, L) and a causal mask of shape (L, L)",
        2,
        multi_head_per_head_mask,
        {
            "out": (
                "multi-head attention output with a mask per head of shape (B, H, L, L) = (2, 3, 5, 5)",
                "pass the mask unchanged to scaled_dot_product_attention; it broadcasts over (B, H, L, L)",
            ),
            "weights": ("multi-head attention weights with a mask per head of shape (B, H, L, L)", None),
            "causal_weights": (
                "multi-head attention weights with a causal mask of shape (L, L) = (5, 5)",
                "pass the mask unchanged to scaled_dot_product_attention; do not reshape it as a (B, L) padding mask",
            ),
            "causal_out": ("multi-head attention output with a causal mask of shape (L, L)", None),
        },
        d_head=4,
    ),
    Check(
        NAME,
        "bad_head_count",
        "raises ValueError naming both numbers when d_model % num_heads != 0",
        1,
        multi_head_bad_head_count,
        judge=judge_error(("bad_heads", ["ValueError"], ["30", "7"])),
    ),
    Check(
        NAME,
        "dropout",
        "dropout acts on the attention weights and the output in train() only",
        2,
        multi_head_dropout,
        judge=judge_dropout_in_train_only(
            {"weights": "multi-head attention weights", "out": "multi-head attention output"},
            scaled=("weights",),
        ),
        inference_only_probe=multi_head_dropout_ignored,
    ),
)

# ---- known mistakes: exact edits of the reference that a learner plausibly makes -----------

MISTAKES = (
    Mistake(
        NAME,
        "split_without_transpose",
        "split the heads by viewing straight to (B, H, L, Dh)",
        "    x = x.view(batch, length, num_heads, width // num_heads)  # (B, L, H, Dh)\n"
        "    return x.transpose(1, 2)  # (B, H, L, Dh)\n",
        "    return x.view(batch, num_heads, length, width // num_heads)\n",
    ),
    Mistake(
        NAME,
        "merge_without_transpose",
        "merged the heads by reshaping (B, H, L, Dh) straight to (B, L, D)",
        "    x = x.transpose(1, 2)  # (B, L, H, Dh)\n",
        "",
    ),
    Mistake(
        NAME,
        "no_output_projection",
        "left out the output projection",
        "out = self.dropout(self.out_proj(merge_heads(context)))",
        "out = self.dropout(merge_heads(context))",
    ),
    Mistake(
        NAME,
        "query_projection_used_for_keys",
        "projected the keys with q_proj",
        "k = split_heads(self.k_proj(x), self.num_heads)",
        "k = split_heads(self.q_proj(x), self.num_heads)",
    ),
    Mistake(
        NAME,
        "head_count_not_checked",
        "did not check that d_model is divisible by num_heads",
        "        if d_model % num_heads != 0:\n",
        "        if False:\n",
    ),
    Mistake(
        NAME,
        "split_interleaved",
        "split the width into heads the wrong way round, so head h gets every H-th column",
        "    x = x.view(batch, length, num_heads, width // num_heads)  # (B, L, H, Dh)\n"
        "    return x.transpose(1, 2)  # (B, H, L, Dh)\n",
        "    x = x.view(batch, length, width // num_heads, num_heads)\n    return x.permute(0, 3, 1, 2)\n",
    ),
    Mistake(
        NAME,
        "merge_with_view_after_transpose",
        "merged the heads with .view after the transpose (fails: the memory is not contiguous)",
        "return x.reshape(batch, length, num_heads * head_width)",
        "return x.view(batch, length, num_heads * head_width)",
    ),
    Mistake(
        NAME,
        "split_by_head_width",
        "stored the head width as the number of heads, so split_heads cuts heads of width H",
        "self.num_heads = num_heads",
        "self.num_heads = d_model // num_heads",
    ),
    Mistake(
        NAME,
        "head_count_checked_with_assert",
        "checked the head count with an assert (AssertionError) instead of raising ValueError",
        "        if d_model % num_heads != 0:\n            raise ValueError(\n",
        "        assert d_model % num_heads == 0, (\n",
    ),
    Mistake(
        NAME,
        "head_count_error_names_no_numbers",
        "raised ValueError with a message that does not say which numbers are wrong",
        'f"d_model={d_model} is not divisible by num_heads={num_heads}: "',
        '"d_model is not divisible by num_heads: "',
    ),
    Mistake(
        NAME,
        "scores_scaled_twice",
        "divided q by sqrt(head width) before scaled_dot_product_attention, which divides the scores again",
        "        q = split_heads(self.q_proj(x), self.num_heads)  # (B, H, L, Dh)\n",
        "        q = split_heads(self.q_proj(x), self.num_heads)  # (B, H, L, Dh)\n"
        "        q = q / q.size(-1) ** 0.5\n",
    ),
    Mistake(
        NAME,
        "mask_not_passed_on",
        "did not pass the mask on to the attention",
        "q, k, v, mask, dropout_p=attention_dropout",
        "q, k, v, None, dropout_p=attention_dropout",
    ),
    Mistake(
        NAME,
        "attention_dropout_in_eval",
        "dropped attention weights in eval() too",
        "attention_dropout = self.dropout.p if self.training else 0.0",
        "attention_dropout = self.dropout.p",
    ),
    Mistake(
        NAME,
        "no_attention_dropout",
        "never dropped attention weights, only the output",
        "q, k, v, mask, dropout_p=attention_dropout",
        "q, k, v, mask",
    ),
    Mistake(
        NAME,
        "no_output_dropout",
        "dropped attention weights but not the output of out_proj",
        "out = self.dropout(self.out_proj(merge_heads(context)))",
        "out = self.out_proj(merge_heads(context))",
    ),
)

NUMPY_MISTAKES = (
    Mistake(
        NAME,
        "split_without_transpose",
        "split the heads by reshaping straight to (B, H, L, Dh)",
        "    x = x.reshape(batch, length, num_heads, width // num_heads)  # (B, L, H, Dh)\n"
        "    return x.transpose(0, 2, 1, 3)  # (B, H, L, Dh)\n",
        "    return x.reshape(batch, num_heads, length, width // num_heads)\n",
        track="numpy",
    ),
    Mistake(
        NAME,
        "merge_without_transpose",
        "merged the heads by reshaping (B, H, L, Dh) straight to (B, L, D)",
        "    x = x.transpose(0, 2, 1, 3)  # (B, L, H, Dh)\n",
        "",
        track="numpy",
    ),
    Mistake(
        NAME,
        "query_projection_used_for_keys",
        "projected the keys with q_proj",
        "k = split_heads(self.k_proj(x), self.num_heads)",
        "k = split_heads(self.q_proj(x), self.num_heads)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "scores_scaled_twice",
        "divided q by sqrt(head width) before scaled_dot_product_attention, which divides the scores again",
        "        q = split_heads(self.q_proj(x), self.num_heads)  # (B, H, L, Dh)\n",
        "        q = split_heads(self.q_proj(x), self.num_heads)  # (B, H, L, Dh)\n"
        "        q = q / math.sqrt(q.shape[-1])\n",
        track="numpy",
    ),
    Mistake(
        NAME,
        "linear_without_transpose",
        "multiplied by the (out, in) weight itself instead of its transpose in Linear",
        "return x @ self.weight.T + self.bias",
        "return x @ self.weight + self.bias",
        track="numpy",
    ),
)

# ---- graded hints: `kata hint multi_head` shows one more each time --------------------------

HINTS = (
    "Write split_heads and merge_heads first: they are pure reshaping and tested on their "
    "own. Picture one token's vector of width D as H consecutive pieces of width Dh. Head h "
    "owns piece h of every token, so splitting cuts each token's vector, then gathers each "
    "head's pieces into a sequence of its own.",
    "split_heads is a view that cuts the last axis, giving (B, L, H, Dh), then a transpose "
    "of the length and head axes. Viewing straight to (B, H, L, Dh) has the right shape and "
    "the wrong numbers. merge_heads undoes the two steps in reverse order; after a transpose "
    "the memory is out of order, so the final flatten needs .reshape (or .contiguous() "
    "before .view).",
    "In __init__, check that d_model divides by num_heads before building anything, and "
    "name both numbers in the ValueError. In forward, project x with q_proj, k_proj and "
    "v_proj, split each into heads, and give them to your scaled_dot_product_attention with "
    "the mask as it is (a (B, 1, 1, L) mask broadcasts over heads and queries). Pass "
    "dropout_p=self.dropout.p only while self.training. Merge the heads, then out_proj, "
    "then dropout.",
)

# ---- kata diverge: what a stage computes and where to look, once every stage before it matched

DIVERGE = {
    "attention output": "The attention output of layer {layer}, before the residual: each head's weights "
    "times its values (v_proj), the heads merged back into one vector of width "
    "{width}, then out_proj. The weights matched, so look at the product with v in "
    "scaled_dot_product_attention ({attention}), at merge_heads and the end of "
    "MultiHeadAttention.forward in {multi_head}, and at the weights hf_weight_names in "
    "{encoder} loads into v_proj and out_proj (attention.output.dense).",
}


# ---- what each check runs besides its own code: fix those first (kata/feedback/diagnosis.py uses)

USES = {
    "values": ("split_merge",),
    "per_head_mask": ("values",),
    "bad_head_count": ("values",),  # it runs a valid MultiHeadAttention(30, 5) first
    "dropout": ("values",),
}


# ---- no shortcuts: library calls this exercise's code may not make (kata/core/shortcuts.py) ----
# The grader scores 0 the checks of an exercise whose code calls one (and pytest says so first), nor may
# a later exercise's code. To allow a call in your course, remove its entry.

SHORTCUTS = (
    Shortcut(
        NAME,
        "torch.nn.MultiheadAttention",
        "nn.MultiheadAttention",
        "write it from four nn.Linear projections, split_heads, scaled_dot_product_attention and merge_heads",
        "module",
    ),
    Shortcut(
        NAME,
        "torch.nn.functional.multi_head_attention_forward",
        "F.multi_head_attention_forward",
        "write it from four nn.Linear projections, split_heads, scaled_dot_product_attention and merge_heads",
    ),
)
