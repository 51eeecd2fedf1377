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
import torch.nn.functional as F


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
    # BEGIN SOLUTION
    # Phi(x) = (1 + erf(x / sqrt(2))) / 2 is the standard normal CDF, so this is x * Phi(x).
    return F.gelu(x)
    # END SOLUTION


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
        # BEGIN SOLUTION
        activations = {"gelu": gelu, "relu": torch.relu}
        if activation not in activations:
            raise ValueError(f"activation must be 'gelu' or 'relu', not {activation!r}")
        self.activation = activations[activation]
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)
        # END SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION
        hidden = self.activation(self.linear1(x))  # (B, L, F)
        return self.dropout(self.linear2(hidden))  # (B, L, D)
        # END SOLUTION
