"""Exercise 5: sinusoidal_positional_encoding and Embeddings, in exercises/positional.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from kata.core import hf
from kata.core.compare import ONE_OP, expect_close, expect_raises, expect_shape

# Small, odd, mutually different sizes, so a swapped axis cannot hide.
VOCAB, WIDTH, MAX_LEN, TYPES = 19, 9, 13, 3
SIZES = dict(vocab_size=VOCAB, d_model=WIDTH, max_len=MAX_LEN, type_vocab_size=TYPES)
KINDS = ["learned", "sinusoidal"]

TABLE_SIZES = [
    # (max_len, D): even and odd widths, more rows than columns and fewer
    (23, 30),
    (17, 13),
    (40, 8),
    (5, 1),
    (1, 7),
]

INPUT_SHAPES = [(2, 5), (3, 1), (1, 7), (4, MAX_LEN)]  # (B, L) with B != L

# Where each of the learner's parameters comes from in Hugging Face's BertEmbeddings.
HF_NAMES = {
    "word_embeddings.weight": "word_embeddings.weight",
    "position_embeddings.weight": "position_embeddings.weight",
    "token_type_embeddings.weight": "token_type_embeddings.weight",
    "norm.weight": "LayerNorm.weight",
    "norm.bias": "LayerNorm.bias",
}


def test_does_not_call_the_library_function_it_asks_you_to_write(impl):
    """No shortcuts: this exercise's code may not call the library's version of what an exercise
    before it asks you to write (nn.LayerNorm: use yours). The grader scores its checks 0 if it does."""
    impl.takes_no_shortcut("positional")


@pytest.fixture(scope="module")
def positional(impl):
    return impl.module("positional")


@pytest.fixture(scope="module")
def reference_positional(reference):
    return reference.module("positional")


def oracle_table(max_len, d_model):
    """PE[pos, 2i] = sin(pos / 10000^(2i / D)), PE[pos, 2i + 1] = cos(same), in float64, one value at a time."""
    rows = []
    for position in range(max_len):
        row = []
        for column in range(d_model):
            two_i = column - column % 2  # the even column of this sine/cosine pair
            angle = position / 10000.0 ** (two_i / d_model)
            row.append(math.sin(angle) if column % 2 == 0 else math.cos(angle))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64)


def random_inputs(batch, length, seed=0):
    """Token ids (B, L) and token type ids (B, L) using every token type."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(0, VOCAB, (batch, length), generator=generator)
    token_type_ids = torch.randint(0, TYPES, (batch, length), generator=generator)
    token_type_ids[0] = torch.arange(length) % TYPES
    return input_ids, token_type_ids


def randomize(module, seed):
    """Redraw every parameter (norm weights around 1), so a swapped or skipped weight shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            centre = 1.0 if name == "norm.weight" else 0.0
            parameter.copy_(centre + 0.5 * torch.randn(parameter.shape, generator=generator))


def copy_parameters(target, source_parameters):
    """Copy {name in target: tensor} into the learner's module `target`, naming what is missing."""
    target_parameters = dict(target.named_parameters())
    with torch.no_grad():
        for name, value in source_parameters.items():
            expect_shape(
                target_parameters.get(name),
                value.shape,
                f"Embeddings parameter {name} (it has {sorted(target_parameters)})",
                hint="the sub-modules must be called word_embeddings, position_embeddings, "
                "token_type_embeddings and norm",
            )
            target_parameters[name].copy_(value)


def embeddings_pair(positional, reference_positional, kind, seed=0, **options):
    """The learner's Embeddings and the reference's, in eval mode, with identical random weights."""
    options = {**SIZES, "positional": kind, **options}
    learner = positional.Embeddings(**options)
    expected = reference_positional.Embeddings(**options)
    randomize(expected, seed)
    copy_parameters(learner, dict(expected.named_parameters()))
    return learner.eval(), expected.eval()


def oracle_embeddings(reference_module, position_table, input_ids, token_type_ids):
    """norm(word[ids] + position_table[:L] + token_type[types]) with torch's F.layer_norm."""
    length = input_ids.shape[1]
    summed = (
        reference_module.word_embeddings.weight[input_ids]
        + position_table[:length]
        + reference_module.token_type_embeddings.weight[token_type_ids]
    )
    norm = reference_module.norm
    return F.layer_norm(summed, (summed.shape[-1],), norm.weight, norm.bias, norm.eps)


# ---- the sinusoidal table ------------------------------------------------------------


def test_passes_the_graded_check(impl, graded_check):
    """Each graded check of this exercise (kata/course/positional.py), run exactly as the
    grader runs it: same inputs, probe, verdict, hints and points."""
    impl.run_check(graded_check)


@pytest.mark.parametrize("max_len, d_model", TABLE_SIZES)
def test_table_has_shape_max_len_by_d(positional, max_len, d_model):
    table = positional.sinusoidal_positional_encoding(max_len, d_model)
    expect_shape(
        table,
        (max_len, d_model),
        "sinusoidal position table",
        hint="one row per position 0 .. max_len - 1, one column per feature; "
        "an odd D still has D columns (the last is a sine)",
    )


@pytest.mark.parametrize("max_len, d_model", TABLE_SIZES)
def test_table_matches_the_formula_computed_one_value_at_a_time(positional, max_len, d_model):
    table = positional.sinusoidal_positional_encoding(max_len, d_model)
    expect_close(
        table,
        oracle_table(max_len, d_model).to(torch.float32),
        atol=ONE_OP,
        what=f"sinusoidal position table ({max_len} positions, D={d_model})",
        hint="column 2i is sin(pos / 10000^(2i / D)), column 2i + 1 is cos of the same angle: "
        "sines in the even columns, and the exponent uses the even column index 2i, not the pair index i",
    )


@given(max_len=st.integers(1, 64), d_model=st.integers(1, 40))
def test_every_table_value_lies_between_minus_one_and_one(positional, max_len, d_model):
    table = positional.sinusoidal_positional_encoding(max_len, d_model)
    expect_close(
        table,
        torch.zeros_like(table),
        atol=1.0,  # every entry is a sine or a cosine: within 1 of zero
        what=f"sinusoidal table ({max_len} positions, D={d_model}) against the bound [-1, 1]",
        hint="adding or scaling the angles instead of taking their sine and cosine",
    )


@given(max_len=st.integers(1, 64), d_model=st.integers(1, 40))
def test_table_matches_the_reference_for_any_size(positional, reference_positional, max_len, d_model):
    expect_close(
        positional.sinusoidal_positional_encoding(max_len, d_model),
        reference_positional.sinusoidal_positional_encoding(max_len, d_model),
        atol=ONE_OP,
        what=f"sinusoidal position table ({max_len} positions, D={d_model})",
        hint="an odd D has one cosine column fewer than sine columns",
    )


# ---- Embeddings ---------------------------------------------------------------------------


def test_an_unknown_positional_kind_raises_value_error_naming_it(positional):
    expect_raises(
        ValueError,
        lambda: positional.Embeddings(**SIZES, positional="rotary"),
        what="Embeddings(..., positional='rotary')",
        mentions=["rotary"],
        hint="positional is 'learned' or 'sinusoidal'; raise ValueError naming anything else",
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch, length", INPUT_SHAPES)
def test_output_has_shape_batch_by_length_by_d(positional, reference_positional, kind, batch, length):
    module, _ = embeddings_pair(positional, reference_positional, kind)
    input_ids, token_type_ids = random_inputs(batch, length)
    expect_shape(
        module(input_ids, token_type_ids),
        (batch, length, WIDTH),
        f"{kind} embeddings output",
        hint="positions are looked up for 0 .. L-1 (shape (L, D)) and broadcast over the batch",
    )


@given(batch=st.integers(1, 3), length=st.integers(1, MAX_LEN), seed=st.integers(0, 2**16))
def test_matches_the_reference_for_any_batch_and_length(
    positional, reference_positional, batch, length, seed
):
    for kind in KINDS:
        module, expected_module = embeddings_pair(positional, reference_positional, kind, seed)
        input_ids, token_type_ids = random_inputs(batch, length, seed)
        expect_close(
            module(input_ids, token_type_ids),
            expected_module(input_ids, token_type_ids),
            atol=ONE_OP,
            what=f"{kind} embeddings output for B={batch}, L={length}",
        )


def oracle_for(expected_module, kind, input_ids, token_type_ids):
    """The oracle's embeddings with the reference's weights: its learned position table, or
    the float64 formula's sinusoidal one."""
    if kind == "learned":
        position_table = expected_module.position_embeddings.weight
    else:
        position_table = oracle_table(MAX_LEN, WIDTH).to(torch.float32)
    return oracle_embeddings(expected_module, position_table, input_ids, token_type_ids)


@pytest.mark.parametrize("batch, length", [(3, 8), (4, 1)], ids=["eight_tokens", "one_token"])
@pytest.mark.parametrize("kind", KINDS)
def test_output_is_the_norm_of_word_plus_position_plus_token_type(
    positional, reference_positional, kind, batch, length
):
    """Against an oracle built on torch's F.layer_norm (and, for the sinusoidal kind, the formula
    computed in float64); a one-token sequence uses row 0 of the position table alone."""
    module, expected_module = embeddings_pair(positional, reference_positional, kind, seed=2)
    input_ids, token_type_ids = random_inputs(batch, length, seed=2)
    expect_close(
        module(input_ids, token_type_ids),
        oracle_for(expected_module, kind, input_ids, token_type_ids),
        atol=ONE_OP,
        what=f"{kind} embeddings of {length} token(s) against F.layer_norm(word + position[:L] + token_type)",
        hint="sum the three lookups, then apply self.norm; positions are 0 .. L-1 (torch.arange(L)): "
        "the first token gets row 0 of the position table",
    )


# ---- against Hugging Face -----------------------------------------------------------------


@pytest.mark.parametrize("batch, length", hf.EMBEDDINGS_SHAPES)
def test_matches_hugging_face_bert_embeddings(positional, hf_recording, batch, length):
    # Hugging Face's BertEmbeddings outputs, recorded by kata/core/hf.py on these token ids.
    config, bert_weights = hf_recording["config"], hf_recording["weights"]
    recorded = hf_recording["positional"]
    module = positional.Embeddings(
        config["vocab_size"],
        config["hidden_size"],
        config["max_position_embeddings"],
        type_vocab_size=config["type_vocab_size"],
        eps=config["layer_norm_eps"],
    ).eval()
    copy_parameters(module, {ours: bert_weights[f"embeddings.{theirs}"] for ours, theirs in HF_NAMES.items()})
    case = recorded[batch, length]
    # Copies: an implementation that writes into its input must not change the recording.
    input_ids, token_type_ids = case["input_ids"].clone(), case["token_type_ids"].clone()
    expect_close(
        module(input_ids, token_type_ids),
        case["out"],
        atol=ONE_OP,
        what=f"embeddings against Hugging Face BertEmbeddings, token types 0/1/2, L={length}",
        hint="BERT sums word, position (0 .. L-1) and token type embeddings, then applies the LayerNorm",
    )
    expect_close(
        module(input_ids),
        case["out_without_token_types"],
        atol=ONE_OP,
        what=f"embeddings against Hugging Face BertEmbeddings without token_type_ids, L={length}",
        hint="without token_type_ids every token is type 0",
    )


# ---- gradients ----------------------------------------------------------------------------


@pytest.mark.torch_only(reason="gradients need autograd")
@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_parameter(positional, reference_positional, kind):
    module, _ = embeddings_pair(positional, reference_positional, kind, seed=8)
    input_ids, token_type_ids = random_inputs(2, 6, seed=8)
    module(input_ids, token_type_ids).square().sum().backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum().item() > 0, (
            f"{kind} embeddings: no gradient reached {name}. Where to look: a .detach() or "
            "torch.no_grad() in forward, or a sub-module that forward never uses"
        )


@pytest.mark.torch_only(reason="gradients need autograd")
def test_the_sinusoidal_table_gets_no_gradient(positional, reference_positional):
    module, _ = embeddings_pair(positional, reference_positional, "sinusoidal", seed=9)
    input_ids, token_type_ids = random_inputs(2, 6, seed=9)
    module(input_ids, token_type_ids).square().sum().backward()
    buffers = dict(module.named_buffers())
    table = buffers.get("position_embeddings")
    assert table is not None and not table.requires_grad and table.grad is None, (
        "with positional='sinusoidal' the position table must be a fixed buffer named position_embeddings "
        f"that gets no gradient; this module's buffers: {sorted(buffers)}, and its position_embeddings: "
        f"{type(module.position_embeddings).__name__ if hasattr(module, 'position_embeddings') else 'none'}. "
        "Where to look: self.register_buffer('position_embeddings', table), not nn.Parameter(table), "
        "nn.Embedding or a buffer of another name"
    )
