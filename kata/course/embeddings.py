"""Exercise 7, embeddings.py (optional, after the capstone): sentence embeddings from the encoder.

Its checks, known mistakes, hints and diverge text (kata/course/__init__.py says how they
are used); each check is also a test in tests/test_embeddings.py. Its checks earn no points
by default: give them points here to grade the exercise (the total must stay 100).
"""

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import torch

from ..core.checking import Check, randn
from ..core.compare import ONE_OP, Mismatch
from ..core.mistakes import Mistake, on_numpy_too
from ..core.shortcuts import Shortcut

NAME = "embeddings"

# ---- probes: what each check runs, on inputs it makes itself ---------------------------


def mean_pool(m: ModuleType) -> dict[str, object]:
    x = randn(4, 7, 10, seed=70)
    mask = (torch.arange(7) < torch.tensor([7, 4, 1, 0])[:, None]).long()  # the last row: no real token
    return {
        "out": m.mean_pool(x, mask),
        "bool_mask": m.mean_pool(x, mask.bool()),
        "float64": m.mean_pool(x.double(), mask),
    }


def normalize(m: ModuleType) -> dict[str, object]:
    x = randn(5, 9, seed=71) * torch.tensor([0.1, 1.0, 3.0, 50.0, 0.0])[:, None]  # the last row is zero
    return {
        "out": m.normalize(x),
        "three_axes": m.normalize(randn(2, 3, 9, seed=72)),
        "float64": m.normalize(x.double()),
    }


# What the model folders the probes write hold: modules.json's Pooling and Normalize entries.
TRANSFORMER = {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}


def _pooling(**modes: bool) -> dict[str, object]:
    keys = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens")
    return {"word_embedding_dimension": 30, **{f"pooling_mode_{key}": modes.get(key, False) for key in keys}}


def _write_model_folder(folder, pooling_path, pooling, normalize, max_seq_length):
    """A sentence-transformers model folder's declarations (no weights) in `folder`."""
    folder.mkdir()
    modules = [
        TRANSFORMER,
        {"idx": 1, "name": "1", "path": pooling_path, "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append(
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
        )
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / pooling_path).mkdir()
    (folder / pooling_path / "config.json").write_text(json.dumps(pooling))
    if max_seq_length is not None:
        (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length}))
    return folder


# name -> (pooling's folder, its config, Normalize listed, max_seq_length)
MODEL_FOLDERS = {
    "minilm_like": ("1_Pooling", _pooling(mean_tokens=True), True, 128),
    "cls": ("pooling", _pooling(cls_token=True), False, None),
    "mean_unnormalized": ("1_Pooling", _pooling(mean_tokens=True), False, 64),
    "cls_normalized": ("1_Pooling", _pooling(cls_token=True), True, None),
    "max": ("1_Pooling", _pooling(max_tokens=True), True, 256),
}


def written_folders(root: str | Path) -> dict[str, Path]:
    """Every folder of MODEL_FOLDERS written under `root`, by name."""
    return {name: _write_model_folder(Path(root) / name, *spec) for name, spec in MODEL_FOLDERS.items()}


def config_fields(prefix: str, config: object) -> dict[str, object]:
    """A PoolingConfig's fields as plain outputs, "prefix.field"."""
    return {
        f"{prefix}.{field}": getattr(config, field, None) for field in ("mode", "normalize", "max_seq_length")
    }


@contextlib.contextmanager
def folders_named(root: str) -> Iterator[None]:
    """An error raised inside names the folders the probe wrote as <model folders>/..., not by their
    temporary path: the same error from the learner's code and a known mistake reads the same."""
    try:
        yield
    except NotImplementedError:
        raise
    except Exception as error:  # re-raised, only its message cleaned
        message = str(error).replace(str(root), "<model folders>")
        if message == str(error):
            raise
        try:
            cleaned = type(error)(message)
        except Exception:  # noqa: BLE001  (an error class that takes other arguments: leave it as it is)
            raise error from None
        raise cleaned.with_traceback(error.__traceback__) from None


def pooling_config(m: ModuleType) -> dict[str, object]:
    outputs = {}
    with tempfile.TemporaryDirectory() as root, folders_named(root):
        folders = written_folders(root)
        for name in ("minilm_like", "cls"):
            outputs.update(config_fields(name, m.pooling_config(folders[name])))
        outputs["unsupported_raised"], outputs["unsupported_message"] = "nothing", ""
        try:
            m.pooling_config(folders["max"])
        except NotImplementedError:
            raise
        except Exception as error:  # the judge decides whether this was the right error
            outputs["unsupported_raised"] = type(error).__name__
            outputs["unsupported_message"] = str(error).replace(root, "<model folders>")[:300]
    return outputs


CONFIG_HINTS = {
    "mode": "the mode is the one pooling_mode_... key that is true in the config.json of the folder modules.json gives the Pooling module",
    "normalize": "normalize is whether modules.json lists a module whose type ends in Normalize",
    "max_seq_length": "max_seq_length is in sentence_bert_config.json, None when the folder has none",
}


def judge_config(actual: dict[str, object], expected: dict[str, object]) -> None:
    """Every field of both folders' PoolingConfig as the reference reads it; max pooling refused."""
    for key, reference in expected.items():
        if key.startswith("unsupported"):
            continue
        folder, field = key.split(".")
        what = f"pooling_config(a {folder.replace('_', '-')} model folder).{field}"
        if actual.get(key) != reference:
            raise Mismatch(
                f"{what}: got {actual.get(key)!r}, expected {reference!r}\n  Where to look: {CONFIG_HINTS[field]}",
                what,
                actual.get(key),
            )
    raised, message = actual.get("unsupported_raised"), str(actual.get("unsupported_message", ""))
    what = "pooling_config(a model folder whose pooling is pooling_mode_max_tokens)"
    if raised != "ValueError":
        raise Mismatch(
            f"{what}: raised {raised}, expected ValueError\n  Where to look: only mean and CLS pooling are "
            "implemented: refuse any other mode with ValueError(...) naming it",
            what,
            raised,
        )
    if "pooling_mode_max_tokens" not in message:
        raise Mismatch(
            f"{what}: raised ValueError({message!r}), but the message should mention 'pooling_mode_max_tokens'",
            what,
            "ValueError without the mode",
        )


def sentence_encoder_pretrained(m: ModuleType) -> dict[str, object]:
    from ..core.checking import hidden_seed
    from ..core.sentences import SENTENCES, tokenize
    from ..core.weights import hidden_sentences, load_pretrained, pretrained_source

    bert, tokenizer = load_pretrained()
    model = m.SentenceEncoder.from_hf(bert, pretrained_source()).eval()
    seed = hidden_seed()  # a hidden check (the Gradescope zip's) runs on sentences no student has seen
    sentences = SENTENCES[:6] if seed is None else hidden_sentences(seed, 6)
    batch = tokenize(tokenizer, sentences, max_seq_length=256)  # 3 to 24 tokens: mostly padding
    return {
        **config_fields("pooling", model.pooling),
        "embeddings": model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]),
        "without_mask": model(batch["input_ids"][:1, :4]),  # "Hi." alone: [CLS] hi . [SEP]
    }


def sentence_encoder_modes(m: ModuleType) -> dict[str, object]:
    from ..core import hf
    from .encoder import tiny_inputs

    encoder = m.Encoder.from_hf(hf.tiny_bert()).eval()  # a random BertModel, width 30: fast
    ids, attention_mask, types = tiny_inputs()  # 11, 8 and 3 real tokens
    outputs = {}
    with tempfile.TemporaryDirectory() as root, folders_named(root):
        folders = written_folders(root)
        for name in ("mean_unnormalized", "cls_normalized", "cls"):
            model = m.SentenceEncoder(encoder, m.pooling_config(folders[name])).eval()
            outputs[name] = model(ids, attention_mask, types)
    return outputs


# ---- the checks: the grader scores them, and each is a test ------------------------------

CHECKS = (
    Check(
        NAME,
        "mean_pool",
        "mean_pool averages the real tokens' vectors only",
        0,
        mean_pool,
        {
            "out": (
                "mean_pool over a padded batch (its last row has no real token)",
                "sum the vectors where the mask is 1, divide by the number of 1s (at least 1e-9)",
            ),
            "bool_mask": ("mean_pool with a boolean mask", "turn the mask into the vectors' dtype first"),
            "float64": ("mean_pool in float64", "turn the mask into the vectors' dtype, not float32"),
        },
    ),
    Check(
        NAME,
        "normalize",
        "normalize gives each vector unit length, a zero vector stays zero",
        0,
        normalize,
        {
            "out": (
                "normalize of five vectors of very different sizes (the last one zero)",
                "divide by the L2 norm over the last axis, at least eps",
            ),
            "three_axes": ("normalize of a (2, 3, 9) input", "the norm is over the last axis only"),
            "float64": ("normalize in float64", None),
        },
    ),
    Check(
        NAME,
        "pooling_config",
        "pooling_config reads the pooling, the normalisation and max_seq_length from a model folder",
        0,
        pooling_config,
        judge=judge_config,
    ),
    Check(
        NAME,
        "pretrained",
        "SentenceEncoder.from_hf gives the reference's embeddings of real sentences (pretrained MiniLM)",
        0,
        sentence_encoder_pretrained,
        {
            **{
                f"pooling.{field}": (f"SentenceEncoder.from_hf(...).pooling.{field} for MiniLM", hint)
                for field, hint in CONFIG_HINTS.items()
            },
            "embeddings": (
                "sentence embeddings of a padded batch of real sentences",
                "run the encoder with the attention mask, mean-pool its last_hidden_state over the real "
                "tokens, then normalize",
            ),
            "without_mask": (
                "sentence embeddings with no attention_mask (every token real)",
                "attention_mask None means every token is real: a mask of ones",
            ),
        },
        atol=ONE_OP,
        needs_weights=True,
    ),
    Check(
        NAME,
        "pooling_modes",
        "SentenceEncoder pools and normalises as the model folder says (mean or CLS, with or without Normalize)",
        0,
        sentence_encoder_modes,
        {
            "mean_unnormalized": (
                "embeddings for a model folder with mean pooling and no Normalize module",
                "normalize only when pooling.normalize is True",
            ),
            "cls_normalized": (
                "embeddings for a model folder with CLS pooling and a Normalize module",
                "with mode 'cls' the embedding is the first token's vector, last_hidden_state[:, 0]",
            ),
            "cls": ("embeddings for a model folder with CLS pooling and no Normalize module", None),
        },
        atol=ONE_OP,
    ),
)

# ---- known mistakes: exact edits of the reference that a learner plausibly makes -----------

MISTAKES = (
    Mistake(
        NAME,
        "mean_over_padding",
        "averaged over every position, padding included (last_hidden_state.mean(dim=1))",
        "    return total / count  # (B, D)\n",
        "    return last_hidden_state.mean(dim=1)  # (B, D)\n",
    ),
    Mistake(
        NAME,
        "padding_summed",
        "summed the padded positions' vectors too, then divided by the number of real tokens",
        "total = (last_hidden_state * mask).sum(dim=1)",
        "total = last_hidden_state.sum(dim=1)",
    ),
    Mistake(
        NAME,
        "divided_by_length",
        "divided the real tokens' sum by the padded length L instead of the number of real tokens",
        "count = mask.sum(dim=1).clamp(min=1e-9)",
        "count = mask.shape[1]",
    ),
    Mistake(
        NAME,
        "no_floor_on_the_count",
        "divided by the number of real tokens without a floor (a row without one gives NaN)",
        "count = mask.sum(dim=1).clamp(min=1e-9)",
        "count = mask.sum(dim=1)",
    ),
    Mistake(
        NAME,
        "no_normalisation",
        "returned the pooled vectors without normalising them",
        "        return normalize(pooled) if self.pooling.normalize else pooled  # (B, D)\n",
        "        return pooled  # (B, D)\n",
    ),
    Mistake(
        NAME,
        "always_normalised",
        "normalised whatever the model folder says",
        "        return normalize(pooled) if self.pooling.normalize else pooled  # (B, D)\n",
        "        return normalize(pooled)  # (B, D)\n",
    ),
    Mistake(
        NAME,
        "cls_instead_of_mean",
        "took the [CLS] token's vector instead of the mean of the tokens",
        "pooled = mean_pool(hidden, attention_mask)  # (B, D)",
        "pooled = hidden[:, 0]  # (B, D)",
    ),
    Mistake(
        NAME,
        "pooling_mode_ignored",
        "always mean-pooled, whatever the pooling mode",
        '        if self.pooling.mode == "cls":\n',
        "        if False:\n",
    ),
    Mistake(
        NAME,
        "mask_not_passed_to_the_encoder",
        "ran the encoder without the attention mask, so real tokens attended to the padding",
        "self.encoder(input_ids, attention_mask, token_type_ids)",
        "self.encoder(input_ids, token_type_ids=token_type_ids)",
    ),
    Mistake(
        NAME,
        "missing_mask_not_made",
        "passed attention_mask=None on to mean_pool instead of a mask of ones",
        "        if attention_mask is None:\n            attention_mask = torch.ones_like(input_ids)\n",
        "",
    ),
    Mistake(
        NAME,
        "normalised_over_the_batch",
        "took the norm over the batch axis (dim=0) instead of each vector's own features",
        "torch.linalg.vector_norm(x, dim=-1, keepdim=True)",
        "torch.linalg.vector_norm(x, dim=0, keepdim=True)",
    ),
    Mistake(
        NAME,
        "l1_norm",
        "divided by the sum of the absolute values (the L1 norm) instead of the L2 norm",
        "torch.linalg.vector_norm(x, dim=-1, keepdim=True)",
        "x.abs().sum(dim=-1, keepdim=True)",
    ),
    Mistake(
        NAME,
        "no_eps",
        "divided by the norm without the eps floor (a zero vector gives NaN)",
        "return x / norm.clamp(min=eps)",
        "return x / norm",
    ),
    Mistake(
        NAME,
        "normalize_assumed",
        "assumed every model normalises, without looking for a Normalize module in modules.json",
        '"Normalize" in kinds, max_seq_length)',
        "True, max_seq_length)",
    ),
    Mistake(
        NAME,
        "mode_hard_coded",
        "hard-coded mean pooling instead of reading the mode from the pooling config",
        "PoolingConfig(POOLING_MODES[chosen[0]],",
        'PoolingConfig("mean",',
    ),
    Mistake(
        NAME,
        "pooling_folder_hard_coded",
        "read the pooling config from 1_Pooling/ instead of the folder modules.json names",
        'folder / kinds["Pooling"]["path"] / "config.json"',
        'folder / "1_Pooling" / "config.json"',
    ),
    Mistake(
        NAME,
        "unsupported_mode_accepted",
        "did not refuse a pooling mode this exercise does not implement",
        "if len(chosen) != 1 or chosen[0] not in POOLING_MODES:",
        "if not chosen:",
    ),
    Mistake(
        NAME,
        "max_seq_length_not_read",
        "did not read max_seq_length from sentence_bert_config.json",
        '"Normalize" in kinds, max_seq_length)',
        '"Normalize" in kinds)',
    ),
)

NUMPY_MISTAKES = (
    Mistake(
        NAME,
        "mean_over_padding",
        "averaged over every position, padding included (last_hidden_state.mean(axis=1))",
        "    return total / count  # (B, D)\n",
        "    return last_hidden_state.mean(axis=1)  # (B, D)\n",
        track="numpy",
    ),
    Mistake(
        NAME,
        "mask_not_cast",
        "multiplied by the int64 mask as it is, which turns float32 vectors into float64",
        "mask = attention_mask[:, :, None].astype(last_hidden_state.dtype)",
        "mask = attention_mask[:, :, None]",
        track="numpy",
    ),
    Mistake(
        NAME,
        "no_floor_on_the_count",
        "divided by the number of real tokens without a floor (a row without one gives NaN)",
        "count = np.maximum(mask.sum(axis=1), 1e-9)",
        "count = mask.sum(axis=1)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "norm_without_keepdims",
        "took the norm without keepdims=True, so it does not broadcast back over the features",
        "np.linalg.norm(x, axis=-1, keepdims=True)",
        "np.linalg.norm(x, axis=-1)",
        track="numpy",
    ),
    *on_numpy_too(MISTAKES, "no_normalisation", "cls_instead_of_mean"),
)

# ---- graded hints: `kata hint embeddings` shows one more each time -------------------------

HINTS = (
    "A sentence embedding is one vector for the whole sentence, made from the encoder's vectors "
    "of its tokens. MiniLM's model folder declares how, in JSON: modules.json lists the "
    "pipeline (a Pooling module, then a Normalize module), the pooling module's config.json "
    "says which pooling, and sentence_bert_config.json how many tokens a sentence may have. "
    "Read them with json.loads(path.read_text()).",
    "mean_pool: the attention mask is 1 for a real token and 0 for padding. Give it a feature "
    "axis, (B, L, 1), in the vectors' dtype; multiplying by it zeroes the padding, so a sum "
    "over the length axis adds the real tokens only, and the mask's own sum over that axis "
    "counts them (keep it at least 1e-9). normalize divides each vector by its L2 norm over "
    "the last axis, kept as (..., 1) and at least eps.",
    "SentenceEncoder.forward: a missing attention_mask is a mask of ones; run self.encoder "
    "with the mask (padding must be hidden from the real tokens too), take last_hidden_state, "
    "pool it as self.pooling.mode says (position 0 for 'cls'), and normalize only when "
    "self.pooling.normalize. from_hf builds the Encoder with Encoder.from_hf and the "
    "PoolingConfig with pooling_config(model_folder). Numbers still off? Compare one sentence "
    "run alone with the same sentence in a padded batch.",
)

# ---- kata diverge: this exercise adds no stage to the encoder's -------------------------------

DIVERGE: dict[str, str] = {}


# ---- no shortcuts: library calls this exercise's code may not make (kata/core/shortcuts.py) ----
# The grader scores 0 the checks of an exercise whose code calls one (and pytest says so first), nor may
# a later exercise's code. To allow a call in your course, remove its entry.

SHORTCUTS = (
    Shortcut(
        NAME,
        "sentence_transformers",
        "sentence_transformers",
        "pool and normalise your own Encoder's output with mean_pool and normalize",
        "import",
    ),
)
