"""Exercise 3: gelu and FeedForward, in exercises/feed_forward.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from kata.core.compare import FLOAT64, ONE_OP, expect_close, expect_shape

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


def test_does_not_call_the_library_function_it_asks_you_to_write(impl):
    """No shortcuts: this exercise's code may not call the library's version of what it asks you to
    write (F.gelu, nn.GELU; kata/course/feed_forward.py, SHORTCUTS). The grader scores its checks 0 if it does."""
    impl.takes_no_shortcut("feed_forward")


@pytest.fixture(scope="module")
def feed_forward(impl):
    return impl.module("feed_forward")


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
            expect_shape(
                parameter,
                value.shape,
                f"FeedForward.{name}",
                hint="linear1 = nn.Linear(d_model, d_ff), linear2 = nn.Linear(d_ff, d_model), both with a bias",
            )
            parameter.copy_(value)
    return ffn


def random_input(leading, d_model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*leading, d_model, generator=generator)


def expected_output(x, weights, activation):
    """linear2(activation(linear1(x))) with torch's own functions: the independent oracle."""
    hidden = F.linear(x, weights["linear1.weight"], weights["linear1.bias"])
    hidden = F.gelu(hidden) if activation == "gelu" else F.relu(hidden)
    return F.linear(hidden, weights["linear2.weight"], weights["linear2.bias"])


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


def test_gelu_is_x_times_the_standard_normal_cdf_at_known_points(feed_forward):
    points = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0]
    x = torch.tensor(points, dtype=torch.float64)
    expected = torch.tensor(
        [p * 0.5 * (1.0 + math.erf(p / math.sqrt(2.0))) for p in points], dtype=torch.float64
    )
    expect_close(
        feed_forward.gelu(x),
        expected,
        atol=FLOAT64,
        what=f"gelu at {points} (float64)",
        hint="gelu(1) = 1 * Phi(1) = 0.8413..., gelu(-1) = -0.1587...; " + GELU_HINT,
    )


# ---- FeedForward: shapes and values -------------------------------------------------


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


@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("leading, d_model, d_ff", SHAPES)
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
    # Hugging Face's output, recorded by kata/core/hf.py: BertIntermediate (dense + GELU), then BertOutput.dense (W_2).
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


# ---- FeedForward: gradients ---------------------------------------------------------


@pytest.mark.torch_only(reason="gradients need autograd")
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_gradients_reach_every_parameter_and_the_input(feed_forward, activation):
    """Gradients reach x and every parameter, and equal those through the same network built from
    torch's functions (expected_output)."""
    weights = random_weights(7, 11, seed=7)
    ffn = set_weights(feed_forward.FeedForward(7, 11, activation=activation), weights)
    x = random_input((3, 5), 7, seed=7)
    upstream = random_input((3, 5), 7, seed=8)  # d loss / d out
    mine, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ffn(mine) * upstream).sum().backward()
    oracle = {name: value.clone().requires_grad_() for name, value in weights.items()}
    (expected_output(theirs, oracle, activation) * upstream).sum().backward()
    got = {"x": mine.grad, **{name: parameter.grad for name, parameter in ffn.named_parameters()}}
    expected = {"x": theirs.grad, **{name: value.grad for name, value in oracle.items()}}
    for name, gradient in expected.items():
        expect_close(
            got.get(name),
            gradient,
            atol=ONE_OP,
            what=f"gradient of {name} with activation={activation!r} against "
            f"F.linear(F.{activation}(F.linear(x, W1, b1)), W2, b2)",
            hint="no gradient (None) means a .detach(), torch.no_grad(), a conversion to NumPy, "
            "or a layer built but never used in forward",
        )
