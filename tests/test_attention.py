"""Exercise 1: scaled_dot_product_attention, in exercises/attention.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from kata.core.compare import expect_close, expect_shape

ONE_OP = 1e-5  # tolerance for one operation in float32

SHAPES = [
    # (leading dims, L_q, L_k, d, d_v): L_q != L_k != d so a transposed axis shows
    ((), 3, 5, 4, 6),
    ((2,), 4, 7, 8, 3),
    ((2, 3), 5, 5, 6, 6),
    ((1, 2, 2), 1, 9, 5, 2),
]


@pytest.fixture(scope="module")
def attention(impl):
    return impl.module("attention")


@pytest.fixture(scope="module")
def reference_attention(reference):
    return reference.module("attention")


def random_qkv(leading, length_q, length_k, d, d_v, seed=0, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(*leading, length_q, d, generator=generator, dtype=dtype)
    k = torch.randn(*leading, length_k, d, generator=generator, dtype=dtype)
    v = torch.randn(*leading, length_k, d_v, generator=generator, dtype=dtype)
    return q, k, v


def random_padding_mask(leading, length_q, length_k, seed=0):
    """A mask hiding a random suffix of the keys per batch row, broadcast over queries; every row keeps key 0."""
    generator = torch.Generator().manual_seed(seed + 100)
    kept = torch.randint(1, length_k + 1, leading or (1,), generator=generator)  # keys kept per row
    mask = torch.arange(length_k) < kept.unsqueeze(-1)  # (..., L_k)
    return mask.reshape(*leading, 1, length_k) if leading else mask.reshape(1, length_k)


def test_passes_the_graded_check(impl, graded_check):
    """Each graded check of this exercise (kata/course/attention.py), run exactly as the
    grader runs it: same inputs, probe, verdict, hints and points."""
    impl.run_check(graded_check)


@pytest.mark.parametrize("leading, length_q, length_k, d, d_v", SHAPES)
def test_returns_output_and_weights_with_the_documented_shapes(
    attention, leading, length_q, length_k, d, d_v
):
    q, k, v = random_qkv(leading, length_q, length_k, d, d_v)
    result = attention.scaled_dot_product_attention(q, k, v)
    assert isinstance(result, tuple) and len(result) == 2, (
        f"scaled_dot_product_attention should return a pair (out, weights), got {type(result).__name__}"
    )
    out, weights = result
    expect_shape(out, (*leading, length_q, d_v), "attention output")
    expect_shape(
        weights,
        (*leading, length_q, length_k),
        "attention weights",
        hint="weights are (..., L_q, L_k): one row per query, one column per key; is k transposed?",
    )


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("leading, length_q, length_k, d, d_v", SHAPES)
def test_matches_the_reference_with_and_without_a_padding_mask(
    attention, reference_attention, leading, length_q, length_k, d, d_v, seed
):
    q, k, v = random_qkv(leading, length_q, length_k, d, d_v, seed)
    for mask in (None, random_padding_mask(leading, length_q, length_k, seed)):
        out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
        expected_out, expected_weights = reference_attention.scaled_dot_product_attention(q, k, v, mask)
        label = "without a mask" if mask is None else f"with a padding mask of shape {tuple(mask.shape)}"
        expect_close(
            weights,
            expected_weights,
            atol=ONE_OP,
            what=f"attention weights {label}",
            hint="scores are q @ k^T / sqrt(d); the softmax runs over the last axis (the keys); "
            "hidden scores are filled before the softmax",
        )
        expect_close(
            out, expected_out, atol=ONE_OP, what=f"attention output {label}", hint="out = weights @ v"
        )


@pytest.mark.parametrize("leading, length_q, length_k, d, d_v", SHAPES[1:])
def test_matches_torch_scaled_dot_product_attention(attention, leading, length_q, length_k, d, d_v):
    q, k, v = random_qkv(leading, length_q, length_k, d, d_v, seed=3)
    mask = random_padding_mask(leading, length_q, length_k, seed=3)
    out, _ = attention.scaled_dot_product_attention(q, k, v, mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    expect_close(
        out, expected, atol=ONE_OP, what="attention output against torch's F.scaled_dot_product_attention"
    )


def test_a_mask_of_shape_lq_by_lk_broadcasts_over_the_batch(attention, reference_attention):
    q, k, v = random_qkv((2, 3), 4, 6, 5, 5, seed=4)
    generator = torch.Generator().manual_seed(4)
    mask = torch.rand(4, 6, generator=generator) > 0.4
    mask[:, 0] = True  # every query keeps at least one key
    out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    expected_out, expected_weights = reference_attention.scaled_dot_product_attention(q, k, v, mask)
    expect_close(weights, expected_weights, atol=ONE_OP, what="attention weights with a (L_q, L_k) mask")
    expect_close(out, expected_out, atol=ONE_OP, what="attention output with a (L_q, L_k) mask")


@given(
    batch=st.integers(1, 3),
    length_q=st.integers(1, 6),
    length_k=st.integers(1, 6),
    d=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)
def test_every_row_of_weights_sums_to_one(attention, batch, length_q, length_k, d, seed):
    q, k, v = random_qkv((batch,), length_q, length_k, d, d, seed)
    _, weights = attention.scaled_dot_product_attention(q, k, v)
    expect_close(
        weights.sum(dim=-1),
        torch.ones(batch, length_q),
        atol=ONE_OP,
        what="sum of each query's attention weights",
        hint="the softmax must run over the last axis (the keys), so that each query's row sums to 1",
    )


def test_hidden_keys_get_exactly_zero_weight(attention):
    q, k, v = random_qkv((2,), 3, 6, 4, 4, seed=5)
    mask = torch.tensor([True, True, False, True, False, False])
    _, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    expect_close(
        weights[..., ~mask],
        torch.zeros(2, 3, 3),
        atol=0.0,
        what="attention weights on hidden keys (mask False)",
        hint="fill hidden scores with torch.finfo(scores.dtype).min before the softmax; "
        "is the mask inverted (True means 'may attend')?",
    )
    expect_close(
        weights.sum(dim=-1),
        torch.ones(2, 3),
        atol=ONE_OP,
        what="sum of each query's weights over the keys it may see",
        hint="mask the scores before the softmax, not the weights after it",
    )


def test_hidden_keys_do_not_change_the_output(attention):
    q, k, v = random_qkv((2,), 3, 6, 4, 5, seed=6)
    mask = torch.tensor([True, False, True, True, False, True])
    out, _ = attention.scaled_dot_product_attention(q, k, v, mask)
    changed_k, changed_v = k.clone(), v.clone()
    changed_k[..., ~mask, :] = 100.0
    changed_v[..., ~mask, :] = -100.0
    out_changed, _ = attention.scaled_dot_product_attention(q, changed_k, changed_v, mask)
    expect_close(
        out_changed,
        out,
        atol=ONE_OP,
        what="attention output after changing the hidden keys and values",
        hint="hidden keys must get exactly zero weight",
    )


def test_hidden_keys_get_zero_weight_even_when_every_visible_score_is_hugely_negative(attention):
    # Visible scores of order -1e12: a fill value like -1e4 or -1e9 would beat them.
    q = torch.full((1, 2, 3), 1e6)
    k = -1e6 - 1e6 * torch.rand(1, 4, 3, generator=torch.Generator().manual_seed(7))
    v = torch.randn(1, 4, 3, generator=torch.Generator().manual_seed(8))
    mask = torch.tensor([True, False, True, False])
    _, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    expect_close(
        weights[..., ~mask],
        torch.zeros(1, 2, 2),
        atol=0.0,
        what="weights on hidden keys when every visible score is about -1e12",
        hint="use torch.finfo(scores.dtype).min as the fill value, not a hand-picked constant",
    )


def test_a_query_that_may_attend_to_nothing_gets_no_nan(attention):
    q, k, v = random_qkv((2,), 3, 4, 5, 5, seed=8)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0, 1] = False  # query 1 of batch row 0 sees no key at all
    out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    for tensor, name in ((weights, "attention weights"), (out, "attention output")):
        nan_count = int(torch.isnan(tensor).sum())
        assert nan_count == 0, (
            f"{name}: {nan_count} NaN value(s) for a query whose keys are all hidden. "
            "Where to look: filling hidden scores with -inf makes softmax compute 0/0; "
            "use torch.finfo(scores.dtype).min"
        )


def test_keeps_float64_precision(attention):
    q, k, v = random_qkv((2,), 3, 4, 5, 2, seed=9, dtype=torch.float64)
    mask = torch.tensor([True, True, False, True])
    out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    scores = (q @ k.transpose(-2, -1) / math.sqrt(5)).masked_fill(~mask, -math.inf)
    expected_weights = torch.softmax(scores, dim=-1)
    expect_close(weights, expected_weights, atol=1e-12, what="attention weights in float64")
    expect_close(out, expected_weights @ v, atol=1e-12, what="attention output in float64")


def test_dropout_zeroes_some_weights_and_rescales_the_rest(attention):
    q, k, v = random_qkv((4,), 8, 8, 4, 4, seed=10)
    torch.manual_seed(0)
    out, weights = attention.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    _, undropped = attention.scaled_dot_product_attention(q, k, v)
    dropped = weights == 0
    assert 0.2 < dropped.float().mean() < 0.8, (
        f"with dropout_p=0.5 about half the weights should be zero, got {dropped.float().mean():.0%}. "
        "Where to look: dropout_p is not applied to the weights (F.dropout(weights, p=dropout_p))"
    )
    expect_close(
        weights[~dropped],
        undropped[~dropped] / 0.5,
        atol=ONE_OP,
        what="attention weights kept by dropout",
        hint="dropout scales the kept weights by 1 / (1 - p)",
    )
    expect_close(
        out, weights @ v, atol=ONE_OP, what="attention output with dropout", hint="use the dropped weights"
    )


@pytest.mark.torch_only(reason="gradients need autograd")
def test_gradients_flow_to_queries_keys_and_values(attention):
    q, k, v = (t.requires_grad_() for t in random_qkv((2,), 3, 4, 5, 6, seed=11))
    out, _ = attention.scaled_dot_product_attention(q, k, v)
    out.square().sum().backward()
    for name, tensor in (("q", q), ("k", k), ("v", v)):
        assert tensor.grad is not None and tensor.grad.abs().sum() > 0, (
            f"no gradient reached {name}. Where to look: a .detach(), torch.no_grad() "
            "or a conversion to NumPy inside scaled_dot_product_attention"
        )
