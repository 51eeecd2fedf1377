"""Exercise 2: split_heads, merge_heads and MultiHeadAttention, in exercises/multi_head.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import math

import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st

from kata.core.compare import WHOLE_MODEL, expect_close, expect_raises, expect_shape

SHAPES = [
    # (B, L, D, H), head width Dh = D // H: L, D, H and Dh all different so a swapped axis shows
    (2, 5, 21, 3),  # Dh 7
    (3, 7, 30, 5),  # Dh 6, BERT-like: the tiny_bert_config sizes
    (1, 4, 15, 5),  # Dh 3
    (2, 9, 10, 2),  # Dh 5
]

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")

# Where each projection comes from in Hugging Face's BertModel (layer 0, as kata/core/hf.py records it).
HF_PROJECTIONS = {
    "q_proj": "encoder.layer.0.attention.self.query",
    "k_proj": "encoder.layer.0.attention.self.key",
    "v_proj": "encoder.layer.0.attention.self.value",
    "out_proj": "encoder.layer.0.attention.output.dense",
}


def test_does_not_call_the_library_function_it_asks_you_to_write(impl):
    """No shortcuts: this exercise's code may not call the library's version of what it asks you to
    write (nn.MultiheadAttention; kata/course/multi_head.py, SHORTCUTS). The grader scores its checks 0 if it does."""
    impl.takes_no_shortcut("multi_head")


@pytest.fixture(scope="module")
def multi_head(impl):
    return impl.module("multi_head")


@pytest.fixture(scope="module")
def reference_multi_head(reference):
    return reference.module("multi_head")


def random_input(batch, length, d_model, seed=0):
    return torch.randn(batch, length, d_model, generator=torch.Generator().manual_seed(seed))


def random_keep(batch, length, seed=0):
    """(B, L) boolean, True for real tokens: a random number of real tokens per row, then padding.

    Every row keeps its first token; row 0 is padded whenever L > 1.
    """
    generator = torch.Generator().manual_seed(seed + 100)
    lengths = torch.randint(1, length + 1, (batch,), generator=generator)
    lengths[0] = (length + 1) // 2
    return torch.arange(length) < lengths.unsqueeze(-1)


def padding_mask(keep):
    """Our boolean padding mask (B, 1, 1, L): every query may attend to the real keys only."""
    return keep[:, None, None, :]


def check_projections(module, d_model):
    for name in PROJECTIONS:
        layer = getattr(module, name, None)
        if layer is None:
            problem = f"has no sub-module called {name!r}"
        elif not isinstance(layer, nn.Linear):
            problem = f"has {name} = {type(layer).__name__}, not an nn.Linear"
        elif (layer.in_features, layer.out_features) != (d_model, d_model):
            problem = (
                f"has {name} = nn.Linear({layer.in_features}, {layer.out_features}), "
                f"expected nn.Linear({d_model}, {d_model}) for d_model={d_model}"
            )
        elif layer.bias is None:
            problem = f"has {name} without a bias (BERT's projections have one)"
        else:
            continue
        raise AssertionError(
            f"MultiHeadAttention({d_model}, ...) {problem}. Where to look: create four sub-modules "
            "q_proj, k_proj, v_proj and out_proj in __init__, each nn.Linear(d_model, d_model); "
            "all heads share them, split_heads cuts their output into heads"
        )


def random_module(multi_head, d_model, num_heads, seed=0):
    """The implementation's MultiHeadAttention, in eval mode, with random projections."""
    module = multi_head.MultiHeadAttention(d_model, num_heads).eval()
    check_projections(module, d_model)
    generator = torch.Generator().manual_seed(seed + 200)
    with torch.no_grad():
        for name in PROJECTIONS:
            layer = getattr(module, name)
            # Scale 2 / sqrt(D): scores of order a few units, so the softmax is far from uniform.
            layer.weight.copy_(2.0 * torch.randn(d_model, d_model, generator=generator) / math.sqrt(d_model))
            layer.bias.copy_(0.5 * torch.randn(d_model, generator=generator))
    return module


def copy_projections(source, target):
    with torch.no_grad():
        for name in PROJECTIONS:
            getattr(target, name).weight.copy_(getattr(source, name).weight)
            getattr(target, name).bias.copy_(getattr(source, name).bias)
    return target


def torch_twin(module, d_model, num_heads):
    """torch's nn.MultiheadAttention with the same weights as `module` (q, k, v stacked in in_proj)."""
    twin = nn.MultiheadAttention(d_model, num_heads, batch_first=True).eval()
    with torch.no_grad():
        twin.in_proj_weight.copy_(
            torch.cat([module.q_proj.weight, module.k_proj.weight, module.v_proj.weight])
        )
        twin.in_proj_bias.copy_(torch.cat([module.q_proj.bias, module.k_proj.bias, module.v_proj.bias]))
        twin.out_proj.weight.copy_(module.out_proj.weight)
        twin.out_proj.bias.copy_(module.out_proj.bias)
    return twin


def reference_twin(reference_multi_head, module, d_model, num_heads):
    """The reference MultiHeadAttention with the same weights as `module`."""
    twin = reference_multi_head.MultiHeadAttention(d_model, num_heads).eval()
    return copy_projections(module, twin)


# ---- split_heads and merge_heads ----------------------------------------------------


def test_passes_the_graded_check(impl, graded_check):
    """Each graded check of this exercise (kata/course/multi_head.py), run exactly as the
    grader runs it: same inputs, probe, verdict, hints and points."""
    impl.run_check(graded_check)


@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES)
def test_split_heads_gives_batch_heads_length_head_width(multi_head, batch, length, d_model, num_heads):
    x = random_input(batch, length, d_model)
    expect_shape(
        multi_head.split_heads(x, num_heads),
        (batch, num_heads, length, d_model // num_heads),
        f"split_heads of a {(batch, length, d_model)} input into {num_heads} heads",
        hint="view as (B, L, H, D // H), then swap the L and H axes",
    )


@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES)
def test_merge_heads_gives_batch_length_width(multi_head, batch, length, d_model, num_heads):
    x = random_input(batch * num_heads, length, d_model // num_heads).view(
        batch, num_heads, length, d_model // num_heads
    )
    expect_shape(
        multi_head.merge_heads(x),
        (batch, length, d_model),
        f"merge_heads of a {tuple(x.shape)} input",
        hint="swap the H and L axes back to (B, L, H, Dh), then reshape to (B, L, H * Dh)",
    )


@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES)
def test_split_gives_head_h_the_h_th_slice_of_every_token_vector(
    multi_head, batch, length, d_model, num_heads
):
    x = random_input(batch, length, d_model, seed=1)
    out = multi_head.split_heads(x, num_heads)
    head_width = d_model // num_heads
    expect_shape(out, (batch, num_heads, length, head_width), "split_heads output")
    for head in range(num_heads):
        expect_close(
            out[:, head],
            x[..., head * head_width : (head + 1) * head_width],
            atol=0.0,  # split_heads only moves numbers around: exact
            what=f"split_heads(x, {num_heads})[:, {head}] against x[..., {head * head_width}:"
            f"{(head + 1) * head_width}] for x of shape {(batch, length, d_model)}",
            hint="view x as (B, L, H, Dh) and then transpose(1, 2); viewing straight to (B, H, L, Dh) "
            "gives the right shape but cuts the flattened sequence instead of each token's vector",
        )


ANY_HEADS = {  # hypothesis' shapes for the properties that hold for any number and width of heads
    "batch": st.integers(1, 3),
    "length": st.integers(1, 6),
    "num_heads": st.integers(1, 4),
    "head_width": st.integers(1, 5),
    "seed": st.integers(0, 2**16),
}


@given(**ANY_HEADS)
def test_split_then_merge_gives_back_the_input(multi_head, batch, length, num_heads, head_width, seed):
    x = random_input(batch, length, num_heads * head_width, seed)
    expect_close(
        multi_head.merge_heads(multi_head.split_heads(x, num_heads)),
        x,
        atol=0.0,  # only moves numbers around: exact
        what=f"merge_heads(split_heads(x, {num_heads})) for x of shape {tuple(x.shape)}",
        hint="merge_heads must undo split_heads: transpose(1, 2) back to (B, L, H, Dh) before "
        "reshaping to (B, L, D), and split must transpose after its view",
    )


# ---- MultiHeadAttention: forward ------------------------------------------------------


@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES)
def test_returns_output_and_weights_with_the_documented_shapes(multi_head, batch, length, d_model, num_heads):
    module = random_module(multi_head, d_model, num_heads)
    result = module(random_input(batch, length, d_model))
    assert isinstance(result, tuple) and len(result) == 2, (
        f"MultiHeadAttention.forward should return a pair (out, weights), got {type(result).__name__}"
    )
    out, weights = result
    expect_shape(out, (batch, length, d_model), "multi-head attention output")
    expect_shape(
        weights,
        (batch, num_heads, length, length),
        "multi-head attention weights",
        hint="weights are (B, H, L, L), one (L, L) matrix per head: split q, k and v into "
        "num_heads heads (not into heads of width num_heads) before the attention",
    )


@given(**ANY_HEADS)
def test_matches_the_reference_for_any_shape(
    multi_head, reference_multi_head, batch, length, num_heads, head_width, seed
):
    d_model = num_heads * head_width
    module = random_module(multi_head, d_model, num_heads, seed)
    expected_module = reference_twin(reference_multi_head, module, d_model, num_heads)
    x = random_input(batch, length, d_model, seed)
    mask = padding_mask(random_keep(batch, length, seed))
    out, weights = module(x, mask)
    expected_out, expected_weights = expected_module(x, mask)
    shape = f"B={batch}, L={length}, H={num_heads}, Dh={head_width}"
    expect_close(weights, expected_weights, atol=WHOLE_MODEL, what=f"multi-head attention weights ({shape})")
    expect_close(out, expected_out, atol=WHOLE_MODEL, what=f"multi-head attention output ({shape})")


@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES)
def test_matches_torch_multihead_attention(multi_head, batch, length, d_model, num_heads):
    module = random_module(multi_head, d_model, num_heads, seed=5)
    oracle = torch_twin(module, d_model, num_heads)
    x = random_input(batch, length, d_model, seed=5)
    keep = random_keep(batch, length, seed=5)
    for label, mask, ignore in (
        ("without a mask", None, None),
        ("with a padding mask", padding_mask(keep), ~keep),  # torch: True = ignore this key
    ):
        out, weights = module(x, mask)
        # Not under torch.no_grad(): torch's fast path would change the numerics.
        expected_out, expected_weights = oracle(
            x, x, x, key_padding_mask=ignore, need_weights=True, average_attn_weights=False
        )
        real = torch.ones_like(keep) if mask is None else keep
        expect_close(
            weights,
            expected_weights,
            atol=WHOLE_MODEL,
            what=f"multi-head attention weights {label} against torch's nn.MultiheadAttention",
            where=real[:, None, :, None],  # real queries
            hint="head h uses columns h * Dh:(h + 1) * Dh of each projection's output",
        )
        expect_close(
            out,
            expected_out,
            atol=WHOLE_MODEL,
            what=f"multi-head attention output {label} against torch's nn.MultiheadAttention",
            where=real[:, :, None],  # real tokens
            hint="out = out_proj(merge_heads(attention per head))",
        )


def test_matches_hugging_face_bert_self_attention_and_output_projection(multi_head, hf_recording):
    # Hugging Face's outputs, recorded by kata/core/hf.py: BertSelfAttention with BERT's additive mask
    # (the dtype's most negative value on padded keys), then BertSelfOutput.dense.
    config, bert_weights = hf_recording["config"], hf_recording["weights"]
    recorded = hf_recording["multi_head"]
    d_model, num_heads = config["hidden_size"], config["num_attention_heads"]
    module = multi_head.MultiHeadAttention(d_model, num_heads).eval()
    check_projections(module, d_model)
    with torch.no_grad():
        for name, bert_name in HF_PROJECTIONS.items():
            getattr(module, name).weight.copy_(bert_weights[f"{bert_name}.weight"])
            getattr(module, name).bias.copy_(bert_weights[f"{bert_name}.bias"])
    # Copies: an implementation that writes into its input must not change the recording.
    x, keep = recorded["x"].clone(), recorded["keep"].clone()
    for label, mask, expected in (
        ("without a mask", None, recorded["unmasked"]),
        ("with a padding mask", padding_mask(keep), recorded["padded"]),
    ):
        with torch.no_grad():
            out, weights = module(x, mask)
        expect_close(
            weights,
            expected["weights"],
            atol=WHOLE_MODEL,
            what=f"multi-head attention weights {label} against Hugging Face BertSelfAttention",
            hint="BERT splits each projection into heads of width D // H: view (B, L, H, Dh), transpose(1, 2)",
        )
        expect_close(
            out,
            expected["out"],
            atol=WHOLE_MODEL,
            what=f"multi-head attention output {label} against BertSelfAttention + BertSelfOutput.dense",
            hint="out_proj (BERT's attention.output.dense) is applied to the merged heads",
        )


# ---- MultiHeadAttention: what it refuses -------------------------------------------


@pytest.mark.parametrize("num_heads", [0, -5])
def test_a_head_count_that_is_not_positive_is_refused(multi_head, num_heads):
    multi_head.MultiHeadAttention(30, 5)  # a valid head count first: it must work
    expect_raises(
        ValueError,
        lambda: multi_head.MultiHeadAttention(30, num_heads),
        what=f"MultiHeadAttention(30, {num_heads})",
        mentions=[f"num_heads={num_heads}", "positive divisor", "d_model=30"],
        hint="the head count is checked by given code: keep `_check_num_heads(d_model, num_heads)` "
        "as the first line of __init__ after super().__init__()",
    )


def test_a_padding_mask_without_its_head_and_query_axes_is_refused_when_the_batch_equals_the_length(
    multi_head,
):
    """B == L: a (B, L) mask broadcasts against the (B, H, L, L) scores as a mask per query."""
    batch = length = 6
    module = random_module(multi_head, 30, 5, seed=15)
    x = random_input(batch, length, 30, seed=15)
    keep = random_keep(batch, length, seed=15)
    module(x, padding_mask(keep))  # the (B, 1, 1, L) form first: it must work
    expect_raises(
        ValueError,
        lambda: module(x, keep),
        what="MultiHeadAttention(30, 5) on x of shape (6, 6, 30) with a (B, L) mask of shape (6, 6)",
        mentions=["(6, 6)", "(6, 5, 6, 6)", "mask[:, None, None, :]", "(6, 1, 1, 6)"],
        hint="pass the mask on to scaled_dot_product_attention unchanged: its given `_check_mask` "
        "refuses a mask that would broadcast to a wrong answer",
    )


# ---- MultiHeadAttention: gradients ------------------------------------------


@pytest.mark.torch_only(reason="gradients need autograd")
def test_gradients_reach_every_parameter_and_the_input(multi_head):
    """Gradients reach x and every projection, and equal those through torch's nn.MultiheadAttention."""
    batch, length, d_model, num_heads = 3, 7, 30, 5
    module = random_module(multi_head, d_model, num_heads, seed=13)
    oracle = torch_twin(module, d_model, num_heads)
    x = random_input(batch, length, d_model, seed=13)
    keep = random_keep(batch, length, seed=13)
    upstream = random_input(batch, length, d_model, seed=14)  # d loss / d out
    mine, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, _ = module(mine, padding_mask(keep))
    (out * upstream).sum().backward()
    expected_out, _ = oracle(theirs, theirs, theirs, key_padding_mask=~keep, need_weights=False)
    (expected_out * upstream).sum().backward()
    weight_grads = oracle.in_proj_weight.grad.chunk(3)  # q, k, v stacked
    bias_grads = oracle.in_proj_bias.grad.chunk(3)
    expected = {"x": theirs.grad, "out_proj.weight": oracle.out_proj.weight.grad}
    expected["out_proj.bias"] = oracle.out_proj.bias.grad
    for name, weight, bias in zip(("q_proj", "k_proj", "v_proj"), weight_grads, bias_grads, strict=True):
        expected[f"{name}.weight"], expected[f"{name}.bias"] = weight, bias
    got = {"x": mine.grad, **{name: parameter.grad for name, parameter in module.named_parameters()}}
    for name, gradient in expected.items():
        expect_close(
            got.get(name),
            gradient,
            atol=WHOLE_MODEL,
            what=f"gradient of {name} against torch's nn.MultiheadAttention",
            hint="no gradient (None) means it is not used in forward, or a .detach(), torch.no_grad() "
            "or a conversion to NumPy cuts it off",
        )
