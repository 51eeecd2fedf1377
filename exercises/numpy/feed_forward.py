# Generated from solutions/numpy/feed_forward.py by `kata stubs`. This file is yours:
# replace every `raise NotImplementedError` with your code, then run
# `pytest tests/test_feed_forward.py --track numpy` to check it.
# Same as solutions/feed_forward.py: module docstring except "Exercise 3", "NumPy has no erf"
"""Exercise 3 (NumPy track): the position-wise feed-forward network.

Attention mixes information between positions; the feed-forward network then
transforms each position on its own: widen from D to F (BERT uses F = 4D), apply a
non-linearity, and project back to D. Same weights at every position.

    FFN(x) = GELU(x W_1 + b_1) W_2 + b_2                     (Vaswani et al., 2017, eq. 2,
                                                              with BERT's GELU for ReLU)
    GELU(x) = x * Phi(x) = x * (1 + erf(x / sqrt(2))) / 2     (Hendrycks & Gimpel, 2016)

NumPy has no erf. This track does without SciPy: Python's math.erf is exact, and
np.vectorize applies it to every element (a Python loop underneath, fast enough for
the kata). With SciPy installed, scipy.special.erf does the same in one vectorised call.

Hugging Face counterparts: `BertIntermediate` (W_1 and the activation) and the `dense`
layer of `BertOutput` (W_2).

Shapes: B batch, L length, D width, F feed-forward width.
"""

import math

import numpy as np

from .multi_head import Linear


# Same as solutions/feed_forward.py: gelu docstring except "Args", "Returns", "Steps", "Pitfalls"
def gelu(x):
    """The exact GELU that BERT uses: x * Phi(x), Phi the standard normal CDF.

    Args:
        x: an array of any shape.

    Returns:
        an array of the same shape and dtype.

    Equation:
        GELU(x) = 0.5 * x * (1 + erf(x / sqrt(2)))

    Steps:
        1. erf element by element: np.vectorize(math.erf, otypes=[x.dtype]) gives a
           function of arrays that returns the input's dtype.
        2. Combine: 0.5 * x * (1 + erf(x / math.sqrt(2))).

    Pitfalls:
        - The tanh formula 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) is an
          approximation; it is off by up to about 1e-3, far beyond the tolerance.
        - np.vectorize returns the dtype of its first result unless told (otypes):
          math.erf returns Python floats, so float32 in would give float64 out.
    """
    raise NotImplementedError("exercise 3, feed_forward.py: write gelu")


# Same as solutions/feed_forward.py: FeedForward docstring except "Args", "Sub-modules", "Steps"
class FeedForward:
    """Two linear layers with an activation between them, applied at every position.

    Args:
        d_model: D, the input and output width.
        d_ff: F, the hidden width (BERT: 4 * D).
        activation: "gelu" (BERT, the `gelu` above) or "relu" (the original
            Transformer). Anything else raises ValueError.
        dropout: accepted so the signature is the PyTorch track's; the NumPy track is
            inference only, so it is never applied.

    Sub-modules: linear1 = Linear(D, F), linear2 = Linear(F, D).

    Forward:
        x: shape (B, L, D) (any leading dimensions work). Returns the same shape.

    Steps (forward):
        1. hidden = activation(linear1(x))     (B, L, F)
        2. out = linear2(hidden)               (B, L, D)
    """

    def __init__(self, d_model, d_ff, activation="gelu", dropout=0.0):
        raise NotImplementedError("exercise 3, feed_forward.py: write FeedForward.__init__")

    def forward(self, x):
        raise NotImplementedError("exercise 3, feed_forward.py: write FeedForward.forward")

    __call__ = forward
