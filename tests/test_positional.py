"""Exercise 5: sinusoidal_positional_encoding and Embeddings, in exercises/positional.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from kata.core import hf
from kata.core.compare import expect_close, expect_raises, expect_shape

ONE_OP = 1e-5  # tolerance for one operation in float32

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
            assert name in target_parameters, (
                f"Embeddings has no parameter {name!r} (it has {sorted(target_parameters)}). "
                "Where to look: the sub-modules must be called word_embeddings, position_embeddings, "
                "token_type_embeddings and norm"
            )
            assert target_parameters[name].shape == value.shape, (
                f"Embeddings parameter {name!r} has shape {tuple(target_parameters[name].shape)}, "
                f"expected {tuple(value.shape)}"
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
def test_table_has_shape_max_len_by_d_and_dtype_float32(positional, max_len, d_model):
    table = positional.sinusoidal_positional_encoding(max_len, d_model)
    expect_shape(
        table,
        (max_len, d_model),
        "sinusoidal position table",
        hint="one row per position 0 .. max_len - 1, one column per feature; "
        "an odd D still has D columns (the last is a sine)",
    )
    assert table.dtype == torch.float32, (
        f"sinusoidal position table: dtype is {table.dtype}, expected torch.float32. "
        "Where to look: build the positions and frequencies as float32 tensors "
        "(torch.arange(..., dtype=torch.float32))"
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


@pytest.mark.parametrize("d_model", [8, 7, 1])
def test_row_zero_is_zero_one_alternating(positional, d_model):
    table = positional.sinusoidal_positional_encoding(4, d_model)
    expected = torch.tensor([float(column % 2) for column in range(d_model)])
    expect_close(
        table[0],
        expected,
        atol=ONE_OP,
        what=f"row 0 (position 0) of the sinusoidal table, D={d_model}",
        hint="positions start at 0, where sin = 0 (even columns) and cos = 1 (odd columns)",
    )


@given(max_len=st.integers(1, 64), d_model=st.integers(1, 40))
def test_every_table_value_lies_between_minus_one_and_one(positional, max_len, d_model):
    table = positional.sinusoidal_positional_encoding(max_len, d_model)
    largest = table.abs().max().item()
    assert largest <= 1.0, (
        f"sinusoidal table ({max_len} positions, D={d_model}) holds a value of size {largest:.4g}; "
        "every entry is a sine or a cosine, so it lies in [-1, 1]. "
        "Where to look: adding or scaling the angles instead of taking their sine and cosine"
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


# ---- Embeddings: structure -------------------------------------------------------------


def check_embedding(module, name, rows, width):
    layer = getattr(module, name, None)
    assert isinstance(layer, nn.Embedding), (
        f"Embeddings.{name} should be an nn.Embedding({rows}, {width}), got {type(layer).__name__}"
    )
    assert tuple(layer.weight.shape) == (rows, width), (
        f"Embeddings.{name}.weight has shape {tuple(layer.weight.shape)}, expected ({rows}, {width}). "
        f"Where to look: nn.Embedding takes (number of rows, D)"
    )


def test_learned_embeddings_have_the_documented_sub_modules(positional):
    module = positional.Embeddings(**SIZES, eps=1e-7)
    check_embedding(module, "word_embeddings", VOCAB, WIDTH)
    check_embedding(module, "position_embeddings", MAX_LEN, WIDTH)
    check_embedding(module, "token_type_embeddings", TYPES, WIDTH)
    norm = getattr(module, "norm", None)
    assert norm is not None, (
        "Embeddings has no `norm` sub-module: add self.norm = LayerNorm(d_model, eps=eps)"
    )
    for name in ("weight", "bias"):
        parameter = getattr(norm, name, None)
        assert isinstance(parameter, nn.Parameter) and tuple(parameter.shape) == (WIDTH,), (
            f"Embeddings.norm.{name} should be a parameter of shape ({WIDTH},)"
        )
    assert getattr(norm, "eps", None) == 1e-7, (
        f"Embeddings.norm.eps is {getattr(norm, 'eps', None)!r}, expected the eps given (1e-07). "
        "Where to look: LayerNorm(d_model) without eps=eps uses LayerNorm's default, not BERT's"
    )


def test_sinusoidal_positions_are_a_fixed_buffer_equal_to_the_table(positional, reference_positional):
    module = positional.Embeddings(**SIZES, positional="sinusoidal")
    check_embedding(module, "word_embeddings", VOCAB, WIDTH)
    check_embedding(module, "token_type_embeddings", TYPES, WIDTH)
    parameters = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    trained = sorted(name for name in parameters if name.startswith("position_embeddings"))
    assert not trained, (
        "with positional='sinusoidal' the position table must not be trained, yet Embeddings has the "
        f"parameter(s) {trained}. Where to look: use self.register_buffer('position_embeddings', table), "
        "not nn.Parameter or nn.Embedding"
    )
    assert "position_embeddings" in buffers, (
        f"with positional='sinusoidal' Embeddings should have a buffer 'position_embeddings'; its buffers are "
        f"{sorted(buffers)}. Where to look: a plain attribute is not saved or moved by .to(); "
        "use self.register_buffer('position_embeddings', table)"
    )
    expect_close(
        buffers["position_embeddings"],
        reference_positional.sinusoidal_positional_encoding(MAX_LEN, WIDTH),
        atol=ONE_OP,
        what="the sinusoidal position buffer",
        hint="the buffer is sinusoidal_positional_encoding(max_len, d_model)",
    )


def test_an_unknown_positional_kind_raises_value_error_naming_it(positional):
    expect_raises(
        ValueError,
        lambda: positional.Embeddings(**SIZES, positional="rotary"),
        what="Embeddings(..., positional='rotary')",
        mentions=["rotary"],
        hint="positional is 'learned' or 'sinusoidal'; raise ValueError naming anything else",
    )


# ---- Embeddings: outputs ------------------------------------------------------------------


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


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch, length", INPUT_SHAPES)
def test_matches_the_reference_with_and_without_token_type_ids(
    positional, reference_positional, kind, batch, length, seed
):
    module, expected_module = embeddings_pair(positional, reference_positional, kind, seed)
    input_ids, token_type_ids = random_inputs(batch, length, seed)
    expect_close(
        module(input_ids, token_type_ids),
        expected_module(input_ids, token_type_ids),
        atol=ONE_OP,
        what=f"{kind} embeddings output with token_type_ids",
        hint="norm(word[input_ids] + position[0 .. L-1] + token_type[token_type_ids]), then dropout",
    )
    expect_close(
        module(input_ids),
        expected_module(input_ids, torch.zeros_like(input_ids)),
        atol=ONE_OP,
        what=f"{kind} embeddings output without token_type_ids",
        hint="when token_type_ids is None every token is type 0: use torch.zeros_like(input_ids)",
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


@pytest.mark.parametrize("kind", KINDS)
def test_output_is_the_norm_of_word_plus_position_plus_token_type(positional, reference_positional, kind):
    module, expected_module = embeddings_pair(positional, reference_positional, kind, seed=2)
    input_ids, token_type_ids = random_inputs(3, 8, seed=2)
    expect_close(
        module(input_ids, token_type_ids),
        oracle_for(expected_module, kind, input_ids, token_type_ids),
        atol=ONE_OP,
        what=f"{kind} embeddings output against F.layer_norm(word + position[:L] + token_type)",
        hint="sum the three lookups, then apply self.norm; positions are 0 .. L-1",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_position_zero_uses_row_zero_of_the_position_table(positional, reference_positional, kind):
    module, expected_module = embeddings_pair(positional, reference_positional, kind, seed=3)
    input_ids, token_type_ids = random_inputs(4, 1, seed=3)
    expect_close(
        module(input_ids, token_type_ids),
        oracle_for(expected_module, kind, input_ids, token_type_ids),
        atol=ONE_OP,
        what=f"{kind} embeddings of a one-token sequence (position 0)",
        hint="positions start at 0: the first token gets row 0 of the position table (torch.arange(L))",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_token_at_different_positions_gets_different_vectors(positional, reference_positional, kind):
    module, _ = embeddings_pair(positional, reference_positional, kind, seed=4)
    input_ids = torch.full((1, MAX_LEN), 5)
    out = module(input_ids)[0]  # (L, D)
    distances = torch.cdist(out, out) + torch.eye(MAX_LEN) * 1e9
    closest = distances.min().item()
    first, second = divmod(int(distances.argmin()), MAX_LEN)
    assert closest > 1e-3, (
        f"{kind} embeddings: token 5 at positions {first} and {second} got the same vector "
        f"(distance {closest:.3g}). Where to look: every position must get its own row 0 .. L-1 "
        "of the position table (positions start at 0, nothing is clamped or reused)"
    )


def test_token_types_change_the_output(positional, reference_positional):
    module, _ = embeddings_pair(positional, reference_positional, "learned", seed=5)
    input_ids, _ = random_inputs(2, 6, seed=5)
    outputs = [module(input_ids, torch.full_like(input_ids, token_type)) for token_type in range(TYPES)]
    for token_type in range(1, TYPES):
        difference = (outputs[token_type] - outputs[0]).abs().max().item()
        assert difference > 1e-3, (
            f"embeddings with every token of type {token_type} equal those with type 0 "
            f"(largest difference {difference:.3g}). Where to look: token_type_embeddings(token_type_ids) "
            "is not added to the sum"
        )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("length", [MAX_LEN + 1, MAX_LEN + 6])
def test_a_sequence_longer_than_max_len_raises_value_error_naming_both_lengths(
    positional, reference_positional, kind, length
):
    module, _ = embeddings_pair(positional, reference_positional, kind)
    input_ids, _ = random_inputs(2, length)
    expect_raises(
        ValueError,
        lambda: module(input_ids),
        what=f"{kind} embeddings of a sequence of {length} tokens with max_len={MAX_LEN}",
        mentions=[str(length), str(MAX_LEN)],
        hint="check L = input_ids.size(1) against max_len first, and name both numbers in the message",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_sequence_of_exactly_max_len_is_accepted(positional, reference_positional, kind):
    module, expected_module = embeddings_pair(positional, reference_positional, kind, seed=6)
    input_ids, token_type_ids = random_inputs(2, MAX_LEN, seed=6)
    expect_close(
        module(input_ids, token_type_ids),
        expected_module(input_ids, token_type_ids),
        atol=ONE_OP,
        what=f"{kind} embeddings of a sequence of exactly max_len={MAX_LEN} tokens",
        hint="only L > max_len is too long; positions 0 .. max_len - 1 all exist",
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


# ---- training behaviour -------------------------------------------------------------------


def test_dropout_is_inactive_in_eval_mode(positional, reference_positional):
    module, expected_module = embeddings_pair(
        positional, reference_positional, "learned", seed=7, dropout=0.5
    )
    input_ids, token_type_ids = random_inputs(4, MAX_LEN, seed=7)
    expect_close(
        module.eval()(input_ids, token_type_ids),
        expected_module(input_ids, token_type_ids),
        atol=ONE_OP,
        what="embeddings with dropout=0.5 in eval mode",
        hint="use nn.Dropout, which does nothing in eval mode",
    )


@pytest.mark.torch_only(reason="dropout in train mode")
def test_dropout_is_active_in_train_mode(positional, reference_positional):
    module, expected_module = embeddings_pair(
        positional, reference_positional, "learned", seed=7, dropout=0.5
    )
    input_ids, token_type_ids = random_inputs(4, MAX_LEN, seed=7)
    undropped = expected_module(input_ids, token_type_ids)
    torch.manual_seed(0)
    out = module.train()(input_ids, token_type_ids)
    module.eval()
    dropped = out == 0
    fraction = dropped.float().mean().item()
    assert 0.2 < fraction < 0.8, (
        f"with dropout=0.5 in train mode about half the outputs should be zero, got {fraction:.0%}. "
        "Where to look: the dropout argument is not passed to nn.Dropout, or it is not applied"
    )
    expect_close(
        out[~dropped],
        undropped[~dropped] / 0.5,
        atol=ONE_OP,
        what="embeddings kept by dropout in train mode",
        hint="dropout comes last, after the norm: dropout(norm(word + position + token_type))",
    )


@pytest.mark.torch_only(reason="gradients need autograd")
@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_parameter(positional, reference_positional, kind):
    module, _ = embeddings_pair(positional, reference_positional, kind, seed=8)
    input_ids, token_type_ids = random_inputs(2, 6, seed=8)
    module(input_ids, token_type_ids).square().sum().backward()
    expected_names = {"word_embeddings.weight", "token_type_embeddings.weight", "norm.weight", "norm.bias"}
    if kind == "learned":
        expected_names.add("position_embeddings.weight")
    names = {name for name, _ in module.named_parameters()}
    assert expected_names <= names, (
        f"{kind} Embeddings lacks the parameter(s) {sorted(expected_names - names)}; it has {sorted(names)}"
    )
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
    table = dict(module.named_buffers()).get("position_embeddings")
    assert table is not None and not table.requires_grad and table.grad is None, (
        "with positional='sinusoidal' the position table must be a fixed buffer that gets no gradient. "
        "Where to look: nn.Parameter(table) or nn.Embedding instead of "
        "self.register_buffer('position_embeddings', table)"
    )
