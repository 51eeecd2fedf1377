"""Exercise 6: EncoderLayer, EncoderConfig, hf_weight_names and Encoder (with from_hf), in exercises/encoder.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import copy

import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st

from kata.core.compare import expect_close, expect_raises, expect_shape

ONE_OP = 1e-5  # tolerance for one operation in float32
ONE_LAYER = 2e-5  # one encoder layer: a dozen operations in float32
WHOLE_MODEL = 5e-5  # a whole encoder (embeddings and every layer) in float32
WHOLE_MODEL_FLOAT64 = 1e-10  # the same in float64 (the NumPy track: about 5e-15 from BertModel)

LAYER_SHAPES = [
    # (batch, L, D, H, F): L != D != Dh != F so a transposed axis shows
    (2, 7, 30, 5, 43),
    (3, 5, 12, 4, 17),
    (1, 9, 21, 3, 10),
]

# Our EncoderLayer's sub-modules and the BertLayer weights they are (written out here on
# purpose: the tests must not trust the learner's hf_weight_names).
BERT_LAYER_NAMES = {
    "self_attn.q_proj": "attention.self.query",
    "self_attn.k_proj": "attention.self.key",
    "self_attn.v_proj": "attention.self.value",
    "self_attn.out_proj": "attention.output.dense",
    "norm1": "attention.output.LayerNorm",
    "ffn.linear1": "intermediate.dense",
    "ffn.linear2": "output.dense",
    "norm2": "output.LayerNorm",
}

TINY_LENGTH = 9  # tokens per row in the tiny BERT batch (tiny_bert_config: max_len 23, width 30, 5 heads)


@pytest.fixture(scope="module")
def encoder(impl):
    return impl.module("encoder")


@pytest.fixture(scope="module")
def reference_encoder(reference):
    return reference.module("encoder")


# ---- helpers ----------------------------------------------------------------------


def randomize_(module, seed):
    """Redraw every parameter (layer norms around 1), so that swapping any two weights changes the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            centre = 1.0 if "norm" in name and name.endswith("weight") else 0.0
            parameter.copy_(centre + 0.3 * torch.randn(parameter.shape, generator=generator))
    return module


def copy_parameters(source, target, what):
    """Copy every parameter of `source` (a reference module) into the same-named parameter of `target`."""
    theirs, ours = dict(source.named_parameters()), dict(target.named_parameters())
    missing, extra = sorted(theirs.keys() - ours.keys()), sorted(ours.keys() - theirs.keys())
    assert not missing and not extra, (
        f"{what}: the parameter names differ from the reference's: missing {missing}, unexpected {extra}. "
        "Where to look: the sub-modules must have the documented names "
        "(EncoderLayer: self_attn, ffn, norm1, norm2; Encoder: embeddings, layers)"
    )
    with torch.no_grad():
        for name, parameter in ours.items():
            assert parameter.shape == theirs[name].shape, (
                f"{what}: parameter {name} has shape {tuple(parameter.shape)}, "
                f"expected {tuple(theirs[name].shape)}. Where to look: sizes passed to the wrong argument"
            )
            parameter.copy_(theirs[name])
    return target


def random_input(batch, length, d_model, seed):
    return torch.randn(batch, length, d_model, generator=torch.Generator().manual_seed(seed))


def random_keep(batch, length, seed):
    """(B, L) bool, True for real tokens: row 0 is unpadded, the last row keeps about half, the rest random."""
    generator = torch.Generator().manual_seed(seed + 100)
    kept = torch.randint(1, length + 1, (batch,), generator=generator)  # real tokens per row
    kept[0] = length
    kept[-1] = (length + 1) // 2
    return torch.arange(length) < kept[:, None]


def key_mask(keep):
    """Our boolean padding mask (B, 1, 1, L): every query may attend to the real keys only."""
    return keep[:, None, None, :]


def additive_mask(keep):
    """Hugging Face's additive float mask (B, 1, 1, L) for a boolean key mask `keep` (B, L)."""
    batch, length = keep.shape
    return torch.zeros(batch, 1, 1, length).masked_fill(
        ~keep[:, None, None, :], torch.finfo(torch.float32).min
    )


def layer_pair(encoder, reference_encoder, d_model, num_heads, d_ff, seed, **options):
    """(learner's EncoderLayer, reference EncoderLayer) with the same random weights, in eval mode."""
    expected = randomize_(reference_encoder.EncoderLayer(d_model, num_heads, d_ff, **options), seed)
    layer = encoder.EncoderLayer(d_model, num_heads, d_ff, **options)
    return copy_parameters(expected, layer, "EncoderLayer").eval(), expected.eval()


def load_bert_layer(layer, bert_layer):
    """Copy a Hugging Face BertLayer's weights into our EncoderLayer."""
    ours, theirs = dict(layer.named_parameters()), bert_layer.state_dict()
    with torch.no_grad():
        for our_name, their_name in BERT_LAYER_NAMES.items():
            for kind in ("weight", "bias"):
                assert f"{our_name}.{kind}" in ours, (
                    f"EncoderLayer has no parameter {our_name}.{kind}. Where to look: the sub-modules "
                    "must be called self_attn (MultiHeadAttention), ffn (FeedForward), norm1 and norm2 (LayerNorm)"
                )
                ours[f"{our_name}.{kind}"].copy_(theirs[f"{their_name}.{kind}"])
    return layer


def small_config(module, **changes):
    """An EncoderConfig with small odd sizes: D 20, 4 heads (Dh 5), F 27, 3 layers, max_len 13."""
    sizes = dict(vocab_size=31, d_model=20, num_heads=4, num_layers=3, d_ff=27, max_len=13, type_vocab_size=3)
    return module.EncoderConfig(**{**sizes, **changes})


def random_batch(config, batch, length, seed):
    """input_ids, attention_mask (1 token, 0 padding) and token_type_ids for `config`'s sizes."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(0, config.vocab_size, (batch, length), generator=generator)
    token_type_ids = torch.randint(0, config.type_vocab_size, (batch, length), generator=generator)
    attention_mask = random_keep(batch, length, seed).long()
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


def expect_eval_mode(model, what):
    """`model` came from a Hugging Face model in eval mode: every module of it must be in eval mode too."""
    training = [name or "(the encoder itself)" for name, module in model.named_modules() if module.training]
    assert not training, (
        f"{what} is in train mode ({len(training)} modules, such as {', '.join(training[:3])}) although "
        "the model it was loaded from is in eval mode, so dropout changes its outputs. Where to look: "
        "a new nn.Module starts in train mode; return encoder.train(model.training)"
    )


def expect_matches_bert(output, bert_output, attention_mask, model, atol=WHOLE_MODEL):
    """Every hidden state and attention map of `output` against BertModel's, in the order they are computed.

    The first check that fails is the first place the encoder diverges from BERT.
    """
    keep = attention_mask.bool()
    num_layers = len(bert_output.attentions)
    for field, count in (("hidden_states", num_layers + 1), ("attentions", num_layers)):
        value = getattr(output, field)
        assert isinstance(value, tuple) and len(value) == count, (
            f"{model}: {field} should be a tuple of {count} tensors, got "
            f"{type(value).__name__} of length {len(value) if hasattr(value, '__len__') else '?'}. "
            "Where to look: hidden_states holds the embeddings' output and then every layer's output; "
            "attentions holds every layer's weights"
        )
    real_tokens = keep[:, :, None]  # (B, L, 1)
    real_pairs = keep[:, None, :, None] & keep[:, None, None, :]  # (B, 1, L, L): real queries x real keys
    expect_close(
        output.hidden_states[0],
        bert_output.hidden_states[0],
        atol=atol,
        what=f"{model}: hidden_states[0], the embeddings (real tokens only)",
        hint="copy BERT's embeddings.word_embeddings, position_embeddings, token_type_embeddings and "
        "embeddings.LayerNorm (into embeddings.norm), and pass token_type_ids to the embeddings",
        where=real_tokens,
    )
    for i in range(1, num_layers + 1):
        expect_close(
            output.attentions[i - 1],
            bert_output.attentions[i - 1],
            atol=atol,
            what=f"{model}: attentions[{i - 1}], the weights of layers[{i - 1}] (of {num_layers}) "
            "(real queries x real keys; everything before it matches BERT)",
            hint=f"check the weights loaded into layers[{i - 1}]'s q_proj and k_proj (attention.self.query "
            "and attention.self.key), and that attention_mask becomes a key mask of shape (B, 1, 1, L): "
            "padding hides keys, not queries",
            where=real_pairs,
        )
        expect_close(
            output.hidden_states[i],
            bert_output.hidden_states[i],
            atol=atol,
            what=f"{model}: hidden_states[{i}], the output of layers[{i - 1}] (of {num_layers}) "
            "(real tokens only; everything before it matches BERT)",
            hint=f"in layers[{i - 1}]: BERT is post-norm, x = norm1(x + attention), then norm2(x + ffn(x)); "
            "norm1 is attention.output.LayerNorm, norm2 is output.LayerNorm, v_proj is "
            "attention.self.value and out_proj is attention.output.dense",
            where=real_tokens,
        )


# ---- EncoderLayer -----------------------------------------------------------------


def test_passes_the_graded_check(impl, graded_check):
    """Each graded check of this exercise (kata/course/encoder.py) and the capstone's (your whole stack against pretrained BERT), run exactly as the
    grader runs it: same inputs, probe, verdict, hints and points."""
    impl.run_check(graded_check)


def test_layer_has_the_documented_sub_modules(encoder):
    layer = encoder.EncoderLayer(30, 5, 43)
    for name, class_name in (
        ("self_attn", "MultiHeadAttention"),
        ("ffn", "FeedForward"),
        ("norm1", "LayerNorm"),
        ("norm2", "LayerNorm"),
    ):
        child = getattr(layer, name, None)
        assert type(child).__name__ == class_name, (
            f"EncoderLayer.{name} should be a {class_name}, got {type(child).__name__}. "
            f"Where to look: create self.{name} = {class_name}(...) in __init__, from the earlier exercises"
        )


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("batch, length, d_model, num_heads, d_ff", LAYER_SHAPES)
def test_layer_returns_output_and_weights_with_the_documented_shapes(
    encoder, batch, length, d_model, num_heads, d_ff, norm_first
):
    layer = encoder.EncoderLayer(d_model, num_heads, d_ff, norm_first=norm_first).eval()
    result = layer(random_input(batch, length, d_model, seed=0))
    assert isinstance(result, tuple) and len(result) == 2, (
        f"EncoderLayer.forward should return a pair (x, weights), got {type(result).__name__}"
    )
    out, weights = result
    expect_shape(out, (batch, length, d_model), "encoder layer output")
    expect_shape(
        weights,
        (batch, num_heads, length, length),
        "encoder layer attention weights",
        hint="return the weights that self_attn returns, (B, H, L, L)",
    )


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    "norm_first, eps", [(False, 1e-12), (True, 0.05)], ids=["post_norm_bert_eps", "pre_norm_large_eps"]
)
@pytest.mark.parametrize("batch, length, d_model, num_heads, d_ff", LAYER_SHAPES)
def test_layer_matches_the_reference_with_identical_weights(
    encoder, reference_encoder, batch, length, d_model, num_heads, d_ff, norm_first, eps, seed
):
    layer, expected_layer = layer_pair(
        encoder, reference_encoder, d_model, num_heads, d_ff, seed, eps=eps, norm_first=norm_first
    )
    x = random_input(batch, length, d_model, seed)
    keep = random_keep(batch, length, seed)
    kind = "pre-norm" if norm_first else "post-norm"
    hint = (
        "pre-norm: x = x + self_attn(norm1(x)), then x = x + ffn(norm2(x))"
        if norm_first
        else "post-norm (BERT): x = norm1(x + self_attn(x)), then x = norm2(x + ffn(x))"
    )
    for mask, where, label in ((None, None, "without a mask"), (key_mask(keep), keep, "with a padding mask")):
        out, weights = layer(x, mask)
        expected_out, expected_weights = expected_layer(x, mask)
        expect_close(
            weights,
            expected_weights,
            atol=ONE_OP,
            what=f"{kind} encoder layer attention weights {label} (eps={eps:g})",
            hint="pass the mask on to self_attn"
            + ("; self_attn sees norm1(x) in a pre-norm layer" if norm_first else ""),
            where=None if where is None else where[:, None, :, None],
        )
        expect_close(
            out,
            expected_out,
            atol=ONE_LAYER,
            what=f"{kind} encoder layer output {label} (eps={eps:g})",
            hint=hint + "; build norm1 and norm2 with eps=eps",
            where=None if where is None else where[:, :, None],
        )


TORCH_LAYER_CASES = [
    # (activation, norm_first, eps): a large eps shows whether eps reaches the norms
    ("gelu", False, 1e-12),
    ("relu", False, 0.1),
    ("gelu", True, 0.1),
    ("relu", True, 1e-5),
]


@pytest.mark.parametrize("activation, norm_first, eps", TORCH_LAYER_CASES)
def test_layer_matches_torch_transformer_encoder_layer(encoder, activation, norm_first, eps):
    batch, length, d_model, num_heads, d_ff = 3, 7, 30, 5, 43
    layer = randomize_(
        encoder.EncoderLayer(d_model, num_heads, d_ff, eps=eps, activation=activation, norm_first=norm_first),
        seed=2,
    ).eval()
    torch_layer = nn.TransformerEncoderLayer(
        d_model,
        num_heads,
        dim_feedforward=d_ff,
        dropout=0.0,
        activation=activation,
        layer_norm_eps=eps,
        batch_first=True,
        norm_first=norm_first,
    ).eval()
    attention = layer.self_attn
    with torch.no_grad():
        torch_layer.self_attn.in_proj_weight.copy_(
            torch.cat([attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight])
        )
        torch_layer.self_attn.in_proj_bias.copy_(
            torch.cat([attention.q_proj.bias, attention.k_proj.bias, attention.v_proj.bias])
        )
        for ours, theirs in (
            (attention.out_proj, torch_layer.self_attn.out_proj),
            (layer.ffn.linear1, torch_layer.linear1),
            (layer.ffn.linear2, torch_layer.linear2),
            (layer.norm1, torch_layer.norm1),
            (layer.norm2, torch_layer.norm2),
        ):
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
    x = random_input(batch, length, d_model, seed=2)
    keep = random_keep(batch, length, seed=2)
    out, _ = layer(x, key_mask(keep))
    # Not under torch.no_grad(): torch's fast path would change the numerics. True = ignore there.
    expected = torch_layer(x, src_key_padding_mask=~keep)
    kind = "pre-norm" if norm_first else "post-norm"
    expect_close(
        out,
        expected,
        atol=ONE_LAYER,
        what=f"{kind} encoder layer ({activation}, eps={eps:g}) against torch's nn.TransformerEncoderLayer "
        "(real tokens only)",
        hint="post-norm: x = norm1(x + self_attn(x)), x = norm2(x + ffn(x)); pre-norm: "
        "x = x + self_attn(norm1(x)), x = x + ffn(norm2(x)); pass eps to both norms and activation to ffn",
        where=keep[:, :, None],
    )


@pytest.mark.parametrize("index", [0, 1])
def test_layer_matches_hugging_face_bert_layer(encoder, tiny_bert, tiny_bert_config, index):
    bert_layer = tiny_bert.encoder.layer[index]
    layer = encoder.EncoderLayer(
        tiny_bert_config.hidden_size,
        tiny_bert_config.num_attention_heads,
        tiny_bert_config.intermediate_size,
        eps=tiny_bert_config.layer_norm_eps,
    )
    load_bert_layer(layer, bert_layer).eval()
    x = random_input(3, TINY_LENGTH, tiny_bert_config.hidden_size, seed=3)
    keep = random_keep(3, TINY_LENGTH, seed=3)
    out, _ = layer(x, key_mask(keep))
    with torch.no_grad():
        expected = bert_layer(x, additive_mask(keep))
    expected = expected[0] if isinstance(expected, tuple) else expected
    expect_close(
        out,
        expected,
        atol=ONE_LAYER,
        what=f"encoder layer against Hugging Face's BertLayer (tiny_bert layer {index}, real tokens only)",
        hint="BERT is post-norm: x = norm1(x + self_attn(x, mask)), then x = norm2(x + ffn(x))",
        where=keep[:, :, None],
    )


@given(
    batch=st.integers(1, 3),
    length=st.integers(2, 7),
    norm_first=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_padded_keys_do_not_change_the_outputs_of_real_positions(encoder, batch, length, norm_first, seed):
    layer = randomize_(encoder.EncoderLayer(12, 3, 17, norm_first=norm_first), seed).eval()
    x = random_input(batch, length, 12, seed)
    keep = random_keep(batch, length, seed)
    out, _ = layer(x, key_mask(keep))
    changed = torch.where(keep[:, :, None], x, 10.0 * random_input(batch, length, 12, seed + 1))
    out_changed, _ = layer(changed, key_mask(keep))
    expect_close(
        out_changed,
        out,
        atol=ONE_LAYER,
        what="encoder layer output at real positions after changing the padded positions' inputs",
        hint="pass the mask to self_attn, so that no real query attends to a padded key",
        where=keep[:, :, None],
    )


@pytest.mark.torch_only(reason="gradients need autograd")
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_gradients_reach_every_parameter_of_the_layer(encoder, norm_first):
    layer = randomize_(encoder.EncoderLayer(30, 5, 43, norm_first=norm_first), seed=4)
    keep = random_keep(2, 6, seed=4)
    out, _ = layer(random_input(2, 6, 30, seed=4), key_mask(keep))
    out.square().sum().backward()
    for name, parameter in layer.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, (
            f"no gradient reached EncoderLayer parameter {name}. Where to look: a sub-module that "
            "forward never uses, or a .detach() / torch.no_grad() inside forward"
        )


def layers_with_and_without_dropout(encoder):
    """(EncoderLayer with dropout=0.5, the same weights with dropout=0.0), both in eval mode, an input and its key mask."""
    layer = randomize_(encoder.EncoderLayer(30, 5, 43, dropout=0.5), seed=5).eval()
    undropped = copy_parameters(layer, encoder.EncoderLayer(30, 5, 43, dropout=0.0), "EncoderLayer").eval()
    return layer, undropped, random_input(2, 7, 30, seed=5), key_mask(random_keep(2, 7, seed=5))


def test_dropout_is_off_in_eval(encoder):
    layer, undropped, x, mask = layers_with_and_without_dropout(encoder)
    out, weights = layer(x, mask)
    expected_out, expected_weights = undropped(x, mask)
    expect_close(weights, expected_weights, atol=ONE_OP, what="attention weights in eval() with dropout=0.5")
    expect_close(
        out,
        expected_out,
        atol=ONE_LAYER,
        what="encoder layer output in eval() with dropout=0.5",
        hint="dropout must be off in eval(): use nn.Dropout modules (or the sub-modules' own dropout)",
    )


@pytest.mark.torch_only(reason="dropout in train mode")
def test_dropout_reaches_attention_and_feed_forward_in_training(encoder):
    layer, undropped, x, mask = layers_with_and_without_dropout(encoder)
    expected_out, _ = undropped(x, mask)
    for part in ("self_attn", "ffn"):
        layer.eval()
        getattr(layer, part).train()  # dropout on in this sub-module only
        torch.manual_seed(0)
        changed = (layer(x, mask)[0] - expected_out).abs().max()
        assert changed > 1e-3, (
            f"with dropout=0.5 and layer.{part} in train mode the output does not change. "
            f"Where to look: dropout is not passed on to {part} "
            "(MultiHeadAttention(..., dropout=dropout), FeedForward(..., dropout=dropout))"
        )
    layer.train()
    torch.manual_seed(0)
    first, _ = layer(x, mask)
    second, _ = layer(x, mask)
    assert (first - second).abs().max() > 1e-3, (
        "in train mode with dropout=0.5 two calls give the same output. "
        "Where to look: dropout is not passed on to self_attn and ffn"
    )


# ---- EncoderConfig.from_hf --------------------------------------------------------


def test_config_from_hf_reads_every_size_and_choice(encoder, tiny_bert_config):
    relu_config = copy.deepcopy(tiny_bert_config)
    relu_config.hidden_act = "relu"
    relu_config.layer_norm_eps = 1e-7
    relu_config.hidden_dropout_prob = 0.25  # BERT's dropout after each sub-layer and the embeddings
    for bert_config in (tiny_bert_config, relu_config):
        config = encoder.EncoderConfig.from_hf(bert_config)
        for field, hf_field in (
            ("vocab_size", "vocab_size"),
            ("d_model", "hidden_size"),
            ("num_heads", "num_attention_heads"),
            ("num_layers", "num_hidden_layers"),
            ("d_ff", "intermediate_size"),
            ("max_len", "max_position_embeddings"),
            ("type_vocab_size", "type_vocab_size"),
            ("eps", "layer_norm_eps"),
            ("activation", "hidden_act"),
            ("dropout", "hidden_dropout_prob"),
        ):
            actual, expected = getattr(config, field), getattr(bert_config, hf_field)
            assert actual == expected, (
                f"EncoderConfig.from_hf gave {field}={actual!r}, expected {expected!r}. "
                f"Where to look: {field} should be read from BertConfig.{hf_field}"
            )
        assert config.norm_first is False and config.positional == "learned", (
            f"EncoderConfig.from_hf gave norm_first={config.norm_first!r}, positional={config.positional!r}: "
            "BERT is post-norm with learned positions (norm_first=False, positional='learned')"
        )


@pytest.mark.parametrize("activation", ["gelu_new", "gelu_pytorch_tanh", "silu"])
def test_config_from_hf_rejects_an_activation_it_does_not_implement(encoder, tiny_bert_config, activation):
    bert_config = copy.deepcopy(tiny_bert_config)
    bert_config.hidden_act = activation
    expect_raises(
        ValueError,
        lambda: encoder.EncoderConfig.from_hf(bert_config),
        what=f"EncoderConfig.from_hf for a BertConfig with hidden_act={activation!r}",
        mentions=[activation],
        hint="only the exact 'gelu' and 'relu' are implemented: raise ValueError naming the activation",
    )


# ---- hf_weight_names --------------------------------------------------------------


@pytest.mark.parametrize("num_layers", [1, 3])
def test_weight_names_cover_every_parameter_of_an_encoder(encoder, reference_encoder, num_layers):
    names = encoder.hf_weight_names(num_layers)
    assert isinstance(names, dict), f"hf_weight_names should return a dict, got {type(names).__name__}"
    reference_model = reference_encoder.Encoder(small_config(reference_encoder, num_layers=num_layers))
    parameters = set(dict(reference_model.named_parameters()))
    missing, extra = sorted(parameters - names.keys()), sorted(names.keys() - parameters)
    assert not missing and not extra, (
        f"hf_weight_names({num_layers}) does not cover an Encoder's parameters: missing {missing}, "
        f"not parameters of Encoder {extra}. Where to look: every layer needs weight and bias of "
        "q_proj, k_proj, v_proj, out_proj, norm1, ffn.linear1, ffn.linear2, norm2; "
        "the embeddings need their three tables and norm.weight, norm.bias"
    )


def test_every_weight_name_exists_in_a_bert_model(encoder, tiny_bert):
    names = encoder.hf_weight_names(tiny_bert.config.num_hidden_layers)
    theirs = tiny_bert.state_dict()
    missing = sorted(name for name in names.values() if name not in theirs)
    assert not missing, (
        f"hf_weight_names names weights that a BertModel does not have: {missing}. "
        "Where to look: a typo; print(BertModel(...).state_dict().keys()) to see the names"
    )
    used = list(names.values())
    repeated = sorted({name for name in used if used.count(name) > 1})
    assert not repeated, (
        f"hf_weight_names pairs several of our parameters with the same BERT weight: {repeated}"
    )
    unused = sorted(name for name in theirs if name not in used and not name.startswith("pooler."))
    assert not unused, (
        f"hf_weight_names leaves BERT weights unused: {unused}. Where to look: only the pooler is left out"
    )


def test_weight_names_pair_each_parameter_with_the_same_bert_weight(encoder, reference_encoder):
    names, expected = encoder.hf_weight_names(2), reference_encoder.hf_weight_names(2)
    wrong = [
        f"{ours} -> {names.get(ours)!r} (should be {theirs!r})"
        for ours, theirs in expected.items()
        if names.get(ours) != theirs
    ]
    assert not wrong, (
        "hf_weight_names pairs these parameters with the wrong BERT weight: "
        + "; ".join(wrong)
        + ". Where to look: query/key/value live in attention.self; norm1 (around the attention) "
        "is attention.output.LayerNorm, norm2 (around the feed-forward) is output.LayerNorm"
    )


# ---- Encoder ----------------------------------------------------------------------


def test_encoder_has_embeddings_and_a_module_list_of_distinct_layers(encoder):
    model = encoder.Encoder(small_config(encoder))
    assert type(getattr(model, "embeddings", None)).__name__ == "Embeddings", (
        "Encoder.embeddings should be an Embeddings (exercise 5). Where to look: a different attribute name"
    )
    layers = getattr(model, "layers", None)
    assert isinstance(layers, nn.ModuleList) and len(layers) == 3, (
        f"Encoder.layers should be an nn.ModuleList of num_layers=3 EncoderLayer, got {type(layers).__name__}"
        f"{f' of length {len(layers)}' if hasattr(layers, '__len__') else ''}. "
        "Where to look: a plain Python list hides the layers' parameters from PyTorch"
    )
    assert all(isinstance(layer, encoder.EncoderLayer) for layer in layers), (
        "every entry of Encoder.layers should be an EncoderLayer"
    )
    assert len({id(layer) for layer in layers}) == len(layers), (
        "Encoder.layers holds the same EncoderLayer several times. "
        "Where to look: nn.ModuleList([layer] * n) repeats one layer; build a new one per position"
    )


def test_encoder_returns_every_hidden_state_and_attention_map_with_the_documented_shapes(encoder):
    config = small_config(encoder)
    model = randomize_(encoder.Encoder(config), seed=6).eval()
    batch = random_batch(config, 2, 7, seed=6)
    output = model(**batch)
    expect_shape(output.last_hidden_state, (2, 7, 20), "Encoder output last_hidden_state")
    for field, count in (("hidden_states", 4), ("attentions", 3)):
        value = getattr(output, field)
        assert isinstance(value, tuple) and len(value) == count, (
            f"Encoder output {field} should be a tuple of {count} tensors for num_layers=3, got "
            f"{type(value).__name__} of length {len(value) if hasattr(value, '__len__') else '?'}. "
            "Where to look: hidden_states starts with the embeddings' output, then one per layer"
        )
    for i, hidden in enumerate(output.hidden_states):
        expect_shape(hidden, (2, 7, 20), f"Encoder output hidden_states[{i}]")
    for i, weights in enumerate(output.attentions):
        expect_shape(weights, (2, 4, 7, 7), f"Encoder output attentions[{i}]")
    expect_close(
        output.hidden_states[0],
        model.embeddings(batch["input_ids"], batch["token_type_ids"]),
        atol=0.0,
        what="Encoder output hidden_states[0]",
        hint="hidden_states[0] is the embeddings' output, before any layer",
    )
    expect_close(
        output.last_hidden_state,
        output.hidden_states[-1],
        atol=0.0,
        what="Encoder output last_hidden_state against hidden_states[-1]",
        hint="last_hidden_state is the last layer's output",
    )


ENCODER_CASES = [
    # (norm_first, positional, activation, eps)
    (False, "learned", "gelu", 1e-12),
    (True, "sinusoidal", "relu", 0.05),
]


@pytest.mark.parametrize(
    "norm_first, positional, activation, eps", ENCODER_CASES, ids=["bert_like", "pre_norm_sinusoidal_relu"]
)
def test_encoder_matches_the_reference_with_identical_weights(
    encoder, reference_encoder, norm_first, positional, activation, eps
):
    options = dict(norm_first=norm_first, positional=positional, activation=activation, eps=eps)
    config = small_config(encoder, **options)
    expected_model = randomize_(
        reference_encoder.Encoder(small_config(reference_encoder, **options)), seed=7
    ).eval()
    model = copy_parameters(expected_model, encoder.Encoder(config), "Encoder").eval()
    batch = random_batch(config, 3, 9, seed=7)
    output, expected = model(**batch), expected_model(**batch)
    keep = batch["attention_mask"].bool()
    label = (
        f"Encoder ({'pre' if norm_first else 'post'}-norm, {positional} positions, {activation}, eps={eps:g})"
    )
    for i in range(len(expected.attentions)):
        expect_close(
            output.attentions[i],
            expected.attentions[i],
            atol=WHOLE_MODEL,
            what=f"{label} attentions[{i}] (real queries)",
            hint="turn attention_mask (B, L) into a boolean key mask (B, 1, 1, L) and give it to every layer; "
            "pass the config's activation, eps and norm_first to every layer",
            where=keep[:, None, :, None],
        )
        expect_close(
            output.hidden_states[i + 1],
            expected.hidden_states[i + 1],
            atol=WHOLE_MODEL,
            what=f"{label} hidden_states[{i + 1}] (real tokens)",
            hint="run x through every layer in order, each layer's output is the next one's input",
            where=keep[:, :, None],
        )


def test_encoder_without_attention_mask_attends_to_every_token(encoder):
    config = small_config(encoder)
    model = randomize_(encoder.Encoder(config), seed=8).eval()
    batch = random_batch(config, 2, 6, seed=8)
    output = model(batch["input_ids"], token_type_ids=batch["token_type_ids"])
    expected = model(
        batch["input_ids"],
        attention_mask=torch.ones_like(batch["input_ids"]),
        token_type_ids=batch["token_type_ids"],
    )
    expect_close(
        output.last_hidden_state,
        expected.last_hidden_state,
        atol=ONE_OP,
        what="Encoder output without an attention_mask against an all-ones attention_mask",
        hint="attention_mask=None means no padding: every token may attend to every token",
    )


def test_padding_does_not_change_the_vectors_of_real_tokens(encoder):
    config = small_config(encoder)
    model = randomize_(encoder.Encoder(config), seed=9).eval()
    batch = random_batch(config, 3, 9, seed=9)
    output = model(**batch)
    for row in range(3):
        length = int(batch["attention_mask"][row].sum())
        alone = model(
            batch["input_ids"][row : row + 1, :length],
            attention_mask=torch.ones(1, length, dtype=torch.long),
            token_type_ids=batch["token_type_ids"][row : row + 1, :length],
        )
        expect_close(
            alone.last_hidden_state[0],
            output.last_hidden_state[row, :length],
            atol=WHOLE_MODEL,
            what=f"Encoder output of batch row {row} run alone ({length} tokens) against the same row "
            "in the padded batch",
            hint="padded tokens must be hidden as keys from every query: the mask must broadcast "
            "over heads and queries, and hide the key axis",
        )


# ---- Encoder.from_hf, on a tiny random BERT ----------------------------------------


@pytest.fixture(scope="module")
def tiny_batch(tiny_bert_config):
    """3 rows of TINY_LENGTH tokens, rows 1 and 2 padded, three token types."""
    generator = torch.Generator().manual_seed(10)
    input_ids = torch.randint(0, tiny_bert_config.vocab_size, (3, TINY_LENGTH), generator=generator)
    token_type_ids = torch.randint(0, tiny_bert_config.type_vocab_size, (3, TINY_LENGTH), generator=generator)
    attention_mask = torch.ones(3, TINY_LENGTH, dtype=torch.long)
    attention_mask[1, 6:] = 0
    attention_mask[2, 3:] = 0
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


@pytest.fixture(scope="module")
def tiny_bert_outputs(tiny_bert, tiny_batch):
    with torch.no_grad():
        return tiny_bert(**tiny_batch, output_hidden_states=True, output_attentions=True)


def test_from_hf_reproduces_every_hidden_state_and_attention_map_of_bert(
    encoder, tiny_bert, tiny_batch, tiny_bert_outputs
):
    model = encoder.Encoder.from_hf(tiny_bert)
    expect_eval_mode(model, "Encoder.from_hf(tiny_bert)")
    with torch.no_grad():
        output = model(**tiny_batch)
    expect_matches_bert(
        output, tiny_bert_outputs, tiny_batch["attention_mask"], "Encoder.from_hf(tiny random BERT)"
    )


def test_from_hf_accepts_a_model_whose_bert_attribute_is_a_bert_model(
    encoder, tiny_bert, tiny_bert_config, tiny_batch, tiny_bert_outputs
):
    from transformers import BertForMaskedLM

    torch.manual_seed(11)
    masked_lm = BertForMaskedLM(tiny_bert_config).eval()  # its .bert has no pooler
    masked_lm.bert.load_state_dict(tiny_bert.state_dict(), strict=False)
    try:
        model = encoder.Encoder.from_hf(masked_lm)
    except KeyError as error:
        raise AssertionError(
            f"Encoder.from_hf(BertForMaskedLM) raised KeyError: {error}. Where to look: a model with a task "
            "head keeps its BertModel in .bert (weights named bert.encoder...); use getattr(model, 'bert', model)"
        ) from None
    expect_eval_mode(model, "Encoder.from_hf(BertForMaskedLM)")
    with torch.no_grad():
        output = model(**tiny_batch)
    expect_matches_bert(
        output, tiny_bert_outputs, tiny_batch["attention_mask"], "Encoder.from_hf(BertForMaskedLM)"
    )


def test_from_hf_ignores_the_pooler(encoder, reference_encoder, tiny_bert):
    assert any(name.startswith("pooler.") for name in tiny_bert.state_dict())  # the model has a pooler
    model = encoder.Encoder.from_hf(tiny_bert)
    names = set(dict(model.named_parameters()))
    expected = set(dict(reference_encoder.Encoder.from_hf(tiny_bert).named_parameters()))
    assert names == expected, (
        f"Encoder.from_hf(tiny_bert) has parameters {sorted(names - expected)} it should not have "
        f"and lacks {sorted(expected - names)}. Where to look: the pooler (and any task head) is "
        "not part of the encoder; copy only the weights hf_weight_names lists"
    )


def test_from_hf_names_a_missing_weight(encoder, tiny_bert):
    broken = copy.deepcopy(tiny_bert)
    query = nn.Module()  # attention.self.query keeps its bias and loses its weight
    query.bias = broken.encoder.layer[1].attention.self.query.bias
    broken.encoder.layer[1].attention.self.query = query
    assert "encoder.layer.1.attention.self.query.weight" not in broken.state_dict()
    expect_raises(
        KeyError,
        lambda: encoder.Encoder.from_hf(broken),
        what="Encoder.from_hf on a BertModel without encoder.layer.1.attention.self.query.weight",
        mentions=["encoder.layer.1.attention.self.query.weight"],
        hint="look every weight up in the model's state_dict() and raise KeyError with the missing "
        "Hugging Face name",
    )


def test_from_hf_names_a_misshapen_weight(encoder, tiny_bert, tiny_bert_config):
    broken = copy.deepcopy(tiny_bert)
    broken.encoder.layer[0].intermediate.dense = nn.Linear(tiny_bert_config.hidden_size, 41)  # not 43
    expect_raises(
        ValueError,
        lambda: encoder.Encoder.from_hf(broken),
        what="Encoder.from_hf on a BertModel whose encoder.layer.0.intermediate.dense is (41, 30), not (43, 30)",
        mentions=["encoder.layer.0.intermediate.dense"],
        hint="compare each weight's shape with our parameter's before copying, and raise ValueError "
        "naming the Hugging Face weight",
    )


@pytest.mark.torch_only(reason="train mode")
def test_from_hf_keeps_the_models_mode(encoder, tiny_bert):
    expect_eval_mode(
        encoder.Encoder.from_hf(tiny_bert), "Encoder.from_hf(tiny_bert)"
    )  # tiny_bert is in eval mode
    training_bert = copy.deepcopy(tiny_bert).train()
    model = encoder.Encoder.from_hf(training_bert)
    assert model.training, (
        "Encoder.from_hf(a model in train mode) returned an encoder in eval mode. "
        "Where to look: return encoder.train(model.training), not encoder.eval()"
    )


# ---- with the real pretrained weights -----------------------------------------------


@pytest.fixture(scope="module")
def bert_outputs(pretrained, pretrained_batch):
    """BertModel's outputs on the real sentence pairs, computed once."""
    with torch.no_grad():
        return pretrained[0](**pretrained_batch, output_hidden_states=True, output_attentions=True)


@pytest.fixture(scope="module")
def pretrained_encoder(encoder, pretrained):
    return encoder.Encoder.from_hf(pretrained[0])


@pytest.fixture(scope="module")
def pretrained_encoder_outputs(pretrained_encoder, pretrained_batch):
    with torch.no_grad():
        return pretrained_encoder(**pretrained_batch)


@pytest.mark.pretrained
def test_pretrained_encoder_gives_berts_last_hidden_state(
    pretrained_encoder, pretrained_encoder_outputs, pretrained_batch, bert_outputs
):
    expect_eval_mode(pretrained_encoder, "Encoder.from_hf(pretrained MiniLM)")
    expect_close(
        pretrained_encoder_outputs.last_hidden_state,
        bert_outputs.last_hidden_state,
        atol=WHOLE_MODEL,
        what="Encoder.from_hf(pretrained MiniLM) last_hidden_state on real sentence pairs (real tokens only)",
        hint="the next test says which layer diverges first",
        where=pretrained_batch["attention_mask"].bool()[:, :, None],
    )


@pytest.mark.pretrained
def test_pretrained_encoder_gives_berts_every_hidden_state_and_attention_map(
    pretrained_encoder_outputs, pretrained_batch, bert_outputs
):
    expect_matches_bert(
        pretrained_encoder_outputs,
        bert_outputs,
        pretrained_batch["attention_mask"],
        "Encoder.from_hf(pretrained MiniLM) on real sentence pairs",
    )


@pytest.mark.pretrained
def test_a_sentence_pair_run_alone_gives_the_same_vectors_as_in_the_padded_batch(
    pretrained_encoder, pretrained_encoder_outputs, pretrained_batch
):
    mask = pretrained_batch["attention_mask"]
    padded_rows = [row for row in range(mask.shape[0]) if not mask[row].all()]
    assert padded_rows  # the batch has padding
    for row in padded_rows:
        length = int(mask[row].sum())
        with torch.no_grad():
            alone = pretrained_encoder(
                pretrained_batch["input_ids"][row : row + 1, :length],
                attention_mask=mask[row : row + 1, :length],
                token_type_ids=pretrained_batch["token_type_ids"][row : row + 1, :length],
            )
        for i, hidden in enumerate(alone.hidden_states):
            expect_close(
                hidden[0],
                pretrained_encoder_outputs.hidden_states[i][row, :length],
                atol=WHOLE_MODEL,
                what=f"hidden_states[{i}] of sentence pair {row} run alone ({length} tokens) against the "
                "same pair in the padded batch",
                hint="padded tokens must be hidden as keys from every query: the mask must broadcast "
                "over heads and queries, and hide the key axis",
            )


@pytest.mark.pretrained
@pytest.mark.numpy_only(reason="the PyTorch track's modules are float32 whatever the weights they load")
def test_pretrained_encoder_in_float64_gives_berts_every_hidden_state_and_attention_map(
    encoder, pretrained, pretrained_batch
):
    bert = copy.deepcopy(pretrained[0]).double()
    model = encoder.Encoder.from_hf(bert)
    with torch.no_grad():
        expected = bert(**pretrained_batch, output_hidden_states=True, output_attentions=True)
        output = model(**pretrained_batch)
    expect_matches_bert(
        output,
        expected,
        pretrained_batch["attention_mask"],
        "Encoder.from_hf(pretrained MiniLM in float64) on real sentence pairs",
        atol=WHOLE_MODEL_FLOAT64,
    )


# Keep this test last: it is the finish line of the kata.
@pytest.mark.pretrained
def test_your_whole_encoder_reproduces_pretrained_bert(impl, pretrained, pretrained_batch, bert_outputs):
    stack = impl.stack()  # every module from the implementation under test, none from the reference
    model = stack.Encoder.from_hf(pretrained[0])
    expect_eval_mode(model, "your whole encoder loaded with Encoder.from_hf(pretrained MiniLM)")
    with torch.no_grad():
        output = model(**pretrained_batch)
    expect_matches_bert(
        output,
        bert_outputs,
        pretrained_batch["attention_mask"],
        "your whole encoder (every module yours) loaded with pretrained MiniLM",
    )
