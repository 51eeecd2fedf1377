# Generated from solutions/numpy/positional.py by `kata stubs`. This file is yours:
# replace every `raise NotImplementedError` with your code, then run
# `pytest tests/test_positional.py --track numpy` to check it.
# Same as solutions/positional.py: module docstring except "Exercise 5", "An embedding is a table"
"""Exercise 5 (NumPy track): embeddings and positional encoding.

Attention itself is blind to order: shuffle the tokens and each output moves with its
token, unchanged. So every input vector gets its position added in. The original
Transformer adds a fixed table of sines and cosines of geometrically spaced
frequencies; BERT learns one vector per position instead, and also adds a learned
vector per segment ("token type": sentence A or B).

    PE[pos, 2i]     = sin(pos / 10000^(2i / D))
    PE[pos, 2i + 1] = cos(pos / 10000^(2i / D))              (Vaswani et al., 2017, sec. 3.5)

    embeddings = LayerNorm(word[input_ids] + position[0..L-1] + token_type[token_type_ids])

An embedding is a table with one row per id, and looking ids up is indexing:
table[ids] has shape ids.shape + (D,). `Embedding` is the NumPy track's nn.Embedding.

Hugging Face counterpart: `BertEmbeddings` (learned positions).

Shapes: B batch, L length, D width.
"""

import math

import numpy as np

from .layer_norm import LayerNorm


# Same as solutions/positional.py: sinusoidal_positional_encoding docstring except "Returns", "Steps", "Pitfalls"
def sinusoidal_positional_encoding(max_len, d_model):
    """The fixed position table of "Attention Is All You Need".

    Args:
        max_len: the number of positions, 0 .. max_len - 1.
        d_model: D, the width. Odd widths work: the last column is a sine.

    Returns:
        a float32 array of shape (max_len, D): column 2i holds
        sin(pos / 10000^(2i / D)), column 2i + 1 holds cos(pos / 10000^(2i / D)).

    Steps:
        1. positions: 0 .. max_len - 1 as a column, shape (max_len, 1).
        2. frequencies: 1 / 10000^(2i / D) for 2i = 0, 2, 4, ..., shape (ceil(D/2),).
        3. angles = positions * frequencies, shape (max_len, ceil(D/2)) by broadcasting.
        4. sin(angles) into the even columns (table[:, 0::2]), cos(angles) into the odd ones.

    Pitfalls:
        - The exponent is 2i / D, where 2i is the even column index: not i / D.
        - Positions start at 0, so row 0 is [0, 1, 0, 1, ...].
        - np.arange and np.zeros make int64 and float64 unless told: pass dtype=np.float32.
    """
    raise NotImplementedError("exercise 5, positional.py: write sinusoidal_positional_encoding")


class Embedding:
    """A lookup table with one learned vector per id, the NumPy track's nn.Embedding.

    Args:
        num_embeddings: the number of ids (rows).
        embedding_dim: D, the width of each vector.

    Parameters: weight, a float32 array of shape (num_embeddings, D), drawn from the
    standard normal distribution as nn.Embedding does.

    Forward:
        ids: an integer array of any shape. Returns shape ids.shape + (D,).
    """

    def __init__(self, num_embeddings, embedding_dim):
        raise NotImplementedError("exercise 5, positional.py: write Embedding.__init__")

    def forward(self, ids):
        raise NotImplementedError("exercise 5, positional.py: write Embedding.forward")

    __call__ = forward


# Same as solutions/positional.py: Embeddings docstring except "Args", "Sub-modules", "Steps"
class Embeddings:
    """Token, position and token-type embeddings, summed and normalised, as in BERT.

    Args:
        vocab_size: number of token ids.
        d_model: D.
        max_len: the longest sequence the model accepts.
        type_vocab_size: number of token types (segments); BERT uses 2.
        eps: the LayerNorm's eps (BERT: 1e-12).
        dropout: accepted so the signature is the PyTorch track's; the NumPy track is
            inference only, so it is never applied.
        positional: "learned" (BERT: an Embedding(max_len, D)) or "sinusoidal" (the
            fixed (max_len, D) array from sinusoidal_positional_encoding, which is not
            learned). Anything else raises ValueError.

    Sub-modules: word_embeddings, position_embeddings (an Embedding, or the fixed array
    when sinusoidal), token_type_embeddings, norm (LayerNorm).

    Forward:
        input_ids: (B, L) integer token ids.
        token_type_ids: optional (B, L) integers; all zeros when not given.
        Returns (B, L, D). A sequence longer than max_len raises ValueError that
        names both lengths.

    Steps (forward):
        1. Check L against max_len.
        2. Look up words (B, L, D), positions 0 .. L-1 (L, D) and token types (B, L, D).
        3. Sum them (the (L, D) positions broadcast over the batch), then norm.
    """

    def __init__(
        self,
        vocab_size,
        d_model,
        max_len,
        type_vocab_size=2,
        eps=1e-12,
        dropout=0.0,
        positional="learned",
    ):
        raise NotImplementedError("exercise 5, positional.py: write Embeddings.__init__")

    def forward(self, input_ids, token_type_ids=None):
        raise NotImplementedError("exercise 5, positional.py: write Embeddings.forward")

    __call__ = forward
