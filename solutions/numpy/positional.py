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
    # BEGIN SOLUTION
    positions = np.arange(max_len, dtype=np.float32)[:, None]  # (max_len, 1)
    even_columns = np.arange(0, d_model, 2, dtype=np.float32)  # (ceil(D/2),)
    # exp(-log(10000) * 2i / D) is 1 / 10000^(2i / D), computed without huge powers.
    frequencies = np.exp(-math.log(10000.0) * even_columns / d_model)  # (ceil(D/2),)
    angles = positions * frequencies  # (max_len, ceil(D/2))
    table = np.zeros((max_len, d_model), dtype=np.float32)  # (max_len, D)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : d_model // 2])  # an odd D has one cosine fewer
    return table
    # END SOLUTION


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
        # BEGIN SOLUTION
        rng = np.random.default_rng()
        self.weight = rng.standard_normal((num_embeddings, embedding_dim)).astype(np.float32)
        # END SOLUTION

    def forward(self, ids):
        # BEGIN SOLUTION
        return self.weight[ids]  # ids.shape + (D,): integer-array indexing picks whole rows
        # END SOLUTION

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
        # BEGIN SOLUTION
        self.max_len = max_len
        self.word_embeddings = Embedding(vocab_size, d_model)
        if positional == "learned":
            self.position_embeddings = Embedding(max_len, d_model)
        elif positional == "sinusoidal":
            self.position_embeddings = sinusoidal_positional_encoding(max_len, d_model)  # fixed
        else:
            raise ValueError(f"positional must be 'learned' or 'sinusoidal', not {positional!r}")
        self.token_type_embeddings = Embedding(type_vocab_size, d_model)
        self.norm = LayerNorm(d_model, eps=eps)
        # END SOLUTION

    def forward(self, input_ids, token_type_ids=None):
        # BEGIN SOLUTION
        length = input_ids.shape[1]
        if length > self.max_len:
            raise ValueError(
                f"the input has {length} tokens but the model takes at most max_len={self.max_len}"
            )
        if token_type_ids is None:
            token_type_ids = np.zeros_like(input_ids)  # (B, L): all sentence A
        positions = np.arange(length)  # (L,)
        if isinstance(self.position_embeddings, Embedding):
            position_vectors = self.position_embeddings(positions)  # (L, D)
        else:
            position_vectors = self.position_embeddings[positions]  # (L, D), fixed table
        words = self.word_embeddings(input_ids)  # (B, L, D)
        token_types = self.token_type_embeddings(token_type_ids)  # (B, L, D)
        summed = words + position_vectors + token_types  # (B, L, D)
        return self.norm(summed)  # (B, L, D)
        # END SOLUTION

    __call__ = forward
