"""Sentence embeddings outside the exercise: real sentences, the corpus to search, and
sentence-transformers' own embeddings of them, recorded.

The tests of exercise 7 (embeddings.py) hold the learner's SentenceEncoder to
sentence-transformers' `SentenceTransformer.encode` of the same model. sentence-transformers
is a maintainer's tool (the `dev` extra), so its embeddings of SENTENCES are recorded once
(`python -m kata.maintainer.record_embeddings --record`) in RECORDING, which the tests load;
maintainer_tests/test_embeddings_recording.py checks the recording against live
sentence-transformers. `kata search` ranks the lines of a file (CORPUS by default) with
`embed` and `rank`.
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # transformers is imported only when used
    from transformers import PreTrainedTokenizerBase

DATA = Path(__file__).parent / "data"
RECORDING = DATA / "sentence_embeddings.pt"
CORPUS = DATA / "corpus.txt"  # a few hundred sentences on many topics, written for the kata

# Real sentences of very different lengths (one token of text to sixty), so that one batch
# of them is mostly padding for the short ones; accents, digits and punctuation included.
SENTENCES = (
    "Hi.",
    "The cat sat on the mat.",
    "Attention is all you need.",
    "A sharp knife is safer than a dull one.",
    "Café au lait, s'il vous plaît: deux, s'il vous plaît!",
    "The Berlin Wall fell in November 1989, and Germany was reunited less than a year later.",
    "Why is the sky blue?",
    "Tokenizers split rare words such as 'unbelievably' or 'transformerification' into pieces.",
    "In 1969 two people walked on the Moon while a third circled above them, waiting to take "
    "them home; half a billion people watched the grainy pictures live on television, and many "
    "of them still remember where they were sitting.",
    "Padding must not change a sentence's embedding.",
)

# The files of a sentence-transformers model folder that say what it does after the encoder.
MODEL_FILES = ("modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "config.json")


def sentence_model_folder(source: str | None) -> Path | None:
    """The pretrained source as a sentence-transformers model folder (it has a modules.json), or None."""
    if source is None or not (Path(source) / "modules.json").is_file():
        return None
    return Path(source)


def fingerprint(folder: str | Path) -> str:
    """SHA-256 of the model folder's configuration files and of its weights' sizes: tells the
    recorded model (all-MiniLM-L6-v2) from any other folder KATA_BERT might name."""
    digest = hashlib.sha256()
    for name in MODEL_FILES:
        path = Path(folder) / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"(missing)") + b"\0")
    for path in sorted(Path(folder).glob("*.safetensors")):
        digest.update(f"{path.name} {path.stat().st_size}\0".encode())
    return digest.hexdigest()


def sentence_transformer(folder: str | Path) -> Any:
    """sentence-transformers' own SentenceTransformer of `folder`, on the CPU and offline; None
    when sentence-transformers is not installed (it is a maintainer's tool: the `dev` extra)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    from transformers.utils import logging

    logging.disable_progress_bar()
    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def load_recording(path: Path = RECORDING) -> dict[str, Any]:
    """What kata.maintainer.record_embeddings wrote: needs torch only."""
    return torch.load(path, weights_only=True)


def corpus_lines(path: str | Path = CORPUS) -> list[str]:
    """The non-empty lines of a text file, stripped."""
    return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def tokenize(
    tokenizer: "PreTrainedTokenizerBase", sentences: Sequence[str], max_seq_length: int | None
) -> dict[str, torch.Tensor]:
    """One padded batch (input_ids, token_type_ids, attention_mask), each sentence cut at
    max_seq_length tokens, as sentence-transformers' Transformer module tokenizes."""
    options: dict[str, Any] = {"truncation": True, "max_length": max_seq_length} if max_seq_length else {}
    return dict(tokenizer(list(sentences), padding=True, return_tensors="pt", **options))


def embed(
    model: Any,
    tokenizer: "PreTrainedTokenizerBase",
    sentences: Sequence[str],
    max_seq_length: int | None,
    batch_size: int = 64,
) -> torch.Tensor:
    """(N, D) embeddings of `sentences` by `model` (a SentenceEncoder), in their order.

    As SentenceTransformer.encode does, it batches the sentences longest first, so that
    each batch holds sentences of about one length and little padding."""
    lengths = [
        len(ids)
        for ids in tokenizer(list(sentences), truncation=bool(max_seq_length), max_length=max_seq_length)[
            "input_ids"
        ]
    ]
    order = sorted(range(len(sentences)), key=lambda i: -lengths[i])
    rows: list[torch.Tensor] = [torch.empty(0)] * len(sentences)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            batch = tokenize(tokenizer, [sentences[i] for i in chosen], max_seq_length)
            for i, row in zip(chosen, model(**batch), strict=True):
                rows[i] = row
    return torch.stack(rows) if rows else torch.empty(0, 0)


def rank(query: torch.Tensor, corpus: torch.Tensor, top: int) -> list[tuple[int, float]]:
    """[(line index, cosine similarity)] of the `top` rows of `corpus` (N, D) most similar to
    `query` (D,), best first. The rows need not be unit length."""
    similarity = torch.nn.functional.cosine_similarity(corpus.double(), query.double()[None, :], dim=-1)
    best = similarity.topk(min(top, len(similarity)))
    return [(int(i), float(s)) for s, i in zip(best.values, best.indices, strict=True)]
