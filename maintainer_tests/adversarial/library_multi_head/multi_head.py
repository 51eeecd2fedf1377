"""Exercise 2: multi-head attention.

One attention over the full width can only average in one way. Multi-head attention
projects the input into H smaller query/key/value spaces, lets each head attend on its
own, then concatenates the heads and mixes them with one more projection.

    MultiHead(X) = Concat(head_1, ..., head_H) W_O,
    head_i = Attention(X W_Q_i, X W_K_i, X W_V_i)            (Vaswani et al., 2017, sec. 3.2.2)

The H projections of width Dh = D / H are computed as one (D, D) projection and then
split, which is what `split_heads` and `merge_heads` do.

Hugging Face counterparts: `BertSelfAttention` (q/k/v projections, split, attention,
merge) and the `dense` layer of `BertSelfOutput` (our `out_proj`).

Shapes: B batch, L length, D width, H heads, Dh = D // H head width.
"""

import numbers

import torch
import torch.nn as nn

from .attention import scaled_dot_product_attention


def split_heads(x, num_heads):
    """Split the last axis into heads and move the head axis before the length.

    Args:
        x: shape (B, L, D).
        num_heads: H; D must be divisible by H.

    Returns:
        shape (B, H, L, Dh) with Dh = D // H, where out[:, h] is
        x[:, :, h * Dh:(h + 1) * Dh]: head h owns the h-th slice of the width.

    Steps:
        1. View x as (B, L, H, Dh): each token's vector cut into H pieces.
        2. Swap the L and H axes so every head sees a whole sequence.

    Pitfalls:
        - Viewing straight to (B, H, L, Dh) gives the right shape and the wrong
          numbers: it slices the flattened sequence, not each token's vector.
    """
    # BEGIN SOLUTION
    batch, length, width = x.shape
    x = x.view(batch, length, num_heads, width // num_heads)  # (B, L, H, Dh)
    return x.transpose(1, 2)  # (B, H, L, Dh)
    # END SOLUTION


def merge_heads(x):
    """Undo `split_heads`: concatenate the heads back into one width.

    Args:
        x: shape (B, H, L, Dh).

    Returns:
        shape (B, L, D) with D = H * Dh; merge_heads(split_heads(x, H)) == x.

    Steps:
        1. Swap the H and L axes back: (B, L, H, Dh).
        2. Flatten the last two axes into D. After a transpose the memory is no
           longer in order, so use .reshape (or .contiguous().view).

    Pitfalls:
        - Reshaping (B, H, L, Dh) straight to (B, L, D) mixes tokens together.
    """
    # BEGIN SOLUTION
    batch, num_heads, length, head_width = x.shape
    x = x.transpose(1, 2)  # (B, L, H, Dh)
    return x.reshape(batch, length, num_heads * head_width)  # (B, L, D)
    # END SOLUTION


class MultiHeadAttention(nn.Module):
    """Self-attention with H heads, as in BERT.

    Args:
        d_model: D, the width of the input and the output.
        num_heads: H. D must be divisible by H, or ValueError names both numbers.
            A num_heads that is not a positive integer raises ValueError in given
            code (`_check_num_heads`, below) before yours runs.
        dropout: dropout probability, applied where BERT applies it: to the attention
            weights and to the output of `out_proj`. Inactive in eval().

    Sub-modules: q_proj, k_proj, v_proj, out_proj, each nn.Linear(D, D).

    Forward:
        x: shape (B, L, D).
        mask: optional boolean mask broadcastable to (B, H, L, L); True means "may
            attend". A padding mask of shape (B, 1, 1, L) hides padded keys.
            scaled_dot_product_attention checks it against the (B, H, L, L) scores: a
            (B, L) mask without its head and query axes raises ValueError when B > 1.
        Returns (out (B, L, D), weights (B, H, L, L)).

    Steps (forward):
        1. Project x into q, k, v, each (B, L, D), then split each into heads.
        2. Run scaled_dot_product_attention per head (it broadcasts over B and H);
           pass dropout_p=self.dropout.p only while self.training.
        3. Merge the heads, apply out_proj and dropout.
    """

    def __init__(self, d_model, num_heads, dropout=0.0):
        super().__init__()
        _check_num_heads(d_model, num_heads)  # given: a positive whole number
        # BEGIN SOLUTION
        if d_model % num_heads != 0:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads}: "
                f"each head needs an equal share of the width"
            )
        self.num_heads = num_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        # END SOLUTION

    def forward(self, x, mask=None):
        # The library's module, its weights shared with ours (the same tensors, packed).
        library = nn.MultiheadAttention(self.q_proj.in_features, self.num_heads, batch_first=True)
        with torch.no_grad():
            library.in_proj_weight.copy_(torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight]))
            library.in_proj_bias.copy_(torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]))
            library.out_proj.weight.copy_(self.out_proj.weight)
            library.out_proj.bias.copy_(self.out_proj.bias)
        hidden = None if mask is None else ~mask.expand(x.shape[0], self.num_heads, x.shape[1], x.shape[1]).reshape(-1, x.shape[1], x.shape[1])
        out, weights = library(x, x, x, attn_mask=hidden, average_attn_weights=False)
        return out, weights


# ---- given code, kept as it is in exercises/: the head count's check (not part of the exercise) ----


def _check_num_heads(d_model, num_heads):
    """Refuse a head count that is not a positive whole number (0 would divide by zero; -5 "divides" 30).

    Whether it divides d_model is the exercise's own check, in __init__.
    """
    if not isinstance(num_heads, numbers.Integral) or num_heads < 1:
        raise ValueError(
            f"num_heads={num_heads!r} must be a positive divisor of d_model={d_model}: "
            f"the number of heads, each with d_model // num_heads of the width"
        )
