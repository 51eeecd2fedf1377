"""Exercise 2: split_heads, merge_heads and MultiHeadAttention, in exercises/multi_head.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import math

import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st

from kata.core.compare import expect_close, expect_raises, expect_shape

WHOLE_MODEL = 5e-5  # tolerance for a whole module (projections + attention) in float32

SHAPES = [
    # (B, L, D, H), head width Dh = D // H: L, D, H and Dh all different so a swapped axis shows
    (2, 5, 21, 3),  # Dh 7
    (3, 7, 30, 5),  # Dh 6, BERT-like: the tiny_bert_config sizes
    (1, 4, 15, 5),  # Dh 3
    (2, 9, 10, 2),  # Dh 5
]

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")

# Where each projection comes from in Hugging Face's BertModel (layer 0, as kata/hf.py records it).
HF_PROJECTIONS = {
    "q_proj": "encoder.layer.0.attention.self.query",
    "k_proj": "encoder.layer.0.attention.self.key",
    "v_proj": "encoder.layer.0.attention.self.value",
    "out_proj": "encoder.layer.0.attention.output.dense",
}


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


def random_head_mask(batch, num_heads, length, seed=0):
    """A (B, H, L, L) mask, different for every head; every query may attend to itself."""
    generator = torch.Generator().manual_seed(seed + 300)
    mask = torch.rand(batch, num_heads, length, length, generator=generator) > 0.5
    return mask | torch.eye(length, dtype=torch.bool)


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


def random_module(multi_head, d_model, num_heads, seed=0, dropout=0.0):
    """The implementation's MultiHeadAttention, in eval mode, with random projections."""
    module = multi_head.MultiHeadAttention(d_model, num_heads, dropout=dropout).eval()
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


@given(
    batch=st.integers(1, 3),
    length=st.integers(1, 6),
    num_heads=st.integers(1, 4),
    head_width=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
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


@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES)
def test_split_and_merge_match_the_reference(
    multi_head, reference_multi_head, batch, length, d_model, num_heads
):
    x = random_input(batch, length, d_model, seed=2)
    expect_close(
        multi_head.split_heads(x, num_heads),
        reference_multi_head.split_heads(x, num_heads),
        atol=0.0,  # only moves numbers around: exact
        what=f"split_heads of a {(batch, length, d_model)} input into {num_heads} heads",
        hint="view as (B, L, H, Dh), then transpose(1, 2)",
    )
    heads = random_input(batch * num_heads, length, d_model // num_heads, seed=3).view(
        batch, num_heads, length, d_model // num_heads
    )
    expect_close(
        multi_head.merge_heads(heads),
        reference_multi_head.merge_heads(heads),
        atol=0.0,  # only moves numbers around: exact
        what=f"merge_heads of a {tuple(heads.shape)} input",
        hint="transpose(1, 2) to (B, L, H, Dh) first, then reshape to (B, L, D); reshaping "
        "(B, H, L, Dh) straight to (B, L, D) mixes the tokens together",
    )


# ---- MultiHeadAttention: construction -------------------------------------------------


@pytest.mark.parametrize("d_model, num_heads", [(30, 5), (21, 3), (10, 1)])
def test_has_query_key_value_and_output_projections_of_width_d(multi_head, d_model, num_heads):
    check_projections(multi_head.MultiHeadAttention(d_model, num_heads), d_model)


@pytest.mark.parametrize("d_model, num_heads", [(30, 7), (10, 4), (21, 4)])
def test_a_head_count_that_does_not_divide_the_width_raises_value_error(multi_head, d_model, num_heads):
    expect_raises(
        ValueError,
        lambda: multi_head.MultiHeadAttention(d_model, num_heads),
        what=f"MultiHeadAttention(d_model={d_model}, num_heads={num_heads})",
        mentions=[str(d_model), str(num_heads)],
        hint="check d_model % num_heads in __init__ and raise ValueError with both numbers in "
        "the message (not an assert: that raises AssertionError)",
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


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES)
def test_matches_the_reference_with_and_without_a_padding_mask(
    multi_head, reference_multi_head, batch, length, d_model, num_heads, seed
):
    module = random_module(multi_head, d_model, num_heads, seed)
    expected_module = reference_twin(reference_multi_head, module, d_model, num_heads)
    x = random_input(batch, length, d_model, seed)
    for mask in (None, padding_mask(random_keep(batch, length, seed))):
        label = "without a mask" if mask is None else f"with a padding mask of shape {tuple(mask.shape)}"
        out, weights = module(x, mask)
        expected_out, expected_weights = expected_module(x, mask)
        expect_close(
            weights,
            expected_weights,
            atol=WHOLE_MODEL,
            what=f"multi-head attention weights {label}",
            hint="q from q_proj, k from k_proj, v from v_proj, each split into heads; pass the mask "
            "on to scaled_dot_product_attention",
        )
        expect_close(
            out,
            expected_out,
            atol=WHOLE_MODEL,
            what=f"multi-head attention output {label}",
            hint="merge the heads (transpose back before the reshape), then apply out_proj",
        )


@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES[:3])
def test_matches_the_reference_with_a_mask_per_head_and_a_causal_mask(
    multi_head, reference_multi_head, batch, length, d_model, num_heads
):
    module = random_module(multi_head, d_model, num_heads, seed=4)
    expected_module = reference_twin(reference_multi_head, module, d_model, num_heads)
    x = random_input(batch, length, d_model, seed=4)
    masks = {
        "a mask per head of shape (B, H, L, L)": random_head_mask(batch, num_heads, length, seed=4),
        "a causal mask of shape (L, L)": torch.ones(length, length, dtype=torch.bool).tril(),
    }
    for label, mask in masks.items():
        out, weights = module(x, mask)
        expected_out, expected_weights = expected_module(x, mask)
        expect_close(
            weights,
            expected_weights,
            atol=WHOLE_MODEL,
            what=f"multi-head attention weights with {label}",
            hint="pass the mask unchanged to scaled_dot_product_attention; it broadcasts over (B, H, L, L)",
        )
        expect_close(out, expected_out, atol=WHOLE_MODEL, what=f"multi-head attention output with {label}")


@given(
    batch=st.integers(1, 3),
    length=st.integers(1, 6),
    num_heads=st.integers(1, 4),
    head_width=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
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


@pytest.mark.parametrize("batch, length, d_model, num_heads", SHAPES[:2])
def test_matches_torch_multihead_attention(multi_head, batch, length, d_model, num_heads):
    module = random_module(multi_head, d_model, num_heads, seed=5)
    oracle = nn.MultiheadAttention(d_model, num_heads, batch_first=True).eval()
    with torch.no_grad():
        oracle.in_proj_weight.copy_(
            torch.cat([module.q_proj.weight, module.k_proj.weight, module.v_proj.weight])
        )
        oracle.in_proj_bias.copy_(torch.cat([module.q_proj.bias, module.k_proj.bias, module.v_proj.bias]))
        oracle.out_proj.weight.copy_(module.out_proj.weight)
        oracle.out_proj.bias.copy_(module.out_proj.bias)
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
    # Hugging Face's outputs, recorded by kata/hf.py: BertSelfAttention with BERT's additive mask
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


def test_padded_keys_do_not_change_the_outputs_at_real_positions(multi_head):
    batch, length, d_model, num_heads = 3, 7, 30, 5
    module = random_module(multi_head, d_model, num_heads, seed=7)
    x = random_input(batch, length, d_model, seed=7)
    keep = random_keep(batch, length, seed=7)
    changed = x.clone()
    changed[~keep] = 50.0 * random_input(1, int((~keep).sum()), d_model, seed=8)[0]
    with torch.no_grad():
        out, weights = module(x, padding_mask(keep))
        out_changed, weights_changed = module(changed, padding_mask(keep))
    expect_close(
        weights * ~keep[:, None, None, :],
        torch.zeros_like(weights),
        atol=0.0,
        what="multi-head attention weights on padded keys",
        hint="pass the mask to scaled_dot_product_attention for every head",
    )
    expect_close(
        weights_changed,
        weights,
        atol=WHOLE_MODEL,
        what="multi-head attention weights of real tokens after changing the padded tokens' vectors",
        where=keep[:, None, :, None],
        hint="the padding mask must reach the attention: padded keys get zero weight",
    )
    expect_close(
        out_changed,
        out,
        atol=WHOLE_MODEL,
        what="multi-head attention output at real tokens after changing the padded tokens' vectors",
        where=keep[:, :, None],
        hint="the padding mask must reach the attention: padded keys get zero weight",
    )


# ---- MultiHeadAttention: dropout and gradients ------------------------------------------


@pytest.mark.torch_only(reason="dropout in train mode")
def test_dropout_in_training_changes_the_output_from_call_to_call(multi_head):
    module = random_module(multi_head, 30, 5, seed=9, dropout=0.5).train()
    x = random_input(4, 9, 30, seed=9)
    torch.manual_seed(0)
    first, _ = module(x)
    second, _ = module(x)
    assert not torch.equal(first, second), (
        "MultiHeadAttention(30, 5, dropout=0.5) in train() gave the same output twice. "
        "Where to look: the dropout argument is ignored; keep nn.Dropout(dropout) in __init__ and "
        "use it in forward while self.training"
    )


@pytest.mark.torch_only(reason="dropout in train mode")
def test_dropout_in_training_drops_attention_weights_and_rescales_the_rest(multi_head):
    module = random_module(multi_head, 30, 5, seed=10, dropout=0.5)
    x = random_input(4, 9, 30, seed=10)
    _, undropped = module.eval()(x)
    torch.manual_seed(0)
    _, weights = module.train()(x)
    dropped = weights == 0
    assert 0.2 < dropped.float().mean() < 0.8, (
        f"with dropout=0.5 in train() about half the attention weights should be zero, got "
        f"{dropped.float().mean():.0%}. Where to look: pass dropout_p=self.dropout.p to "
        "scaled_dot_product_attention while self.training (BERT drops attention weights)"
    )
    expect_close(
        weights[~dropped],
        undropped[~dropped] / 0.5,
        atol=WHOLE_MODEL,
        what="multi-head attention weights kept by dropout in train()",
        hint="dropout scales the kept weights by 1 / (1 - p)",
    )


@pytest.mark.torch_only(reason="dropout in train mode")
def test_dropout_in_training_drops_values_of_the_output(multi_head):
    module = random_module(multi_head, 30, 5, seed=11, dropout=0.5).train()
    torch.manual_seed(0)
    out, _ = module(random_input(4, 9, 30, seed=11))
    dropped = (out == 0).float().mean()
    assert 0.2 < dropped < 0.8, (
        f"with dropout=0.5 in train() about half the output values should be zero, got {dropped:.0%}. "
        "Where to look: apply the dropout to the output of out_proj too, as BERT does"
    )


def test_dropout_is_inactive_in_eval(multi_head):
    x = random_input(3, 7, 30, seed=12)
    mask = padding_mask(random_keep(3, 7, seed=12))
    module = random_module(multi_head, 30, 5, seed=12, dropout=0.5).eval()
    without_dropout = copy_projections(module, multi_head.MultiHeadAttention(30, 5, dropout=0.0).eval())
    torch.manual_seed(0)
    out, weights = module(x, mask)
    expected_out, expected_weights = without_dropout(x, mask)
    hint = "in eval() no dropout at all: pass dropout_p=0.0 to the attention unless self.training"
    expect_close(
        weights,
        expected_weights,
        atol=WHOLE_MODEL,
        what="attention weights of MultiHeadAttention(dropout=0.5) in eval() against dropout=0.0",
        hint=hint,
    )
    expect_close(
        out,
        expected_out,
        atol=WHOLE_MODEL,
        what="output of MultiHeadAttention(dropout=0.5) in eval() against dropout=0.0",
        hint=hint,
    )


@pytest.mark.torch_only(reason="gradients need autograd")
def test_gradients_reach_every_parameter_and_the_input(multi_head):
    module = random_module(multi_head, 30, 5, seed=13)
    x = random_input(3, 7, 30, seed=13).requires_grad_()
    out, _ = module(x, padding_mask(random_keep(3, 7, seed=13)))
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0, (
        "no gradient reached the input x. Where to look: a .detach(), torch.no_grad() or a "
        "conversion to NumPy inside MultiHeadAttention.forward"
    )
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None, (
            f"no gradient reached the parameter {name}. Where to look: it is not used in forward, "
            "or its output is detached"
        )
        # The key bias adds the same q . b to every score of a query, which the softmax ignores:
        # its gradient is zero in exact arithmetic, so only its presence is checked.
        if name != "k_proj.bias":
            assert parameter.grad.abs().sum() > 0, (
                f"the gradient of {name} is all zeros. Where to look: it is not used in forward"
            )
