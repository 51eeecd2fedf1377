# Generated from solutions/feed_forward.py by `kata stubs`. This file is yours:
# replace every `raise NotImplementedError` with your code, then run
# `pytest tests/test_feed_forward.py` to check it.
"""Exercise 3: the position-wise feed-forward network.

Attention mixes information between positions; the feed-forward network then
transforms each position on its own: widen from D to F (BERT uses F = 4D), apply a
non-linearity, and project back to D. Same weights at every position.

    FFN(x) = GELU(x W_1 + b_1) W_2 + b_2                     (Vaswani et al., 2017, eq. 2,
                                                              with BERT's GELU for ReLU)
    GELU(x) = x * Phi(x) = x * (1 + erf(x / sqrt(2))) / 2     (Hendrycks & Gimpel, 2016)

Hugging Face counterparts: `BertIntermediate` (W_1 and the activation) and the `dense`
layer of `BertOutput` (W_2).

Shapes: B batch, L length, D width, F feed-forward width.
"""

import math

import torch
import torch.nn as nn


def gelu(x):
    """The exact GELU that BERT uses: x * Phi(x), Phi the standard normal CDF.

    Args:
        x: a tensor of any shape.

    Returns:
        a tensor of the same shape and dtype.

    Equation:
        GELU(x) = 0.5 * x * (1 + erf(x / sqrt(2)))

    Pitfalls:
        - The tanh formula 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) is an
          approximation; it is off by up to about 1e-3, far beyond the tolerance.
        - Don't call torch.nn.functional.gelu: the point is to write it.
    """
    raise NotImplementedError("exercise 3, feed_forward.py: write gelu")


class FeedForward(nn.Module):
    """Two linear layers with an activation between them, applied at every position.

    Args:
        d_model: D, the input and output width.
        d_ff: F, the hidden width (BERT: 4 * D).
        activation: "gelu" (BERT, the `gelu` above) or "relu" (the original
            Transformer). Anything else raises ValueError.
        dropout: dropout probability on the output, where BERT's `BertOutput` has it.

    Sub-modules: linear1 = nn.Linear(D, F), linear2 = nn.Linear(F, D).

    Forward:
        x: shape (B, L, D) (any leading dimensions work). Returns the same shape.

    Steps (forward):
        1. hidden = activation(linear1(x))     (B, L, F)
        2. out = dropout(linear2(hidden))      (B, L, D)
    """

    def __init__(self, d_model, d_ff, activation="gelu", dropout=0.0):
        super().__init__()
        raise NotImplementedError("exercise 3, feed_forward.py: write FeedForward.__init__")

    def forward(self, x):
        raise NotImplementedError("exercise 3, feed_forward.py: write FeedForward.forward")
