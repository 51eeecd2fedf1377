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

from kata.core.compare import expect_close, expect_shape

ONE_OP = 1e-5  # tolerance for one operation in float32

SHAPES = [
    # the input's shape (..., D); D differs from every leading size, so normalising the wrong axis shows
    (9,),
    (5, 7),
    (2, 5, 11),
    (2, 3, 4, 6),
]

EPS_HINT = "eps goes inside the square root: (x - mean) / sqrt(var + eps), not / (sqrt(var) + eps)"


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


def nearly_constant_rows(shape, seed=0):
    """Each row a constant plus noise of size 1e-3: variance about 1e-6, far below a large eps.

    The constants are small (about 0.01) so that float32 still resolves the noise to 1e-5.
    """
    generator = torch.Generator().manual_seed(seed)
    constants = 0.01 * torch.randn(*shape[:-1], 1, generator=generator)
    return constants + 1e-3 * torch.randn(shape, generator=generator)


def set_parameters(norm, weight, bias):
    with torch.no_grad():
        for name, value in (("weight", weight), ("bias", bias)):
            parameter = getattr(norm, name, None)
            shape = tuple(parameter.shape) if isinstance(parameter, torch.Tensor) else None
            assert shape == tuple(value.shape), (
                f"LayerNorm.{name} should be a parameter of shape {tuple(value.shape)}, got "
                f"{shape if shape is not None else repr(parameter)}. "
                "Where to look: name them weight and bias, each nn.Parameter of shape (d_model,)"
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
        atol=1e-10,
        what=f"layer_norm of shape {shape} with eps={eps:g} in float64 against torch's F.layer_norm",
        hint="keep the computation in the input's dtype (no float32 constants or .float())",
    )


@pytest.mark.parametrize("eps", [1e-2, 1e-5])
def test_eps_goes_inside_the_square_root(layer_norm, eps):
    # Variance about 1e-6: sqrt(var + 1e-2) is about 0.1, sqrt(var) + 1e-2 about 0.011, sqrt(var) 0.001.
    x = nearly_constant_rows((4, 9), seed=3)
    weight, bias = torch.ones(9), torch.zeros(9)
    expect_close(
        layer_norm.layer_norm(x, weight, bias, eps),
        F.layer_norm(x, (9,), weight, bias, eps),
        atol=ONE_OP,
        what=f"layer_norm with eps={eps:g} of rows whose variance (about 1e-6) is far below eps",
        hint=EPS_HINT + "; and eps must be used at all",
    )


@pytest.mark.parametrize("width", [3, 4])
def test_uses_the_biased_variance(layer_norm, width):
    # With D = 3 the unbiased variance is 3/2 of the biased one: outputs off by a factor sqrt(2/3).
    x = random_input((5, width), seed=4)
    weight, bias = torch.ones(width), torch.zeros(width)
    expect_close(
        layer_norm.layer_norm(x, weight, bias, 1e-12),
        F.layer_norm(x, (width,), weight, bias, 1e-12),
        atol=ONE_OP,
        what=f"layer_norm of rows of width D = {width}",
        hint="layer norm divides the variance by D, not D - 1: x.var(dim=-1, keepdim=True, correction=0) "
        "(torch.var's default is the unbiased D - 1)",
    )


def test_normalises_each_row_over_the_last_axis_only(layer_norm):
    x = random_input((5, 7), seed=5)
    weight, bias = random_affine(7, seed=5)
    changed = x.clone()
    changed[1:] = 100 * changed[1:] + 50  # every row but the first
    out = layer_norm.layer_norm(changed, weight, bias, 1e-5)
    expect_close(
        out[0],
        F.layer_norm(x[0], (7,), weight, bias, 1e-5),
        atol=ONE_OP,
        what="layer_norm of row 0 after changing every other row",
        hint="the mean and variance are per row, over the last axis only (dim=-1, keepdim=True), "
        "never over the whole tensor or the batch",
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


def test_layer_norm_module_has_trainable_weight_and_bias_of_shape_d(layer_norm):
    norm = layer_norm.LayerNorm(7)
    parameters = dict(norm.named_parameters())
    assert set(parameters) == {"weight", "bias"}, (
        f"LayerNorm(7) has the parameters {sorted(parameters)}, expected exactly ['bias', 'weight']. "
        "Where to look: wrap them in nn.Parameter (a plain tensor attribute is not a parameter), "
        "and name them weight and bias (loading BERT relies on it)"
    )
    for name, parameter in parameters.items():
        expect_shape(
            parameter, (7,), f"LayerNorm(7).{name}", hint="one scale and one shift per feature: (d_model,)"
        )
        assert isinstance(parameter, nn.Parameter) and parameter.requires_grad, (
            f"LayerNorm.{name} is not a trainable nn.Parameter. Where to look: requires_grad=False"
        )


def test_layer_norm_module_starts_with_weight_one_and_bias_zero(layer_norm):
    norm = layer_norm.LayerNorm(7)
    expect_close(
        norm.weight.detach(),
        torch.ones(7),
        atol=0.0,
        what="LayerNorm(7).weight when freshly built",
        hint="the weight starts at ones and the bias at zeros, so a fresh LayerNorm only normalises",
    )
    expect_close(
        norm.bias.detach(),
        torch.zeros(7),
        atol=0.0,
        what="LayerNorm(7).bias when freshly built",
        hint="the weight starts at ones and the bias at zeros, so a fresh LayerNorm only normalises",
    )


def test_layer_norm_module_uses_eps_1e_5_by_default(layer_norm):
    x = nearly_constant_rows((4, 9), seed=7)  # variance about 1e-6, so eps matters
    expect_close(
        layer_norm.LayerNorm(9)(x),
        F.layer_norm(x, (9,), eps=1e-5),
        atol=ONE_OP,
        what="LayerNorm(9) (default eps) on rows whose variance is about 1e-6",
        hint="the default is eps=1e-5 (as in torch.nn.LayerNorm); keep it and pass it to layer_norm",
    )


@pytest.mark.parametrize("eps", [1e-2, 1e-3])  # both far from the default 1e-5
def test_layer_norm_module_uses_the_eps_it_is_given(layer_norm, eps):
    x = nearly_constant_rows((4, 9), seed=8)
    expect_close(
        layer_norm.LayerNorm(9, eps=eps)(x),
        F.layer_norm(x, (9,), eps=eps),
        atol=ONE_OP,
        what=f"LayerNorm(9, eps={eps:g}) on rows whose variance is about 1e-6",
        hint="store the eps argument in __init__ (self.eps = eps) and pass it to layer_norm in forward",
    )


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
            "or uses it under torch.no_grad() or .detach()"
        )
    assert {name for name, _ in norm.named_parameters()} == {"weight", "bias"}, (
        "LayerNorm should have the parameters weight and bias. Where to look: wrap them in nn.Parameter"
    )
