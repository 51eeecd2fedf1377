# Generated from solutions/attention.py by `kata stubs`. This file is yours:
# replace every `raise NotImplementedError` with your code, then run
# `pytest tests/test_attention.py` to check it.
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
            "this query may attend to this key", False hides the key.
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
    raise NotImplementedError("exercise 1, attention.py: write scaled_dot_product_attention")
