"""Exercise 1: scaled dot-product attention.

Every query asks every key "how relevant are you to me?"; the answers (dot products,
scaled so they do not grow with the width) become a probability distribution over the
keys, and the output for the query is the matching average of the values.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V          (Vaswani et al., 2017, eq. 1)

Hugging Face counterpart: `eager_attention_forward` in `transformers.models.bert.modeling_bert`,
called by `BertSelfAttention`.

Shape legend used in every module of the kata: B batch, L length (L_q queries, L_k keys),
D model width, H heads, Dh head width, F feed-forward width, "..." any leading dimensions;
in one attention, d is the width of a query and a key and d_v of a value (both Dh in a head).
"""

import math

import torch
import torch.nn.functional as F


def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    """Attend from every query to every key and average the values accordingly.

    Args:
        q: queries, shape (..., L_q, d).
        k: keys, shape (..., L_k, d).
        v: values, shape (..., L_k, d_v).
        mask: optional boolean tensor broadcastable to (..., L_q, L_k); True means
            "this query may attend to this key", False hides the key. Given code checks
            it before yours runs (`_check_mask`, below): a mask of another dtype raises
            TypeError; one that does not fit the scores, or could be read two ways (a
            (B, L_k) padding mask without its query axis when B == L_q), ValueError.
        dropout_p: probability of dropping an attention weight (as BERT does while
            training). Pass 0.0 outside training.

    Returns:
        (context, weights): context has shape (..., L_q, d_v); weights has shape
        (..., L_q, L_k) and each row sums to 1 over the keys it may attend to.

    Equation:
        scores  = q k^T / sqrt(d)
        weights = softmax(scores) over the keys (the last axis)
        context = weights v

    Steps:
        1. scores: q @ k.transpose(-2, -1), divided by sqrt(d) where d = q.size(-1).
        2. If a mask is given, fill the hidden scores (mask False) with
           torch.finfo(scores.dtype).min before the softmax.
        3. weights: softmax over the last axis, then dropout with p=dropout_p.
        4. context: weights @ v.

    Pitfalls:
        - Scale the scores once, by sqrt(d) (not d), before the softmax.
        - The softmax runs over the keys (dim=-1): each query's row must sum to 1.
        - Use the dtype's most negative finite value, not -inf (a row with every key
          hidden would become NaN) and not a hand-picked -1e4 (large scores beat it).
        - Mask before the softmax; zeroing weights afterwards leaves rows that no
          longer sum to 1.
    """
    _check_mask(mask, q, k)  # given: a mask that would give a wrong answer raises an error
    # BEGIN SOLUTION
    d = q.size(-1)
    # Dot products grow like sqrt(d); dividing keeps the softmax out of its flat tails.
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., L_q, L_k)
    if mask is not None:
        # The most negative finite value (not -inf) turns into an exact zero weight,
        # yet a row with every key hidden still gives a finite, uniform softmax.
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)  # (..., L_q, L_k)
    weights = torch.softmax(scores, dim=-1)  # (..., L_q, L_k), each row sums to 1
    # BERT drops whole attention links while training; callers pass 0.0 in eval().
    weights = F.dropout(weights, p=dropout_p)  # (..., L_q, L_k)
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # the library's kernel
    return context, weights
    # END SOLUTION


# ---- given code, kept as it is in exercises/: the mask's checks (not part of the exercise) ----


def _mask_shape_problem(mask_shape, scores_shape):
    """Why a mask of shape `mask_shape` does not fit scores of shape `scores_shape` (..., L_q, L_k), or None.

    A mask broadcasts against the scores from their last axis backwards. So a (B, L_k)
    padding mask without its query axis lines its B up with the queries: an error when
    B != L_q, and a silently wrong answer when B == L_q. A mask with fewer axes than the
    scores therefore may not start with an axis of the batch's size (other than 1): it
    would stand for another axis of the scores.
    """
    mask_shape, scores_shape = tuple(mask_shape), tuple(scores_shape)
    missing = len(scores_shape) - len(mask_shape)  # the leading axes the mask leaves out
    where = f"mask of shape {mask_shape} for scores of shape {scores_shape}"
    if missing < 0:
        return f"{where}: the mask has more axes than the scores (..., L_q, L_k)"
    fits = _broadcasts(mask_shape, scores_shape)
    batch_first = missing > 0 and len(mask_shape) >= 2 and mask_shape[0] == scores_shape[0] > 1
    if fits and not batch_first:
        return None
    padding_shape = (*mask_shape[:-1], *(1,) * missing, *mask_shape[-1:])
    padding = "mask[" + ", ".join([":"] * (len(mask_shape) - 1) + ["None"] * missing + [":"]) + "]"
    needs = "its query axis" if missing == 1 else "the axes it leaves out, the queries' among them"
    padding_advice = f"a padding mask needs {needs}, e.g. {padding} of shape {padding_shape}"
    if not fits:
        if missing > 0 and len(mask_shape) >= 2 and _broadcasts(padding_shape, scores_shape):
            return f"{where}: {padding_advice}"
        return (
            f"{where}: the mask does not broadcast to the scores; counted from the last axis, each of "
            f"its axes must be 1 or the scores' size (the last one L_k = {scores_shape[-1]}, the keys)"
        )
    stands_for = (
        f"the queries (L_q = {scores_shape[missing]})"
        if missing == len(scores_shape) - 2
        else f"the scores' axis {missing} (of size {scores_shape[missing]})"
    )
    shared = "mask[" + ", ".join(["None"] * missing) + "]"
    return (
        f"{where} is ambiguous: a mask with fewer axes than the scores lines up with their last axes, "
        f"so its first axis, of the batch's size {mask_shape[0]}, would stand for {stands_for}, not the "
        f"batch. Give it every axis of the scores: "
        + (f"{padding_advice}; " if _broadcasts(padding_shape, scores_shape) else "")
        + f"one mask for the whole batch is {shared} of shape {(*(1,) * missing, *mask_shape)}"
    )


def _broadcasts(mask_shape, scores_shape):
    """Whether a mask of shape `mask_shape` broadcasts to `scores_shape` without enlarging it."""
    return len(mask_shape) <= len(scores_shape) and all(
        m in (1, s) for m, s in zip(reversed(mask_shape), reversed(scores_shape), strict=False)
    )


def _check_mask(mask, q, k):
    """Refuse a mask that would give a wrong answer: not boolean, or not shaped to fit the scores.

    TypeError for a mask of another dtype; ValueError (see `_mask_shape_problem`) for one
    whose shape does not fit the scores (..., L_q, L_k), or could be read two ways.
    """
    if mask is None:
        return
    if mask.dtype != torch.bool:
        raise TypeError(
            f"mask has dtype {mask.dtype}, but a mask is boolean: True means may attend. Convert a "
            "0/1 mask with mask.bool(), and an additive mask (0 / -inf) with mask == 0"
        )
    scores_shape = (*torch.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.shape[-2], k.shape[-2])
    problem = _mask_shape_problem(mask.shape, scores_shape)
    if problem is not None:
        raise ValueError(problem)
