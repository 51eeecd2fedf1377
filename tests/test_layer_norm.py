"""Exercise 4: layer_norm and LayerNorm, in exercises/layer_norm.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from kata.core.compare import FLOAT64, ONE_OP, expect_close, expect_shape

FLOAT16 = 1e-2  # a few float16 roundings of values up to about 4 (its spacing there is 2 ** -8)

SHAPES = [
    # the input's shape (..., D); D differs from every leading size, so normalising the wrong axis shows
    (9,),
    (5, 7),
    (2, 5, 11),
    (2, 3, 4, 6),
]


def test_does_not_call_the_library_function_it_asks_you_to_write(impl):
    """No shortcuts: this exercise's code may not call the library's version of what it asks you to
    write (F.layer_norm, nn.LayerNorm; kata/course/layer_norm.py, SHORTCUTS). The grader scores its checks 0 if it does."""
    impl.takes_no_shortcut("layer_norm")


@pytest.fixture(scope="module")
def layer_norm(impl):
    return impl.module("layer_norm")


def random_input(shape, seed=0, dtype=torch.float32):
    """Rows with different means and spreads, so that a statistic over the wrong axis shows."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    scale = 0.5 + 2 * torch.rand(*shape[:-1], 1, generator=generator, dtype=dtype)
    shift = torch.randn(*shape[:-1], 1, generator=generator, dtype=dtype)
    return x * scale + shift


def random_affine(width, seed=0, dtype=torch.float32):
    """A (weight, bias) pair of shape (D,), weight around 1."""
    generator = torch.Generator().manual_seed(seed + 1000)
    weight = 1 + 0.5 * torch.randn(width, generator=generator, dtype=dtype)
    bias = 0.5 * torch.randn(width, generator=generator, dtype=dtype)
    return weight, bias


def set_parameters(norm, weight, bias):
    with torch.no_grad():
        for name, value in (("weight", weight), ("bias", bias)):
            parameter = getattr(norm, name, None)
            expect_shape(
                parameter,
                value.shape,
                f"LayerNorm.{name}",
                hint="name them weight and bias, each nn.Parameter of shape (d_model,)",
            )
            parameter.copy_(value)
    return norm


def got_gradient(tensor):
    return tensor.grad is not None and bool(tensor.grad.abs().sum() > 0)


# ---- the layer_norm function --------------------------------------------------------


def test_passes_the_graded_check(impl, graded_check):
    """Each graded check of this exercise (kata/course/layer_norm.py), run exactly as the
    grader runs it: same inputs, probe, verdict, hints and points."""
    impl.run_check(graded_check)


@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_keeps_the_shape_of_its_input(layer_norm, shape):
    weight, bias = random_affine(shape[-1])
    out = layer_norm.layer_norm(random_input(shape), weight, bias, 1e-5)
    expect_shape(
        out,
        shape,
        f"layer_norm output for an input of shape {shape}",
        hint="reduce with keepdim=True so the mean and variance (..., 1) broadcast back over the last axis",
    )


@pytest.mark.parametrize("eps", [1e-5, 1e-12, 1e-2])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_matches_torch_layer_norm(layer_norm, shape, seed, eps):
    x = random_input(shape, seed)
    weight, bias = random_affine(shape[-1], seed)
    expect_close(
        layer_norm.layer_norm(x, weight, bias, eps),
        F.layer_norm(x, (shape[-1],), weight, bias, eps),
        atol=ONE_OP,
        what=f"layer_norm of shape {shape} with eps={eps:g} against torch's F.layer_norm",
        hint="(x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over the last axis only",
    )


@pytest.mark.parametrize("eps", [1e-5, 1e-12, 1e-2])
@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_keeps_float64_precision(layer_norm, shape, eps):
    x = random_input(shape, seed=2, dtype=torch.float64)
    weight, bias = random_affine(shape[-1], seed=2, dtype=torch.float64)
    expect_close(
        layer_norm.layer_norm(x, weight, bias, eps),
        F.layer_norm(x, (shape[-1],), weight, bias, eps),
        atol=FLOAT64,
        what=f"layer_norm of shape {shape} with eps={eps:g} in float64 against torch's F.layer_norm",
        hint="keep the computation in the input's dtype (no float32 constants or .float())",
    )


# Rows around 1000 in float32 are held to about 6e-5 (its spacing there), so two correct
# implementations differ by up to about 5e-4 once normalised; E[x^2] - E[x]^2 is off by 0.05 or more.
FAR_FROM_ZERO = 5e-3


def test_layer_norm_stays_accurate_for_rows_far_from_zero(layer_norm):
    x = 1000 + random_input((6, 64), seed=4)
    weight, bias = random_affine(64, seed=4)
    expect_close(
        layer_norm.layer_norm(x, weight, bias, 1e-5),
        F.layer_norm(x, (64,), weight, bias, 1e-5),
        atol=FAR_FROM_ZERO,
        what="layer_norm of rows around 1000 (spread about 1) against torch's F.layer_norm",
        hint="compute the variance as the mean of (x - mean) ** 2: E[x^2] - E[x]^2 subtracts two numbers "
        "near 1e6 that float32 holds to about 0.06, and the spread of about 1 is lost",
    )


def test_layer_norm_in_float16_computes_in_float32_instead_of_overflowing(layer_norm):
    """Values around 300: in float16 their squared deviations pass 65504 (inf) and the output becomes zeros."""
    x = (300 * random_input((4, 16), seed=3)).half()
    weight, bias = (t.half() for t in random_affine(16, seed=3))
    expect_close(
        layer_norm.layer_norm(x, weight, bias, 1e-5),
        F.layer_norm(x, (16,), weight, bias, 1e-5),
        atol=FLOAT16,
        what="layer_norm of float16 values around 300 against torch's F.layer_norm (which computes in float32)",
        hint="for float16 input, compute the mean, variance and normalised x in float32 (x.float()), "
        "then cast the normalised x back to float16: (x - mean) ** 2 overflows float16 past 65504",
    )


@given(
    leading=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    width=st.integers(2, 16),
    scale=st.floats(0.5, 20.0),
    shift=st.floats(-5.0, 5.0),
    seed=st.integers(0, 2**16),
)
def test_with_unit_weight_and_zero_bias_every_row_has_mean_zero_and_variance_one(
    layer_norm, leading, width, scale, shift, seed
):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(*leading, width, generator=generator)
    x[..., 0], x[..., 1] = -1.0, 1.0  # no row is nearly constant: biased variance >= 2 / D before scaling
    x = x * scale + shift
    out = layer_norm.layer_norm(x, torch.ones(width), torch.zeros(width), 1e-12)
    out64 = out.double()
    expect_close(
        out64.mean(dim=-1),
        torch.zeros(leading, dtype=torch.float64),
        atol=ONE_OP,
        what=f"mean of each row of layer_norm(x) (x of shape {(*leading, width)}, weight 1, bias 0)",
        hint="subtract the mean over the last axis",
    )
    expect_close(
        out64.var(dim=-1, correction=0),
        torch.ones(leading, dtype=torch.float64),
        atol=ONE_OP,
        what=f"biased variance of each row of layer_norm(x) (x of shape {(*leading, width)}, weight 1, bias 0)",
        hint="divide by sqrt of the biased variance (divide by D, correction=0), taken over the last axis",
    )


@pytest.mark.torch_only(reason="gradients need autograd")
def test_gradients_reach_the_input_weight_and_bias(layer_norm):
    x = random_input((3, 7), seed=6).requires_grad_()
    weight, bias = (t.requires_grad_() for t in random_affine(7, seed=6))
    layer_norm.layer_norm(x, weight, bias, 1e-5).pow(3).sum().backward()
    for name, tensor in (("x", x), ("weight", weight), ("bias", bias)):
        assert got_gradient(tensor), (
            f"no gradient reached {name} of layer_norm. Where to look: a .detach(), torch.no_grad(), "
            "or a conversion to NumPy inside layer_norm"
        )


# ---- the LayerNorm module -----------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES[1:])
def test_layer_norm_module_matches_torch_layer_norm_with_the_same_weights(layer_norm, shape):
    width = shape[-1]
    weight, bias = random_affine(width, seed=9)
    norm = set_parameters(layer_norm.LayerNorm(width, eps=1e-12), weight, bias)
    expected = nn.LayerNorm(width, eps=1e-12)
    with torch.no_grad():
        expected.weight.copy_(weight)
        expected.bias.copy_(bias)
    x = random_input(shape, seed=9)
    expect_close(
        norm(x),
        expected(x),
        atol=ONE_OP,
        what=f"LayerNorm({width}, eps=1e-12) output for an input of shape {shape} against torch.nn.LayerNorm",
        hint="forward is layer_norm(x, self.weight, self.bias, self.eps)",
    )


def test_layer_norm_module_matches_hugging_face_bert_output(layer_norm, hf_recording):
    # BertOutput(hidden, residual) = LayerNorm(dense(hidden) + residual), with BERT's eps 1e-12. Recorded by
    # kata/core/hf.py: x is that LayerNorm's input, dense(hidden) + residual, and out is BertOutput's output.
    config, bert_weights = hf_recording["config"], hf_recording["weights"]
    recorded = hf_recording["layer_norm"]
    norm = layer_norm.LayerNorm(config["hidden_size"], eps=config["layer_norm_eps"])
    set_parameters(
        norm,
        bert_weights["encoder.layer.0.output.LayerNorm.weight"],
        bert_weights["encoder.layer.0.output.LayerNorm.bias"],
    )
    # A copy: an implementation that writes into its input must not change the recording.
    x = recorded["x"].clone()
    with torch.no_grad():
        out = norm(x)
    expect_close(
        out,
        recorded["out"],
        atol=ONE_OP,
        what="LayerNorm with BERT's weights against Hugging Face BertOutput (dense, residual, LayerNorm)",
        hint="(x - mean) / sqrt(var + eps) * weight + bias over the last axis, biased variance",
    )


@pytest.mark.torch_only(reason="gradients need autograd")
def test_gradients_reach_the_layer_norm_module_weight_and_bias(layer_norm):
    norm = set_parameters(layer_norm.LayerNorm(7), *random_affine(7, seed=11))
    norm(random_input((3, 5, 7), seed=11)).pow(3).sum().backward()
    for name, parameter in norm.named_parameters():
        assert got_gradient(parameter), (
            f"no gradient reached LayerNorm.{name}. Where to look: forward does not use self.{name}, "
            "or uses it under torch.no_grad() or .detach(), or it was made with requires_grad=False"
        )
