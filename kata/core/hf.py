"""Hugging Face models to hold the kata to, built the same way by the tests and the grader.

The tests of exercises 2 to 5 compare with `tiny_bert()`'s embeddings and first layer. Importing
transformers takes longer than all of those tests together, so its outputs on their inputs are recorded
once (`python -m kata.maintainer.record_hf`) in RECORDING, which those tests load instead; a
maintainer test (maintainer_tests/test_hf_recording.py) checks the recording against live transformers.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # transformers is imported only when used
    from transformers import BertConfig, BertModel

RECORDING = Path(__file__).parent / "data" / "hf_tiny_bert.pt"

# The config numbers the recorded tests build their modules from.
RECORDED_CONFIG = (
    "vocab_size",
    "hidden_size",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
    "layer_norm_eps",
    "hidden_act",
)

# (B, L) of the embeddings cases: one token, a few, and exactly max_position_embeddings.
EMBEDDINGS_SHAPES = ((3, 1), (2, 7), (3, 23))


def tiny_bert_config() -> "BertConfig":
    """A BERT config with small, odd, mutually different sizes, so a swapped axis cannot hide."""
    from transformers import BertConfig

    # attn_implementation reaches PreTrainedConfig through **kwargs, which BertConfig's signature hides.
    return BertConfig(  # type: ignore[call-arg]
        vocab_size=97,
        hidden_size=30,
        num_attention_heads=5,  # head width 6
        num_hidden_layers=2,
        intermediate_size=43,
        max_position_embeddings=23,
        type_vocab_size=3,
        layer_norm_eps=1e-12,
        hidden_act="gelu",
        attn_implementation="eager",
    )


def tiny_bert() -> "BertModel":
    """A randomly initialised BertModel (no download) in eval mode, the same in every process.

    Every parameter is redrawn, layer norms included, so that swapping any two weights
    while loading changes the output.
    """
    from transformers import BertModel

    torch.manual_seed(0)
    model = BertModel(tiny_bert_config()).eval()
    from .checking import generator as seeded_generator  # a hidden check's seed moves it too

    generator = seeded_generator(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            centre = 1.0 if "LayerNorm.weight" in name else 0.0
            parameter.copy_(centre + 0.2 * noise)
    return model


def load_recording(path: Path = RECORDING) -> dict[str, Any]:
    """The recording written by `save_recording`; needs torch only, not transformers."""
    return torch.load(path, weights_only=True)
