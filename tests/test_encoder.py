"""Exercise 6: EncoderLayer, EncoderConfig, hf_weight_names and Encoder (with from_hf), in exercises/encoder.py.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import copy
import functools

import pytest
import torch
import torch.nn as nn
from hypothesis import given
from hypothesis import strategies as st

from kata.core.compare import FLOAT64, ONE_OP, WHOLE_MODEL, expect_close, expect_raises, expect_shape

ONE_LAYER = 2e-5  # one encoder layer against another implementation: a dozen operations in float32

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


def test_does_not_call_the_library_function_it_asks_you_to_write(impl):
    """No shortcuts: this exercise's code may not call the library's version of what it asks you to
    write (nn.TransformerEncoderLayer, a Hugging Face model's forward; kata/course/encoder.py, SHORTCUTS). The grader scores its checks 0 if it does."""
    impl.takes_no_shortcut("encoder")


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


def load_bert_layer(layer, bert_layer):
    """Copy a Hugging Face BertLayer's weights into our EncoderLayer."""
    ours, theirs = dict(layer.named_parameters()), bert_layer.state_dict()
    with torch.no_grad():
        for our_name, their_name in BERT_LAYER_NAMES.items():
            for kind in ("weight", "bias"):
                expect_shape(
                    ours.get(f"{our_name}.{kind}"),
                    theirs[f"{their_name}.{kind}"].shape,
                    f"EncoderLayer parameter {our_name}.{kind} (for BertLayer's {their_name}.{kind})",
                    hint="the sub-modules must be called self_attn (MultiHeadAttention), ffn (FeedForward), "
                    "norm1 and norm2 (LayerNorm)",
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


def test_encoder_passes_its_configs_choices_to_the_embeddings_and_every_layer(encoder, reference_encoder):
    """A property no graded check scores: encoder/forward builds BERT's choices (post-norm, learned
    positions, gelu, eps 1e-12), encoder/config only relu and eps; here a pre-norm encoder with
    sinusoidal positions, relu and a large eps, against the reference with identical weights."""
    options = dict(norm_first=True, positional="sinusoidal", activation="relu", eps=0.05)
    expected_model = randomize_(
        reference_encoder.Encoder(small_config(reference_encoder, **options)), seed=7
    ).eval()
    config = small_config(encoder, **options)
    model = copy_parameters(expected_model, encoder.Encoder(config), "Encoder").eval()
    batch = random_batch(config, 3, 9, seed=7)
    output, expected = model(**batch), expected_model(**batch)
    keep = batch["attention_mask"].bool()
    label = "Encoder (pre-norm, sinusoidal positions, relu, eps=0.05)"
    for i in range(len(expected.attentions)):
        expect_close(
            output.attentions[i],
            expected.attentions[i],
            atol=WHOLE_MODEL,
            what=f"{label} attentions[{i}] (real queries)",
            hint="pass the config's norm_first, activation and eps to every layer, and positional and eps "
            "to the embeddings",
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


INPUT_CHECK_HINT = (
    "the inputs are checked by given code: keep `_check_inputs(input_ids, attention_mask, "
    "token_type_ids)` as the first line of Encoder.forward"
)


def test_an_attention_mask_of_another_length_than_input_ids_is_refused(encoder):
    """An all-ones (B, 1) mask would broadcast over every key and hide nothing, whatever the padding."""
    config = small_config(encoder)
    model = randomize_(encoder.Encoder(config), seed=12).eval()
    batch = random_batch(config, 2, 6, seed=12)
    model(**batch)  # the right shapes first: they must work
    expect_raises(
        ValueError,
        lambda: model(batch["input_ids"], attention_mask=torch.ones(2, 1, dtype=torch.long)),
        what="Encoder forward with input_ids of shape (2, 6) and an all-ones attention_mask of shape (2, 1)",
        mentions=["attention_mask", "(2, 1)", "input_ids", "(2, 6)"],
        hint=INPUT_CHECK_HINT,
    )


def test_token_type_ids_of_another_shape_than_input_ids_are_refused(encoder):
    config = small_config(encoder)
    model = randomize_(encoder.Encoder(config), seed=13).eval()
    batch = random_batch(config, 2, 6, seed=13)
    model(**batch)  # the right shapes first: they must work
    expect_raises(
        ValueError,
        lambda: model(batch["input_ids"], token_type_ids=batch["token_type_ids"][:, :5]),
        what="Encoder forward with input_ids of shape (2, 6) and token_type_ids of shape (2, 5)",
        mentions=["token_type_ids", "(2, 5)", "input_ids", "(2, 6)"],
        hint=INPUT_CHECK_HINT,
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


def test_from_hf_ignores_the_pooler(encoder, reference_encoder, tiny_bert):
    assert any(name.startswith("pooler.") for name in tiny_bert.state_dict()), (
        "tiny_bert (kata/core/hf.py) has no pooler, so this test shows nothing"
    )
    model = encoder.Encoder.from_hf(tiny_bert)
    names = set(dict(model.named_parameters()))
    expected = set(dict(reference_encoder.Encoder.from_hf(tiny_bert).named_parameters()))
    assert names == expected, (
        f"Encoder.from_hf(tiny_bert) has parameters {sorted(names - expected)} it should not have "
        f"and lacks {sorted(expected - names)}. Where to look: the pooler (and any task head) is "
        "not part of the encoder; copy only the weights hf_weight_names lists"
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


def other_architecture(name):
    """A tiny random Hugging Face model that is not BERT (nothing downloaded)."""
    import transformers

    if name == "roberta":  # BERT's layers, but positions counted from padding_idx + 1
        config = transformers.RobertaConfig(
            vocab_size=50, hidden_size=30, num_hidden_layers=1, num_attention_heads=5, intermediate_size=37
        )
        return transformers.RobertaModel(config).eval()
    if name == "distilbert":
        config = transformers.DistilBertConfig(vocab_size=50, dim=30, n_layers=1, n_heads=5, hidden_dim=37)
        return transformers.DistilBertModel(config).eval()
    config = transformers.GPT2Config(
        vocab_size=50, n_embd=30, n_layer=1, n_head=5, n_positions=23, bos_token_id=0, eos_token_id=0
    )
    return transformers.GPT2Model(config).eval()


FROM_HF_CHECK_HINT = (
    "the model is checked by given code: keep `_check_bert_model(bert_model)` as the first line of "
    "Encoder.from_hf and `_check_bert_config(...)` as the first line of EncoderConfig.from_hf"
)


@pytest.mark.parametrize("name", ["roberta", "distilbert", "gpt2"])
def test_from_hf_refuses_a_model_that_is_not_bert(encoder, tiny_bert, name):
    encoder.Encoder.from_hf(tiny_bert)  # a BertModel first: it must work
    model = other_architecture(name)
    expect_raises(
        ValueError,
        lambda: encoder.Encoder.from_hf(model),
        what=f"Encoder.from_hf({type(model).__name__})",
        mentions=[type(model).__name__, f"model_type={name!r}", "BertModel"],
        hint=FROM_HF_CHECK_HINT,
    )


def test_from_hf_refuses_a_bert_configured_as_a_decoder(encoder, tiny_bert, tiny_bert_config):
    """A decoder's attention is causal (each token sees those before it); this encoder's is bidirectional."""
    import transformers

    encoder.Encoder.from_hf(tiny_bert)  # an encoder BERT first: it must work
    config = copy.deepcopy(tiny_bert_config)
    config.is_decoder = True
    decoder = transformers.BertModel(config).eval()
    expect_raises(
        ValueError,
        lambda: encoder.Encoder.from_hf(decoder),
        what="Encoder.from_hf(a BertModel with is_decoder=True)",
        mentions=["is_decoder=True", "decoder"],
        hint=FROM_HF_CHECK_HINT,
    )


def test_encoder_config_from_hf_refuses_a_bert_config_with_cross_attention(encoder, tiny_bert_config):
    encoder.EncoderConfig.from_hf(tiny_bert_config)  # a plain BertConfig first: it must work
    config = copy.deepcopy(tiny_bert_config)
    config.add_cross_attention = True
    expect_raises(
        ValueError,
        lambda: encoder.EncoderConfig.from_hf(config),
        what="EncoderConfig.from_hf(a BertConfig with add_cross_attention=True)",
        mentions=["add_cross_attention=True", "cross-attention"],
        hint=FROM_HF_CHECK_HINT,
    )


# ---- with the real pretrained weights -----------------------------------------------


@pytest.fixture(scope="module")
def bert_outputs(pretrained, pretrained_batch):
    """BertModel's outputs on the real sentence pairs, computed once."""
    with torch.no_grad():
        return pretrained[0](**pretrained_batch, output_hidden_states=True, output_attentions=True)


@pytest.fixture(scope="module")
def pretrained_run(encoder, pretrained, pretrained_batch):
    """run() gives (Encoder.from_hf(pretrained MiniLM), its outputs on the real sentence pairs), made
    once, inside the first test that calls it: an unfinished from_hf then fails that test instead of
    erroring in a fixture."""

    @functools.cache
    def run():
        model = encoder.Encoder.from_hf(pretrained[0])
        with torch.no_grad():
            return model, model(**pretrained_batch)

    return run


@pytest.mark.pretrained
def test_pretrained_encoder_gives_berts_every_hidden_state_and_attention_map(
    pretrained_run, pretrained_batch, bert_outputs
):
    """Against Hugging Face's BertModel itself (encoder/pretrained holds it to the reference)."""
    _, outputs = pretrained_run()
    expect_matches_bert(
        outputs,
        bert_outputs,
        pretrained_batch["attention_mask"],
        "Encoder.from_hf(pretrained MiniLM) on real sentence pairs",
    )


@pytest.mark.pretrained
def test_a_sentence_pair_run_alone_gives_the_same_vectors_as_in_the_padded_batch(
    pretrained_run, pretrained_batch
):
    pretrained_encoder, outputs = pretrained_run()
    mask = pretrained_batch["attention_mask"]
    padded_rows = [row for row in range(mask.shape[0]) if not mask[row].all()]
    assert padded_rows, (
        "the pretrained batch (kata/core/weights.py) has no padding, so this test shows nothing"
    )
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
                outputs.hidden_states[i][row, :length],
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
        atol=FLOAT64,  # about 5e-15 from BertModel
    )
