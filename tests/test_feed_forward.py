"""Exercise 3: gelu and FeedForward, in exercises/feed_forward.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from kata.core.compare import expect_close, expect_raises, expect_shape

ONE_OP = 1e-5  # tolerance for one operation in float32

SHAPES = [
    # (leading dims, D, F): D != F and both differ from the leading sizes, so a swapped axis shows
    ((2, 5), 7, 11),
    ((3, 4), 6, 13),
    ((9,), 5, 3),  # F narrower than D: nothing relies on F > D
    ((2, 3, 4), 8, 17),
]

GELU_HINT = (
    "GELU is x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))), the exact form BERT uses; "
    "the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) and the sigmoid "
    "approximation x * sigmoid(1.702 x) are off by far more than the tolerance"
)


@pytest.fixture(scope="module")
def feed_forward(impl):
    return impl.module("feed_forward")


@pytest.fixture(scope="module")
def reference_feed_forward(reference):
    return reference.module("feed_forward")


def random_weights(d_model, d_ff, seed=0):
    """Weights for linear1 (D -> F) and linear2 (F -> D), sized so that the hidden values straddle 0."""
    generator = torch.Generator().manual_seed(seed + 1000)
    return {
        "linear1.weight": torch.randn(d_ff, d_model, generator=generator) / math.sqrt(d_model),
        "linear1.bias": torch.randn(d_ff, generator=generator),
        "linear2.weight": torch.randn(d_model, d_ff, generator=generator) / math.sqrt(d_ff),
        "linear2.bias": torch.randn(d_model, generator=generator),
    }


def set_weights(ffn, weights):
    """Copy {"linear1.weight": ..., ...} into a FeedForward, saying clearly what is missing or misshapen."""
    with torch.no_grad():
        for name, value in weights.items():
            layer_name, parameter_name = name.split(".")
            layer = getattr(ffn, layer_name, None)
            assert isinstance(layer, nn.Linear), (
                f"FeedForward has no nn.Linear called {layer_name!r}. "
                "Where to look: the sub-modules must be named linear1 (D -> F) and linear2 (F -> D)"
            )
            parameter = getattr(layer, parameter_name)
            shape = None if parameter is None else tuple(parameter.shape)
            assert shape == tuple(value.shape), (
                f"FeedForward.{name} has shape {shape}, expected {tuple(value.shape)}. "
                "Where to look: linear1 = nn.Linear(d_model, d_ff), linear2 = nn.Linear(d_ff, d_model), both with a bias"
            )
            parameter.copy_(value)
    return ffn


def build(module, d_model, d_ff, seed=0, **kwargs):
    """module.FeedForward(d_model, d_ff, **kwargs) with the weights random_weights(d_model, d_ff, seed)."""
    return set_weights(module.FeedForward(d_model, d_ff, **kwargs), random_weights(d_model, d_ff, seed))


def random_input(leading, d_model, seed=0, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*leading, d_model, generator=generator, dtype=dtype)


def expected_output(x, weights, activation):
    """linear2(activation(linear1(x))) with torch's own functions: the independent oracle."""
    hidden = F.linear(x, weights["linear1.weight"], weights["linear1.bias"])
    hidden = F.gelu(hidden) if activation == "gelu" else F.relu(hidden)
    return F.linear(hidden, weights["linear2.weight"], weights["linear2.bias"])


def got_gradient(tensor):
    return tensor.grad is not None and bool(tensor.grad.abs().sum() > 0)


# ---- gelu --------------------------------------------------------------------------


def test_passes_the_graded_check(impl, graded_check):
    """Each graded check of this exercise (kata/course/feed_forward.py), run exactly as the
    grader runs it: same inputs, probe, verdict, hints and points."""
    impl.run_check(graded_check)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5), (2, 3, 4)])
def test_gelu_keeps_the_shape_and_dtype_of_its_input(feed_forward, shape, dtype):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
    out = feed_forward.gelu(x)
    expect_shape(out, shape, f"gelu of a {dtype} tensor of shape {shape}", hint="gelu works element-wise")
    assert out.dtype == dtype, (
        f"gelu of a {dtype} tensor returned {out.dtype}. "
        "Where to look: a constant built as a float32 tensor; use math.sqrt(2.0), a Python float"
    )


def test_gelu_matches_torch_exact_gelu(feed_forward):
    # On [-6, 6] the tanh approximation is off by up to 5e-4 and the sigmoid one by 2e-2.
    x = torch.linspace(-6.0, 6.0, 1201)
    expect_close(
        feed_forward.gelu(x),
        F.gelu(x, approximate="none"),
        atol=1e-6,
        rtol=1e-6,
        what="gelu on linspace(-6, 6) against torch's F.gelu (exact erf form)",
        hint=GELU_HINT,
    )


def test_gelu_keeps_float64_precision(feed_forward):
    x = torch.cat(
        [torch.linspace(-8.0, 8.0, 801, dtype=torch.float64), 3 * random_input((), 50, seed=1).double()]
    )
    expect_close(
        feed_forward.gelu(x),
        F.gelu(x),
        atol=1e-12,
        what="gelu in float64 against torch's F.gelu",
        hint=GELU_HINT + "; also keep the computation in the input's dtype",
    )


def test_gelu_is_x_times_the_standard_normal_cdf_at_known_points(feed_forward):
    points = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0]
    x = torch.tensor(points, dtype=torch.float64)
    expected = torch.tensor(
        [p * 0.5 * (1.0 + math.erf(p / math.sqrt(2.0))) for p in points], dtype=torch.float64
    )
    expect_close(
        feed_forward.gelu(x),
        expected,
        atol=1e-12,
        what=f"gelu at {points} (float64)",
        hint="gelu(1) = 1 * Phi(1) = 0.8413..., gelu(-1) = -0.1587...; " + GELU_HINT,
    )


# ---- FeedForward: structure ------------------------------------------------------


@pytest.mark.parametrize("d_model, d_ff", [(7, 11), (6, 4)])
def test_has_linear1_from_d_model_to_d_ff_and_linear2_back(feed_forward, d_model, d_ff):
    ffn = feed_forward.FeedForward(d_model, d_ff)
    for name, in_features, out_features in (("linear1", d_model, d_ff), ("linear2", d_ff, d_model)):
        layer = getattr(ffn, name, None)
        assert isinstance(layer, nn.Linear), (
            f"FeedForward({d_model}, {d_ff}) has no nn.Linear sub-module called {name!r} "
            f"(it has {[child for child, _ in ffn.named_children()]}). "
            "Where to look: name them linear1 and linear2, as the SPEC says (loading BERT relies on it)"
        )
        assert (layer.in_features, layer.out_features) == (in_features, out_features), (
            f"FeedForward(d_model={d_model}, d_ff={d_ff}).{name} is nn.Linear({layer.in_features}, "
            f"{layer.out_features}), expected nn.Linear({in_features}, {out_features}). Where to look: "
            "nn.Linear takes (in_features, out_features); linear1 widens D -> F, linear2 narrows F -> D"
        )
        assert layer.bias is not None, f"FeedForward.{name} has no bias. Where to look: bias=False"


@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("leading, d_model, d_ff", SHAPES)
def test_output_has_the_shape_of_the_input(feed_forward, leading, d_model, d_ff, activation):
    ffn = feed_forward.FeedForward(d_model, d_ff, activation=activation)
    out = ffn(random_input(leading, d_model))
    expect_shape(
        out,
        (*leading, d_model),
        f"FeedForward({d_model}, {d_ff}, activation={activation!r}) output",
        hint="the output is linear2(activation(linear1(x))): back to width D, every leading dimension kept",
    )


# ---- FeedForward: values -----------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("leading, d_model, d_ff", SHAPES)
def test_matches_the_reference_with_the_same_weights(
    feed_forward, reference_feed_forward, leading, d_model, d_ff, activation, seed
):
    ffn = build(feed_forward, d_model, d_ff, seed, activation=activation)
    reference_ffn = build(reference_feed_forward, d_model, d_ff, seed, activation=activation)
    x = random_input(leading, d_model, seed)
    expect_close(
        ffn(x),
        reference_ffn(x),
        atol=ONE_OP,
        what=f"FeedForward output with activation={activation!r}, input shape {(*leading, d_model)}",
        hint=f"out = linear2({activation}(linear1(x))), the activation between the two layers only",
    )


@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("leading, d_model, d_ff", SHAPES[:2])
def test_matches_linear_activation_linear_built_from_torch_functions(
    feed_forward, leading, d_model, d_ff, activation
):
    weights = random_weights(d_model, d_ff, seed=2)
    ffn = set_weights(feed_forward.FeedForward(d_model, d_ff, activation=activation), weights)
    x = random_input(leading, d_model, seed=2)
    expect_close(
        ffn(x),
        expected_output(x, weights, activation),
        atol=ONE_OP,
        what=f"FeedForward output with activation={activation!r} against "
        f"F.linear(F.{activation}(F.linear(x, W1, b1)), W2, b2)",
        hint=f"activation={activation!r} must select {activation}, applied after linear1 and before linear2",
    )


def test_matches_hugging_face_bert_intermediate_and_output_dense(feed_forward, hf_recording):
    # Hugging Face's output, recorded by kata/hf.py: BertIntermediate (dense + GELU), then BertOutput.dense (W_2).
    config, bert_weights = hf_recording["config"], hf_recording["weights"]
    recorded = hf_recording["feed_forward"]
    d_model, d_ff = config["hidden_size"], config["intermediate_size"]
    ffn = feed_forward.FeedForward(d_model, d_ff, activation=config["hidden_act"]).eval()
    set_weights(
        ffn,
        {
            "linear1.weight": bert_weights["encoder.layer.0.intermediate.dense.weight"],
            "linear1.bias": bert_weights["encoder.layer.0.intermediate.dense.bias"],
            "linear2.weight": bert_weights["encoder.layer.0.output.dense.weight"],
            "linear2.bias": bert_weights["encoder.layer.0.output.dense.bias"],
        },
    )
    # A copy: an implementation that writes into its input must not change the recording.
    x = recorded["x"].clone()
    with torch.no_grad():
        out = ffn(x)
    expect_close(
        out,
        recorded["out"],
        atol=ONE_OP,
        what="FeedForward output against Hugging Face BertIntermediate then BertOutput.dense",
        hint="BERT's activation is the exact (erf) GELU: " + GELU_HINT,
    )


@pytest.mark.parametrize("activation", ["swish", "tanh"])
def test_an_unknown_activation_raises_a_value_error_that_names_it(feed_forward, activation):
    expect_raises(
        ValueError,
        lambda: feed_forward.FeedForward(7, 11, activation=activation),
        what=f"FeedForward(7, 11, activation={activation!r})",
        mentions=[activation],
        hint="check the activation in __init__: anything but 'gelu' or 'relu' raises "
        "ValueError with a message that names it",
    )


# ---- FeedForward: dropout and gradients ---------------------------------------------


@pytest.mark.torch_only(reason="dropout in train mode")
def test_dropout_changes_the_output_in_training_mode(feed_forward):
    ffn = build(feed_forward, 7, 11, dropout=0.5).train()
    x = random_input((4, 6), 7, seed=4)
    torch.manual_seed(0)
    first, second = ffn(x), ffn(x)
    assert not torch.equal(first, second), (
        "FeedForward(7, 11, dropout=0.5) in training mode gave the same output twice. "
        "Where to look: the dropout argument is ignored; keep an nn.Dropout(dropout) and apply it to the output"
    )


@pytest.mark.torch_only(reason="dropout in train mode")
def test_dropout_zeroes_some_outputs_and_rescales_the_rest(feed_forward):
    weights = random_weights(7, 11, seed=5)
    ffn = set_weights(feed_forward.FeedForward(7, 11, dropout=0.5), weights).train()
    x = random_input((4, 6), 7, seed=5)
    torch.manual_seed(0)
    out = ffn(x)
    undropped = expected_output(x, weights, "gelu")
    dropped = out == 0
    fraction = dropped.float().mean().item()
    assert 0.2 < fraction < 0.8, (
        f"with dropout=0.5 about half the outputs should be exactly zero, got {fraction:.0%}. "
        "Where to look: dropout goes on the output, dropout(linear2(hidden)), where BERT's BertOutput has it, "
        "not on the hidden layer"
    )
    expect_close(
        out[~dropped],
        undropped[~dropped] / 0.5,
        atol=ONE_OP,
        what="FeedForward outputs kept by dropout=0.5",
        hint="dropout goes last, on linear2's output, and scales what it keeps by 1 / (1 - p)",
    )


def test_dropout_is_off_in_eval_mode(feed_forward):
    weights = random_weights(7, 11, seed=6)
    ffn = set_weights(feed_forward.FeedForward(7, 11, dropout=0.5), weights).eval()
    x = random_input((4, 6), 7, seed=6)
    torch.manual_seed(0)
    expect_close(
        ffn(x),
        expected_output(x, weights, "gelu"),
        atol=ONE_OP,
        what="FeedForward(7, 11, dropout=0.5) output in eval mode",
        hint="use an nn.Dropout sub-module, which is off after .eval(); F.dropout(x, p) is always on "
        "unless you pass training=self.training",
    )


@pytest.mark.torch_only(reason="gradients need autograd")
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_gradients_reach_every_parameter_and_the_input(feed_forward, activation):
    ffn = build(feed_forward, 7, 11, seed=7, activation=activation)
    x = random_input((3, 5), 7, seed=7).requires_grad_()
    ffn(x).square().sum().backward()
    parameters = dict(ffn.named_parameters())
    for name in ("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"):
        assert name in parameters, f"FeedForward has no parameter {name!r}; it has {sorted(parameters)}"
    for name, parameter in parameters.items():
        assert got_gradient(parameter), (
            f"no gradient reached FeedForward.{name}. Where to look: a .detach(), torch.no_grad(), "
            "or a layer built but never used in forward"
        )
    assert got_gradient(x), (
        "no gradient reached the input. Where to look: a .detach() or torch.no_grad() in forward"
    )
