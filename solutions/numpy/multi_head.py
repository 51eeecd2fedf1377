# Same as solutions/multi_head.py: module docstring except "Exercise 2", "The H projections"
"""Exercise 2 (NumPy track): linear layers and multi-head attention.

One attention over the full width can only average in one way. Multi-head attention
projects the input into H smaller query/key/value spaces, lets each head attend on its
own, then concatenates the heads and mixes them with one more projection.

    MultiHead(X) = Concat(head_1, ..., head_H) W_O,
    head_i = Attention(X W_Q_i, X W_K_i, X W_V_i)            (Vaswani et al., 2017, sec. 3.2.2)

The H projections of width Dh = D / H are computed as one (D, D) projection and then
split, which is what `split_heads` and `merge_heads` do. With no framework, the
projection itself is yours too: `Linear` is the NumPy track's nn.Linear.

Hugging Face counterparts: `BertSelfAttention` (q/k/v projections, split, attention,
merge) and the `dense` layer of `BertSelfOutput` (our `out_proj`).

Shapes: B batch, L length, D width, H heads, Dh = D // H head width.
"""

import math
import numbers

import numpy as np

from .attention import scaled_dot_product_attention


class Linear:
    """y = x W^T + b, the NumPy track's nn.Linear.

    Args:
        in_features: the width of the input.
        out_features: the width of the output.

    Parameters (plain arrays, float32): weight, shape (out_features, in_features), as
    nn.Linear and BERT store it; bias, shape (out_features,). Both drawn uniformly
    from [-1/sqrt(in_features), 1/sqrt(in_features)], as nn.Linear does.

    Forward:
        x: shape (..., in_features). Returns shape (..., out_features).

    Pitfalls:
        - The weight is (out, in): multiply by its transpose, x @ weight.T.
        - NumPy's random numbers are float64; cast the parameters with .astype(np.float32).
    """

    def __init__(self, in_features, out_features):
        # BEGIN SOLUTION
        bound = 1.0 / math.sqrt(in_features)
        rng = np.random.default_rng()
        self.weight = rng.uniform(-bound, bound, (out_features, in_features)).astype(np.float32)
        self.bias = rng.uniform(-bound, bound, out_features).astype(np.float32)
        # END SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION
        # @ broadcasts over every leading axis of x; + bias broadcasts over them too.
        return x @ self.weight.T + self.bias  # (..., out_features)
        # END SOLUTION

    __call__ = forward  # call it like a function, as in PyTorch


# Same as solutions/multi_head.py: split_heads docstring except "Steps", "Pitfalls"
def split_heads(x, num_heads):
    """Split the last axis into heads and move the head axis before the length.

    Args:
        x: shape (B, L, D).
        num_heads: H; D must be divisible by H.

    Returns:
        shape (B, H, L, Dh) with Dh = D // H, where out[:, h] is
        x[:, :, h * Dh:(h + 1) * Dh]: head h owns the h-th slice of the width.

    Steps:
        1. Reshape x to (B, L, H, Dh): each token's vector cut into H pieces.
        2. Swap the L and H axes (x.transpose(0, 2, 1, 3)) so every head sees a whole sequence.

    Pitfalls:
        - Reshaping straight to (B, H, L, Dh) gives the right shape and the wrong
          numbers: it slices the flattened sequence, not each token's vector.
        - NumPy's x.transpose takes the whole new order of the axes, not two axes to swap.
    """
    # BEGIN SOLUTION
    batch, length, width = x.shape
    x = x.reshape(batch, length, num_heads, width // num_heads)  # (B, L, H, Dh)
    return x.transpose(0, 2, 1, 3)  # (B, H, L, Dh)
    # END SOLUTION


# Same as solutions/multi_head.py: merge_heads docstring except "Steps"
def merge_heads(x):
    """Undo `split_heads`: concatenate the heads back into one width.

    Args:
        x: shape (B, H, L, Dh).

    Returns:
        shape (B, L, D) with D = H * Dh; merge_heads(split_heads(x, H)) == x.

    Steps:
        1. Swap the H and L axes back: (B, L, H, Dh).
        2. Reshape the last two axes into D (NumPy copies when it has to).

    Pitfalls:
        - Reshaping (B, H, L, Dh) straight to (B, L, D) mixes tokens together.
    """
    # BEGIN SOLUTION
    batch, num_heads, length, head_width = x.shape
    x = x.transpose(0, 2, 1, 3)  # (B, L, H, Dh)
    return x.reshape(batch, length, num_heads * head_width)  # (B, L, D)
    # END SOLUTION


# Same as solutions/multi_head.py: MultiHeadAttention docstring except "Args", "Sub-modules", "Steps"
class MultiHeadAttention:
    """Self-attention with H heads, as in BERT.

    Args:
        d_model: D, the width of the input and the output.
        num_heads: H. D must be divisible by H, or ValueError names both numbers.
            A num_heads that is not a positive integer raises ValueError in given
            code (`_check_num_heads`, below) before yours runs.
        dropout: accepted so the signature is the PyTorch track's; the NumPy track is
            inference only (as in eval()), so it is never applied.

    Sub-modules: q_proj, k_proj, v_proj, out_proj, each Linear(D, D).

    Forward:
        x: shape (B, L, D).
        mask: optional boolean mask broadcastable to (B, H, L, L); True means "may
            attend". A padding mask of shape (B, 1, 1, L) hides padded keys.
            scaled_dot_product_attention checks it against the (B, H, L, L) scores: a
            (B, L) mask without its head and query axes raises ValueError when B > 1.
        Returns (out (B, L, D), weights (B, H, L, L)).

    Steps (forward):
        1. Project x into q, k, v, each (B, L, D), then split each into heads.
        2. Run scaled_dot_product_attention on all heads at once (it broadcasts over B and H).
        3. Merge the heads and apply out_proj.
    """

    def __init__(self, d_model, num_heads, dropout=0.0):
        _check_num_heads(d_model, num_heads)  # given: a positive whole number
        # BEGIN SOLUTION
        if d_model % num_heads != 0:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads}: "
                f"each head needs an equal share of the width"
            )
        self.num_heads = num_heads
        self.q_proj = Linear(d_model, d_model)
        self.k_proj = Linear(d_model, d_model)
        self.v_proj = Linear(d_model, d_model)
        self.out_proj = Linear(d_model, d_model)
        # END SOLUTION

    def forward(self, x, mask=None):
        # BEGIN SOLUTION
        q = split_heads(self.q_proj(x), self.num_heads)  # (B, H, L, Dh)
        k = split_heads(self.k_proj(x), self.num_heads)  # (B, H, L, Dh)
        v = split_heads(self.v_proj(x), self.num_heads)  # (B, H, L, Dh)
        context, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, L, Dh), (B, H, L, L)
        # The output projection is what lets the heads talk to each other.
        out = self.out_proj(merge_heads(context))  # (B, L, D)
        return out, weights
        # END SOLUTION

    __call__ = forward


# ---- given code, kept as it is in exercises/: the head count's check (not part of the exercise) ----


# Same as solutions/multi_head.py: _check_num_heads
def _check_num_heads(d_model, num_heads):
    """Refuse a head count that is not a positive whole number (0 would divide by zero; -5 "divides" 30).

    Whether it divides d_model is the exercise's own check, in __init__.
    """
    if not isinstance(num_heads, numbers.Integral) or num_heads < 1:
        raise ValueError(
            f"num_heads={num_heads!r} must be a positive divisor of d_model={d_model}: "
            f"the number of heads, each with d_model // num_heads of the width"
        )
