# Generated from solutions/numpy/attention.py by `kata stubs`. This file is yours:
# replace every `raise NotImplementedError` with your code, then run
# `pytest tests/test_attention.py --track numpy` to check it.
# Same as solutions/attention.py: module docstring except "Exercise 1", "NumPy has no softmax", "Hugging Face"
"""Exercise 1 (NumPy track): scaled dot-product attention.

Every query asks every key "how relevant are you to me?"; the answers (dot products,
scaled so they do not grow with the width) become a probability distribution over the
keys, and the output for the query is the matching average of the values.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V          (Vaswani et al., 2017, eq. 1)

NumPy has no softmax: you write it, and the way you write it decides whether it
overflows. exp(1000) is inf in any dtype, but softmax(s) = softmax(s - max(s)), so
subtracting each row's maximum first keeps every exp() in [0, 1].

Hugging Face counterpart: `eager_attention_forward` in `transformers.models.bert.modeling_bert`.

Shape legend used in every module of the kata: B batch, L length (L_q queries, L_k keys),
D model width, H heads, Dh head width, F feed-forward width, "..." any leading dimensions;
in one attention, d is the width of a query and a key and d_v of a value (both Dh in a head).
"""

import math

import numpy as np


# Same as solutions/attention.py: scaled_dot_product_attention docstring except "Args", "Returns", "Steps", "Pitfalls"
def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    """Attend from every query to every key and average the values accordingly.

    Args:
        q: queries, shape (..., L_q, d).
        k: keys, shape (..., L_k, d).
        v: values, shape (..., L_k, d_v).
        mask: optional boolean array broadcastable to (..., L_q, L_k); True means
            "this query may attend to this key", False hides the key.
        dropout_p: probability of dropping an attention weight (as BERT does while
            training). The NumPy track's modules are inference only and pass 0.0.

    Returns:
        (context, weights): context has shape (..., L_q, d_v); weights has shape
        (..., L_q, L_k) and each row sums to 1 over the keys it may attend to.
        Both keep the dtype of q (float32 in, float32 out).

    Equation:
        scores  = q k^T / sqrt(d)
        weights = softmax(scores) over the keys (the last axis)
        context = weights v

    Steps:
        1. scores: q @ k.swapaxes(-1, -2) (the @ operator broadcasts over the leading
           axes; np.einsum("...qd,...kd->...qk", q, k) says the same), divided by
           math.sqrt(d) where d = q.shape[-1].
        2. If a mask is given, put np.finfo(scores.dtype).min where it is False
           (np.where(mask, scores, ...)).
        3. weights: a softmax over the last axis. Subtract each row's maximum
           (max(axis=-1, keepdims=True)), exponentiate, divide by the row's sum.
        4. Dropout, only when dropout_p > 0: keep each weight with probability
           1 - dropout_p (np.random.default_rng().random(shape) >= dropout_p) and
           divide the kept ones by 1 - dropout_p.
        5. context: weights @ v.

    Pitfalls:
        - Scale the scores once, by sqrt(d) (not d), before the softmax.
        - The softmax runs over the keys (axis=-1): each query's row must sum to 1.
        - Without the max subtracted, large scores overflow to inf and give NaN.
        - Use the dtype's most negative finite value, not -inf (a row with every key
          hidden would become NaN) and not a hand-picked -1e4 (large scores beat it).
        - Divide by math.sqrt(d), a Python float: np.sqrt(d) is a float64 NumPy scalar,
          and NumPy 2 turns float32 scores into float64 when you divide by it.
    """
    raise NotImplementedError("exercise 1, attention.py: write scaled_dot_product_attention")
