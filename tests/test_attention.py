"""Exercise 1: scaled_dot_product_attention, in exercises/attention.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from kata.core.compare import ONE_OP, expect_close, expect_raises, expect_shape

SHAPES = [
    # (leading dims, L_q, L_k, d, d_v): L_q != L_k != d so a transposed axis shows
    ((), 3, 5, 4, 6),
    ((2,), 4, 7, 8, 3),
    ((2, 3), 5, 5, 6, 6),
    ((1, 2, 2), 1, 9, 5, 2),
]


def test_does_not_call_the_library_function_it_asks_you_to_write(impl):
    """No shortcuts: this exercise's code may not call the library's version of what it asks you to
    write (F.scaled_dot_product_attention; kata/course/attention.py, SHORTCUTS). The grader scores its checks 0 if it does."""
    impl.takes_no_shortcut("attention")


@pytest.fixture(scope="module")
def attention(impl):
    return impl.module("attention")


def random_qkv(leading, length_q, length_k, d, d_v, seed=0):
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(*leading, length_q, d, generator=generator)
    k = torch.randn(*leading, length_k, d, generator=generator)
    v = torch.randn(*leading, length_k, d_v, generator=generator)
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


@pytest.mark.parametrize("leading, length_q, length_k, d, d_v", SHAPES)
def test_matches_torch_scaled_dot_product_attention(attention, leading, length_q, length_k, d, d_v):
    """Against torch's own attention, without a mask and with a padding mask, for every shape. torch
    returns no weights, so its weights are its output for the identity as values: weights @ I."""
    q, k, v = random_qkv(leading, length_q, length_k, d, d_v, seed=3)
    identity = torch.eye(length_k).expand(*leading, length_k, length_k)
    for mask in (None, random_padding_mask(leading, length_q, length_k, seed=3)):
        label = "without a mask" if mask is None else f"with a padding mask of shape {tuple(mask.shape)}"
        out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
        expect_close(
            weights,
            F.scaled_dot_product_attention(q, k, identity, attn_mask=mask),
            atol=ONE_OP,
            what=f"attention weights {label} against torch's F.scaled_dot_product_attention",
            hint="scores are q @ k^T / sqrt(d); the softmax runs over the last axis (the keys); "
            "hidden scores are filled before the softmax",
        )
        expect_close(
            out,
            F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
            atol=ONE_OP,
            what=f"attention output {label} against torch's F.scaled_dot_product_attention",
            hint="out = weights @ v",
        )


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


# ---- masks that would give a wrong answer: given code (_check_mask) refuses them -----------

MASK_CHECK_HINT = (
    "the mask is checked by given code: keep `_check_mask(mask, q, k)` as the first line of "
    "scaled_dot_product_attention, and `_check_mask` and the helpers below it as they are"
)


def attend_with_a_valid_mask_first(attention, batch, length_q, length_k):
    """q, k, v after one call with a valid (B, 1, L_k) mask, which must work (and, on a stub, says what to write)."""
    q, k, v = random_qkv((batch,), length_q, length_k, 4, 4, seed=21)
    attention.scaled_dot_product_attention(q, k, v, torch.ones(batch, 1, length_k, dtype=torch.bool))
    return q, k, v


def test_a_padding_mask_without_its_query_axis_is_refused(attention):
    q, k, v = attend_with_a_valid_mask_first(attention, 2, 3, 5)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])  # (B, L_k): no query axis
    expect_raises(
        ValueError,
        lambda: attention.scaled_dot_product_attention(q, k, v, mask),
        what="scaled_dot_product_attention with a (B, L_k) mask of shape (2, 5) for q of shape (2, 3, 4)",
        mentions=["(2, 5)", "(2, 3, 5)", "query axis", "mask[:, None, :]", "(2, 1, 5)"],
        hint=MASK_CHECK_HINT,
    )


def test_a_padding_mask_without_its_query_axis_is_refused_when_the_batch_equals_the_queries(attention):
    """B == L_q: the (B, L_k) mask broadcasts, one row per query instead of one per batch row."""
    q, k, v = attend_with_a_valid_mask_first(attention, 3, 3, 5)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False], [True] + [False] * 4])
    expect_raises(
        ValueError,
        lambda: attention.scaled_dot_product_attention(q, k, v, mask),
        what="scaled_dot_product_attention with a (B, L_k) mask of shape (3, 5) for q of shape (3, 3, 4)",
        mentions=["(3, 5)", "(3, 3, 5)", "ambiguous", "mask[:, None, :]", "mask[None]"],
        hint=MASK_CHECK_HINT,
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64], ids=["float", "integer"])
def test_a_mask_of_zeros_and_ones_that_is_not_boolean_is_refused(attention, dtype):
    q, k, v = attend_with_a_valid_mask_first(attention, 2, 3, 5)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=dtype)[:, None, :]
    dtype_name = str(dtype).removeprefix("torch.")
    expect_raises(
        TypeError,
        lambda: attention.scaled_dot_product_attention(q, k, v, mask),
        what=f"scaled_dot_product_attention with a 0/1 mask of dtype {dtype_name}",
        mentions=[dtype_name, "boolean", "True means may attend", "0/1 mask"],
        hint=MASK_CHECK_HINT,
    )


def test_an_additive_mask_is_refused(attention):
    """Hugging Face's form, 0 where a key may be attended to and -inf where not: as a boolean it reads inverted."""
    q, k, v = attend_with_a_valid_mask_first(attention, 2, 3, 5)
    mask = torch.zeros(2, 1, 5).masked_fill(
        torch.tensor([[False] * 5, [False, False, True, True, True]])[:, None], -torch.inf
    )
    expect_raises(
        TypeError,
        lambda: attention.scaled_dot_product_attention(q, k, v, mask),
        what="scaled_dot_product_attention with an additive float mask (0 / -inf)",
        mentions=["float32", "True means may attend", "additive mask", "mask == 0"],
        hint=MASK_CHECK_HINT,
    )


@pytest.mark.torch_only(reason="gradients need autograd")
def test_gradients_flow_to_queries_keys_and_values(attention):
    """Gradients reach q, k and v, and equal those through torch's F.scaled_dot_product_attention."""
    q, k, v = random_qkv((2,), 3, 4, 5, 6, seed=11)
    mask = random_padding_mask((2,), 3, 4, seed=11)
    upstream = torch.randn(2, 3, 6, generator=torch.Generator().manual_seed(12))  # d loss / d out
    inputs = [tensor.clone().requires_grad_() for tensor in (q, k, v)]
    out, _ = attention.scaled_dot_product_attention(*inputs, mask)
    (out * upstream).sum().backward()
    expected = [tensor.clone().requires_grad_() for tensor in (q, k, v)]
    (F.scaled_dot_product_attention(*expected, attn_mask=mask) * upstream).sum().backward()
    for name, tensor, oracle in zip("qkv", inputs, expected, strict=True):
        expect_close(
            tensor.grad,
            oracle.grad,
            atol=ONE_OP,
            what=f"gradient of {name} of shape {tuple(tensor.shape)} against torch's F.scaled_dot_product_attention",
            hint="no gradient (None) means a .detach(), torch.no_grad() or a conversion to NumPy "
            "inside scaled_dot_product_attention",
        )
