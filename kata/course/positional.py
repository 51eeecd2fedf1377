"""Exercise 5, positional.py: the sinusoidal table and BERT's embeddings.

Its checks, known mistakes, hints and diverge text (kata/course/__init__.py says how they
are used); each check is also a test in tests/test_positional.py.
"""

from types import ModuleType

import torch

from ..core.checking import (
    Check,
    fill_parameters,
    generator,
    judge_dropout_in_train_only,
    judge_error,
    parameter_names,
    raised,
    sized,
    working,
)
from ..core.mistakes import Mistake, on_numpy_too
from ..core.shortcuts import Shortcut

NAME = "positional"

# ---- probes: what each check runs, on inputs it makes itself ---------------------------


def positional_table(m: ModuleType) -> dict[str, object]:
    return {
        "even_width": m.sinusoidal_positional_encoding(sized(50, 40, 64), sized(16, 12, 20)),
        "odd_width": m.sinusoidal_positional_encoding(sized(9, 8, 11), sized(7, 5, 9)),
    }


def embeddings_learned(m: ModuleType) -> dict[str, object]:
    # eps=1e-3, not the default: the norm must be built with the eps given.
    embeddings = fill_parameters(m.Embeddings(97, 30, 23, type_vocab_size=3, eps=1e-3), seed=50)
    ids = torch.randint(0, 97, (2, 23), generator=generator(51))
    types = torch.randint(0, 3, (2, 23), generator=generator(52))
    return {
        "parameters": parameter_names(embeddings),
        "with_types": embeddings(ids, types),
        "without_types": embeddings(ids[:, :9]),
    }


def embeddings_sinusoidal(m: ModuleType) -> dict[str, object]:
    embeddings = fill_parameters(m.Embeddings(97, 30, 23, positional="sinusoidal"), seed=53)
    ids = torch.randint(0, 97, (2, 11), generator=generator(54))
    return {
        "parameters": parameter_names(embeddings),
        "buffers": sorted(f"{name} {tuple(buffer.shape)}" for name, buffer in embeddings.named_buffers()),
        "out": embeddings(ids),
    }


def embeddings_too_long(m: ModuleType) -> dict[str, object]:
    embeddings = fill_parameters(m.Embeddings(97, 30, 23), seed=57)
    sinusoidal = fill_parameters(m.Embeddings(97, 30, 23, positional="sinusoidal"), seed=58)
    longest = torch.arange(23).unsqueeze(0)  # exactly max_len: fine
    too_long = torch.zeros(1, 24, dtype=torch.long)
    return {
        **working("a 23-token input to Embeddings(97, 30, max_len=23)", embeddings(longest)),
        **raised(
            "too_long", "a 24-token input to Embeddings(97, 30, max_len=23)", lambda: embeddings(too_long)
        ),
        **raised(
            "too_long_sinusoidal",
            "a 30-token input to Embeddings(97, 30, max_len=23, positional='sinusoidal')",
            lambda: sinusoidal(torch.zeros(1, 30, dtype=torch.long)),
        ),
    }


def embeddings_dropout(m: ModuleType) -> dict[str, object]:
    embeddings = fill_parameters(m.Embeddings(97, 30, 23, dropout=0.5), seed=55)
    ids = torch.randint(0, 97, (2, 11), generator=generator(56))
    torch.manual_seed(0)
    out_eval = embeddings(ids)
    torch.manual_seed(0)
    return {"out_eval": out_eval, "out_train": embeddings.train()(ids)}


def embeddings_dropout_ignored(m: ModuleType) -> dict[str, object]:
    embeddings = fill_parameters(m.Embeddings(97, 30, 23, dropout=0.5), seed=55)
    ids = torch.randint(0, 97, (2, 11), generator=generator(56))
    return {"out": embeddings(ids)}


# ---- the checks: the grader scores them, and each is a test ------------------------------

CHECKS = (
    Check(
        NAME,
        "table",
        "the sinusoidal table: sin on even columns, cos on odd, for even and odd widths",
        5,
        positional_table,
        {
            "even_width": (
                "sinusoidal_positional_encoding(50, 16)",
                "column 2i is sin(pos / 10000^(2i / D)), column 2i + 1 is cos of the same angle: the "
                "exponent uses the even column index 2i, not the pair index i; positions start at 0, "
                "so row 0 is 0, 1, 0, 1, ...",
            ),
            "odd_width": (
                "sinusoidal_positional_encoding(9, 7)",
                "an odd width has one sine column more than cosine columns (the last column is a sine)",
            ),
        },
    ),
    Check(
        NAME,
        "learned",
        "learned embeddings with token types and the eps given match the reference",
        5,
        embeddings_learned,
        {
            "parameters": (
                "Embeddings parameters",
                "word_embeddings, position_embeddings, token_type_embeddings (each an nn.Embedding of "
                "(rows, D)) and norm (a LayerNorm)",
            ),
            "with_types": (
                "embeddings with token types (eps=1e-3, exactly max_len tokens)",
                "norm(word[input_ids] + position[0 .. L-1] + token_type[token_type_ids]), each token "
                "its own position; build the norm with LayerNorm(d_model, eps=eps)",
            ),
            "without_types": (
                "embeddings without token_type_ids",
                "when token_type_ids is None every token is type 0: use torch.zeros_like(input_ids)",
            ),
        },
    ),
    Check(
        NAME,
        "sinusoidal",
        "sinusoidal embeddings use the fixed table as a buffer",
        2,
        embeddings_sinusoidal,
        {
            "parameters": (
                "Embeddings parameters in sinusoidal mode",
                "the table is a buffer, not a parameter",
            ),
            "buffers": (
                "Embeddings buffers in sinusoidal mode",
                "self.register_buffer('position_embeddings', sinusoidal_positional_encoding(max_len, d_model)): "
                "a plain attribute is not saved or moved by .to(), nn.Parameter or nn.Embedding is trained",
            ),
            "out": (
                "sinusoidal embeddings output",
                "index the fixed table by position 0 .. L-1 instead of calling it, then add and norm as in "
                "learned mode",
            ),
        },
    ),
    Check(
        NAME,
        "too_long",
        "a sequence longer than max_len raises ValueError naming both lengths",
        2,
        embeddings_too_long,
        judge=judge_error(
            ("too_long", ["ValueError"], ["24", "23"]), ("too_long_sinusoidal", ["ValueError"], ["30", "23"])
        ),
    ),
    Check(
        NAME,
        "dropout",
        "dropout acts after the norm in train() only",
        1,
        embeddings_dropout,
        judge=judge_dropout_in_train_only({"out": "embeddings output"}, scaled=("out",)),
        inference_only_probe=embeddings_dropout_ignored,
    ),
)

# ---- known mistakes: exact edits of the reference that a learner plausibly makes -----------

MISTAKES = (
    Mistake(
        NAME,
        "sin_cos_swapped",
        "put the cosines in the even columns and the sines in the odd ones",
        "    table[:, 0::2] = torch.sin(angles)\n    table[:, 1::2] = torch.cos(angles[:, : d_model // 2])",
        "    table[:, 0::2] = torch.cos(angles)\n    table[:, 1::2] = torch.sin(angles[:, : d_model // 2])",
    ),
    Mistake(
        NAME,
        "exponent_off_by_two",
        "used 10000^(i / D) with i the pair index instead of 2i / D",
        "even_columns / d_model)",
        "even_columns / 2 / d_model)",
    ),
    Mistake(
        NAME,
        "positions_start_at_one",
        "numbered the positions from 1 instead of 0",
        "positions = torch.arange(length, device=input_ids.device)",
        "positions = torch.arange(1, length + 1, device=input_ids.device).clamp(max=self.max_len - 1)",
    ),
    Mistake(
        NAME,
        "token_types_ignored",
        "left out the token type embeddings",
        "summed = words + position_vectors + token_types",
        "summed = words + position_vectors",
    ),
    Mistake(
        NAME,
        "no_embedding_norm",
        "left out the layer norm after summing the embeddings",
        "return self.dropout(self.norm(summed))",
        "return self.dropout(summed)",
    ),
    Mistake(
        NAME,
        "length_not_checked",
        "did not check the length against max_len",
        "        if length > self.max_len:\n",
        "        if False:\n",
    ),
    Mistake(
        NAME,
        "frequencies_inverted",
        "multiplied the positions by 10000^(2i / D) instead of dividing by it",
        "torch.exp(-math.log(10000.0) * even_columns / d_model)",
        "torch.exp(math.log(10000.0) * even_columns / d_model)",
    ),
    Mistake(
        NAME,
        "odd_columns_own_exponent",
        "gave the cosine in column 2i + 1 the exponent (2i + 1) / D instead of sharing 2i / D with its sine",
        "table[:, 1::2] = torch.cos(angles[:, : d_model // 2])",
        "table[:, 1::2] = torch.cos(\n"
        "        positions * torch.exp(-math.log(10000.0) * torch.arange(1, d_model, 2) / d_model)\n"
        "    )",
    ),
    Mistake(
        NAME,
        "odd_width_not_handled",
        "wrote every cosine column without trimming, which breaks for an odd D",
        "torch.cos(angles[:, : d_model // 2])",
        "torch.cos(angles)",
    ),
    Mistake(
        NAME,
        "sinusoidal_table_as_parameter",
        "stored the sinusoidal table as a trainable parameter instead of a buffer",
        'self.register_buffer("position_embeddings", table)',
        "self.position_embeddings = nn.Parameter(table)",
    ),
    Mistake(
        NAME,
        "norm_eps_ignored",
        "built the norm with LayerNorm's default eps instead of the eps given",
        "self.norm = LayerNorm(d_model, eps=eps)",
        "self.norm = LayerNorm(d_model)",
    ),
    Mistake(
        NAME,
        "word_embeddings_scaled_by_sqrt_d",
        "multiplied the word embeddings by sqrt(D) as the original Transformer does; BERT does not",
        "words = self.word_embeddings(input_ids)  # (B, L, D)",
        "words = self.word_embeddings(input_ids) * math.sqrt(self.word_embeddings.embedding_dim)",
    ),
    Mistake(
        NAME,
        "length_from_batch_axis",
        "took the sequence length from the batch axis",
        "length = input_ids.size(1)",
        "length = input_ids.size(0)",
    ),
    Mistake(
        NAME,
        "length_check_off_by_one",
        "rejected a sequence of exactly max_len tokens",
        "        if length > self.max_len:\n",
        "        if length >= self.max_len:\n",
    ),
    Mistake(
        NAME,
        "dropout_ignored",
        "ignored the dropout argument",
        "self.dropout = nn.Dropout(dropout)",
        "self.dropout = nn.Dropout(0.0)",
    ),
    Mistake(
        NAME,
        "dropout_before_norm",
        "applied dropout to the sum before the norm instead of after it",
        "return self.dropout(self.norm(summed))",
        "return self.norm(self.dropout(summed))",
    ),
)

NUMPY_MISTAKES = (
    Mistake(
        NAME,
        "sin_cos_swapped",
        "put the cosines in the even columns and the sines in the odd ones",
        "    table[:, 0::2] = np.sin(angles)\n    table[:, 1::2] = np.cos(angles[:, : d_model // 2])",
        "    table[:, 0::2] = np.cos(angles)\n    table[:, 1::2] = np.sin(angles[:, : d_model // 2])",
        track="numpy",
    ),
    Mistake(
        NAME,
        "table_in_float64",
        "built the table with np.zeros without dtype=np.float32 (float64)",
        "table = np.zeros((max_len, d_model), dtype=np.float32)",
        "table = np.zeros((max_len, d_model))",
        track="numpy",
    ),
    Mistake(
        NAME,
        "positions_start_at_one",
        "numbered the positions from 1 instead of 0",
        "positions = np.arange(length)  # (L,)",
        "positions = np.arange(1, length + 1).clip(max=self.max_len - 1)",
        track="numpy",
    ),
    *on_numpy_too(MISTAKES, "token_types_ignored"),
)

# ---- graded hints: `kata hint positional` shows one more each time --------------------------

HINTS = (
    "For the sinusoidal table, build a column of positions, shape (max_len, 1), and a row "
    "of frequencies, one per pair of columns. Their product broadcasts to a grid of angles; "
    "the sines of the angles fill the even columns and the cosines the odd ones (slicing "
    "with a step, table[:, 0::2], addresses every other column).",
    "The frequency of columns 2i and 2i + 1 is 1 / 10000^(2i / D): the exponent uses the "
    "even column index 2i, not i, and positions start at 0. exp(-log(10000) * 2i / D) is the "
    "same number without huge powers. With an odd D there is one cosine column fewer than "
    "sine columns.",
    "Embeddings.forward: check L = input_ids.size(1) against max_len first; then look up the "
    "words, the positions 0 .. L-1 (torch.arange) and the token types (all zeros when none "
    "are given), add the three, normalise, and apply dropout. For 'sinusoidal', store the "
    "table with register_buffer (saved, never trained) and index it by position instead of "
    "calling it.",
)

# ---- kata diverge: what a stage computes and where to look, once every stage before it matched

DIVERGE = {
    "embeddings": "The embeddings: each token's word vector, plus the vector of its position "
    "(0, 1, 2, ...), plus the vector of its token type (0 for the first sentence, 1 for "
    "the second), summed, then layer-normalised with eps {eps:g}. Nothing runs before "
    "this stage, so the difference is made here. Look at Embeddings.forward in "
    "{positional}, at layer_norm in {layer_norm} (this is the first norm to run), and at "
    "how Encoder.from_hf and hf_weight_names in {encoder} load the embeddings.",
}


# ---- what each check runs besides its own code: fix those first (kata/feedback/diagnosis.py uses)

USES = {  # each runs Embeddings.forward, as learned does, and the table
    "sinusoidal": ("table", "learned"),
    "too_long": ("table", "learned"),
    "dropout": ("learned",),
}


# ---- no shortcuts: library calls this exercise's code may not make (kata/core/shortcuts.py) ----
# The grader scores 0 the checks of an exercise whose code calls one (and pytest says so first), nor may
# a later exercise's code. To allow a call in your course, remove its entry.

SHORTCUTS: tuple[
    Shortcut, ...
] = ()  # torch has no sinusoidal table nor BERT's embeddings; nn.Embedding is allowed
