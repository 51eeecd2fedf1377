"""Record Hugging Face's outputs for the tests of exercises 2 to 5 (maintainers only).

    python -m kata.maintainer.record_hf --record

Runs kata.core.hf.tiny_bert() on those tests' inputs with live transformers and writes
kata/core/data/hf_tiny_bert.pt, which the tests load instead of importing transformers.
Rerunning it rewrites the file byte for byte.
"""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..core.hf import EMBEDDINGS_SHAPES, RECORDED_CONFIG, RECORDING, tiny_bert
from ..core.paths import shown_path


def record_tiny_bert() -> dict[str, Any]:
    """What the tests of exercises 2 to 5 need of `tiny_bert()`, computed with live transformers.

    A dict of plain values and tensors: "config" (RECORDED_CONFIG), "weights" (the
    embeddings' and layer 0's parameters under Hugging Face's names), and one entry per
    exercise ("multi_head", "feed_forward", "layer_norm", "positional") holding its test's
    inputs and Hugging Face's outputs on them.
    """
    model = tiny_bert()
    config, layer = model.config, model.encoder.layer[0]
    with torch.no_grad():
        return {
            "config": {name: getattr(config, name) for name in RECORDED_CONFIG},
            "weights": {
                name: parameter.detach().clone()
                for name, parameter in model.named_parameters()
                if name.startswith(("embeddings.", "encoder.layer.0."))
            },
            "multi_head": _record_attention(layer.attention),
            "feed_forward": _record_feed_forward(layer),
            "layer_norm": _record_output(layer.output),
            "positional": {
                (batch, length): _record_embeddings(model.embeddings, config, batch, length)
                for batch, length in EMBEDDINGS_SHAPES
            },
        }


def _generator(seed):
    """A new torch.Generator seeded with `seed`."""
    return torch.Generator().manual_seed(seed)


def _record_attention(attention):
    """BertSelfAttention, then BertSelfOutput.dense, on a (3, 7, D) input without a mask and with padding."""
    batch, length, width = 3, 7, attention.self.query.in_features
    x = torch.randn(batch, length, width, generator=_generator(6))
    # (B, L) True for real tokens: a random number per row, row 0 always padded.
    lengths = torch.randint(1, length + 1, (batch,), generator=_generator(106))
    lengths[0] = (length + 1) // 2
    keep = torch.arange(length) < lengths.unsqueeze(-1)
    # BERT's mask is additive: the dtype's most negative value on padded keys.
    additive = torch.zeros(batch, 1, 1, length).masked_fill(
        ~keep[:, None, None, :], torch.finfo(torch.float32).min
    )
    recorded: dict[str, object] = {"x": x, "keep": keep}
    for case, mask in (("unmasked", None), ("padded", additive)):
        context, weights = attention.self(x, mask)
        recorded[case] = {"weights": weights, "out": attention.output.dense(context)}
    return recorded


def _record_feed_forward(layer):
    """BertIntermediate (dense + GELU), then BertOutput.dense, on a (2, 9, D) input."""
    x = torch.randn(2, 9, layer.intermediate.dense.in_features, generator=_generator(3))
    return {"x": x, "out": layer.output.dense(layer.intermediate(x))}


def _record_output(bert_output):
    """BertOutput(hidden, residual) = LayerNorm(dense(hidden) + residual), with LayerNorm's input."""
    d_ff, width = bert_output.dense.in_features, bert_output.dense.out_features
    generator = _generator(10)
    hidden = torch.randn(2, 9, d_ff, generator=generator)
    residual = torch.randn(2, 9, width, generator=generator)
    return {"x": bert_output.dense(hidden) + residual, "out": bert_output(hidden, residual)}


def _record_embeddings(embeddings, config, batch, length):
    """BertEmbeddings on (B, L) random token ids, with token type ids (all types in row 0) and without."""
    generator = _generator(length)
    input_ids = torch.randint(0, config.vocab_size, (batch, length), generator=generator)
    token_type_ids = torch.randint(0, config.type_vocab_size, (batch, length), generator=generator)
    token_type_ids[0] = torch.arange(length) % config.type_vocab_size
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type_ids,
        "out": embeddings(input_ids=input_ids, token_type_ids=token_type_ids),
        "out_without_token_types": embeddings(input_ids=input_ids),
    }


def save_recording(path: Path = RECORDING) -> None:
    """Record `tiny_bert()` (record_tiny_bert) and write it to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(record_tiny_bert(), path)


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m kata.maintainer.record_hf --record`: rewrite RECORDING from live transformers."""
    parser = argparse.ArgumentParser(
        prog="python -m kata.maintainer.record_hf",
        description="Record Hugging Face's outputs for the tests of exercises 2 to 5.",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        required=True,
        help=f"run tiny_bert() on those tests' inputs and write {shown_path(RECORDING)}",
    )
    parser.parse_args(argv)
    save_recording()
    print(f"wrote {shown_path(RECORDING)} ({RECORDING.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
