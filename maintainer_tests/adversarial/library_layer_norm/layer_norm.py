"""Exercise 4: layer normalisation.

Each position's vector is rescaled to zero mean and unit variance over its D features,
then given back a learned scale and shift. This keeps the residual stream's size under
control from layer to layer, whatever the batch holds (unlike batch norm).

    LayerNorm(x) = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias
                                                             (Ba, Kiros & Hinton, 2016)

mean and var are over the last axis; var is the biased (population) variance, divided
by D rather than D - 1, and eps sits inside the square root.

Hugging Face counterpart: BERT uses `torch.nn.LayerNorm` (named `LayerNorm` in
`BertEmbeddings`, `BertSelfOutput` and `BertOutput`) with eps = 1e-12.

Shapes: B batch, L length, D width.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


def layer_norm(x, weight, bias, eps):
    """Normalise x over its last axis, then scale by weight and shift by bias.

    Args:
        x: shape (..., D).
        weight: shape (D,), the learned scale (gamma).
        bias: shape (D,), the learned shift (beta).
        eps: a small number added to the variance, inside the square root.

    Returns:
        shape (..., D).

    Equation:
        mean = the average of x over the last axis
        var  = the average of (x - mean)^2 over the last axis (biased: divided by D)
        y    = (x - mean) / sqrt(var + eps) * weight + bias

    Pitfalls:
        - torch.var divides by D - 1 by default; layer norm uses the biased
          variance (unbiased=False, or correction=0).
        - eps goes inside the square root: sqrt(var + eps), not sqrt(var) + eps.
        - Reduce over the last axis only, with keepdim=True so it broadcasts back.
        - float16 overflows past 65504: (x - mean) ** 2 does once |x - mean| > 256, and
          the output silently becomes zeros. For float16 (and bfloat16) input, compute
          in float32 (x.float()), as torch does, and cast the normalised x back to x's dtype.
    """
    return F.layer_norm(x, x.shape[-1:], weight, bias, eps)


class LayerNorm(nn.Module):
    """Layer normalisation with a learned scale and shift.

    Args:
        d_model: D, the width normalised over.
        eps: added to the variance inside the square root. BERT uses 1e-12.

    Parameters: weight, shape (D,), initialised to ones; bias, shape (D,), zeros.
    So a fresh LayerNorm only normalises.

    Forward:
        x: shape (..., D). Returns the same shape, using `layer_norm` above.
    """

    def __init__(self, d_model, eps=1e-5):
        super().__init__()
        # BEGIN SOLUTION
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model))
        # END SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION
        return layer_norm(x, self.weight, self.bias, self.eps)  # (..., D)
        # END SOLUTION
