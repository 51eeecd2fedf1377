"""The grader's fixed list of checks and their points: the one place where points are set.

A check has two halves. Its *probe* runs an implementation on inputs it makes itself
(seeded, so every process makes the same ones) and returns plain outputs: tensors,
strings, numbers. The grader runs the probe on the learner's module in an isolated
child process and on the reference in its own process, then its *verdict* compares
the two in the grader's process, with the same messages as the tests (kata.compare).
So a check's result depends only on what the learner's functions return.
"""

import zlib
from dataclasses import dataclass, field, replace

import torch

from . import hf
from .compare import Mismatch, expect_close, expect_shape

ONE_OP = 1e-5  # one operation in float32
WHOLE_MODEL = 5e-5  # a whole model in float32

# Points per exercise, in course order; they add up to 100. The capstone (your whole
# stack against pretrained BERT) is reported but earns no points of its own: each of
# its modules has already been graded once.
POINTS = {
    "attention": 15,
    "multi_head": 15,
    "feed_forward": 10,
    "layer_norm": 10,
    "positional": 15,
    "encoder": 35,
    "capstone": 0,
}
GROUPS = tuple(POINTS)


@dataclass(frozen=True)
class Check:
    group: str  # an exercise of the course, or "capstone"
    slug: str  # stable identifier within the group
    title: str  # what a correct implementation does, for people
    points: float
    probe: object  # probe(module) -> dict of outputs
    hints: dict = field(default_factory=dict)  # output key -> (what it is, likely mistake)
    atol: float = ONE_OP
    needs_weights: bool = False  # needs the pretrained BERT weights
    judge: object = None  # judge(actual, expected) for checks that are not "same as the reference"

    @property
    def name(self):
        return f"{self.group}/{self.slug}"

    def verdict(self, actual, expected):
        """Raise Mismatch unless `actual` (the learner's outputs) matches `expected` (the reference's)."""
        if self.judge is not None:
            return self.judge(actual, expected)
        for key, reference in expected.items():
            if key.endswith("__where"):
                continue
            what, hint = self.hints.get(key, (key.replace("_", " "), None))
            if key not in actual:
                raise Mismatch(f"{what}: no output (the probe did not get this far)")
            if isinstance(reference, torch.Tensor):
                where = expected.get(f"{key}__where")
                expect_close(actual[key], reference, atol=self.atol, what=what, hint=hint, where=where)
            elif actual[key] != reference:
                raise Mismatch(f"{what}: {describe_difference(actual[key], reference)}" + likely(hint))


def likely(hint):
    return f"\n  Where to look: {hint}" if hint else ""


def describe_difference(value, reference):
    if isinstance(value, list) and isinstance(reference, list):
        missing = [item for item in reference if item not in value]
        unexpected = [item for item in value if item not in reference]
        return f"missing {missing or 'nothing'}; unexpected {unexpected or 'nothing'}"
    return f"got {value!r}, expected {reference!r}"


def judge_error(*calls):
    """A judge for checks whose probe records what calls raised: each (prefix, error names, must mention),
    and a "working" output that the same code gives for a valid input."""

    def judge(actual, expected):
        # The check's working case first: its tensors, unlike an error's name, cannot be made up.
        expect_close(
            actual.get("working"), expected["working"], atol=WHOLE_MODEL, what=expected["working_call"]
        )
        for prefix, allowed, mentions in calls:
            what = expected[f"{prefix}_call"]
            error, message = actual.get(f"{prefix}_raised", "no output"), actual.get(f"{prefix}_message", "")
            if error not in allowed:
                raise Mismatch(
                    f"{what}: raised {error}, expected {' or '.join(allowed)}"
                    + likely(f"check the input yourself and raise {allowed[0]}(...) with a clear message")
                )
            missing = [text for text in mentions if text not in message]
            if missing:
                raise Mismatch(
                    f"{what}: raised {error}({message!r}), but the message should mention "
                    + ", ".join(repr(text) for text in missing)
                )

    return judge


def judge_dropout(actual, expected):
    """Dropout is random, so it is judged by its properties, computed here from the raw outputs."""
    expect_close(
        actual["undropped"], expected["undropped"], atol=ONE_OP, what="attention weights with dropout_p=0"
    )
    weights, undropped = actual["weights"], actual["undropped"]
    expect_shape(weights, expected["weights"].shape, what="attention weights with dropout_p=0.5")
    kept = weights != 0
    share = 1 - kept.float().mean().item()
    if not 0.2 < share < 0.8:
        raise Mismatch(
            f"attention weights with dropout_p=0.5: {share:.0%} are zero, expected about half"
            + likely("apply F.dropout(weights, p=dropout_p) after the softmax")
        )
    expect_close(
        weights[kept],
        undropped[kept] * 2,
        atol=ONE_OP,
        what="weights kept by dropout_p=0.5",
        hint="dropout scales the kept weights by 1 / (1 - p)",
    )
    expect_close(
        actual["out"],
        weights @ expected["v"],
        atol=ONE_OP,
        what="attention output with dropout",
        hint="compute out from the dropped weights",
    )


def judge_dropout_in_train_only(what, scaled):
    """A judge for modules built with dropout=0.5: in eval() they match the reference; in
    train() about half of each `{key}_train` output is zero and, for the keys in `scaled`,
    the rest is the eval output doubled (dropout is the last thing applied)."""

    def judge(actual, expected):
        for key, name in what.items():
            expect_close(
                actual[f"{key}_eval"],
                expected[f"{key}_eval"],
                atol=ONE_OP,
                what=f"{name} in eval() mode",
                hint="dropout must do nothing in eval(): use nn.Dropout, or pass dropout_p only while self.training",
            )
            train = actual[f"{key}_train"]
            expect_shape(train, expected[f"{key}_train"].shape, what=f"{name} in train() mode")
            share = (train == 0).float().mean().item()
            if not 0.2 < share < 0.8:
                raise Mismatch(
                    f"{name} in train() mode with dropout=0.5: {share:.0%} of the values are zero, expected about half"
                    + likely(
                        "apply dropout where BERT does (see the docstring), with the module's dropout probability"
                    ),
                    f"{name} in train() mode",
                    round(share, 1),
                )
            if key in scaled:
                kept = train != 0
                expect_close(
                    train[kept],
                    expected[f"{key}_eval"][kept] * 2,
                    atol=ONE_OP,
                    what=f"{name} kept by dropout",
                    hint="dropout comes last, after everything else, and scales what it keeps by 1 / (1 - p)",
                )

    return judge


def judge_layer_dropout(actual, expected):
    """An EncoderLayer passes its dropout on: with only self_attn, or only ffn, in train() the output changes."""
    expect_close(actual["eval"], expected["eval"], atol=ONE_OP, what="encoder layer output in eval() mode")
    for part in ("self_attn", "ffn"):
        changed = (actual[f"{part}_train"] - expected["eval"]).abs().max().item()
        if changed < 1e-3:
            raise Mismatch(
                f"encoder layer output with only {part} in train() mode (dropout=0.5) is the eval output: "
                f"dropout never happens in {part}" + likely(f"pass dropout=dropout to the {part} sub-module"),
                f"layer dropout in {part}",
                "no dropout",
            )


def judge_config(actual, expected):
    """The config's fields match, and an activation we do not implement is refused."""
    for key, reference in expected.items():
        if not key.startswith(("unsupported", "working")):
            what = f"EncoderConfig.from_hf(...).{key}"
            if actual.get(key) != reference:
                raise Mismatch(
                    f"{what}: got {actual.get(key)!r}, expected {reference!r}", what, actual.get(key)
                )
    judge_error(("unsupported", ["ValueError"], ["gelu_new"]))(actual, expected)


# ---- inputs, the same in every process ---------------------------------------------


def randn(*shape, seed, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def fill_parameters(module, seed):
    """Give every parameter a seeded value drawn from its name, so two modules with the
    documented parameter names get identical weights whatever order they were made in."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            generator = torch.Generator().manual_seed(seed + zlib.crc32(name.encode()))
            value = 0.3 * torch.randn(parameter.shape, generator=generator)
            owner = name.split(".")[-2] if "." in name else ""
            if owner.startswith("norm") and name.endswith("weight"):
                value += 1.0  # layer-norm scales near one
            parameter.copy_(value)
    return module.eval()


def parameter_names(module):
    """The structure part of an output: 'name (shape)' for every parameter, sorted."""
    return sorted(f"{name} {tuple(parameter.shape)}" for name, parameter in module.named_parameters())


def raised(prefix, description, call):
    """Outputs describing what `call()` raised (or that it raised nothing)."""
    outputs = {f"{prefix}_call": description, f"{prefix}_raised": "nothing", f"{prefix}_message": ""}
    try:
        call()
    except NotImplementedError:
        raise
    except Exception as error:  # the judge decides whether this was the right error
        outputs.update({f"{prefix}_raised": type(error).__name__, f"{prefix}_message": str(error)[:300]})
    return outputs


def padding_mask(lengths, length):
    """(B, 1, 1, L) boolean key mask from the real lengths of each row."""
    return (torch.arange(length) < torch.tensor(lengths)[:, None])[:, None, None, :]


# ---- probes, one per check ---------------------------------------------------------


def attention_shapes(m):
    q, k, v = randn(2, 3, 4, 5, seed=1), randn(2, 3, 7, 5, seed=2), randn(2, 3, 7, 6, seed=3)
    out, weights = m.scaled_dot_product_attention(q, k, v)
    # Tensors, not just their shapes: a point must never be earned by output anyone could write down.
    return {"out": out, "weights": weights}


def attention_values(m):
    q, k, v = randn(2, 4, 5, seed=4), randn(2, 6, 5, seed=5), randn(2, 6, 3, seed=6)
    mask = torch.tensor([[True] * 6, [True, True, True, False, False, False]])[:, None, :]
    out, weights = m.scaled_dot_product_attention(q, k, v)
    masked_out, masked_weights = m.scaled_dot_product_attention(q, k, v, mask)
    return {"out": out, "weights": weights, "masked_out": masked_out, "masked_weights": masked_weights}


def attention_extreme_scores(m):
    q = torch.full((1, 2, 3), 1e6)
    k = -1e6 - 1e6 * torch.rand(1, 4, 3, generator=torch.Generator().manual_seed(7))
    _, weights = m.scaled_dot_product_attention(
        q, k, randn(1, 4, 3, seed=8), torch.tensor([True, False, True, False])
    )
    return {"weights": weights}


def attention_fully_hidden_row(m):
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0, 1] = False
    out, weights = m.scaled_dot_product_attention(
        randn(2, 3, 5, seed=9), randn(2, 4, 5, seed=10), randn(2, 4, 5, seed=11), mask
    )
    return {"out": out, "weights": weights}


def attention_float64(m):
    args = [randn(2, 3, 5, seed=s, dtype=torch.float64) for s in (12, 13, 14)]
    out, weights = m.scaled_dot_product_attention(*args, torch.tensor([True, True, False]))
    return {"out": out, "weights": weights}


def attention_dropout(m):
    q, k, v = randn(4, 8, 4, seed=15), randn(4, 8, 4, seed=16), randn(4, 8, 4, seed=17)
    torch.manual_seed(0)
    out, weights = m.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    _, undropped = m.scaled_dot_product_attention(q, k, v)
    return {"out": out, "weights": weights, "undropped": undropped, "v": v}


def split_heads(m):
    x = randn(2, 7, 30, seed=20)
    return {"split": m.split_heads(x, 5), "merged": m.merge_heads(randn(2, 5, 7, 6, seed=21))}


def multi_head_values(m):
    attention = fill_parameters(m.MultiHeadAttention(30, 5), seed=22)
    x = randn(3, 7, 30, seed=23)
    out, weights = attention(x)
    masked_out, masked_weights = attention(x, padding_mask([7, 4, 2], 7))
    return {
        "parameters": parameter_names(attention),
        "out": out,
        "weights": weights,
        "masked_out": masked_out,
        "masked_weights": masked_weights,
    }


def multi_head_per_head_mask(m):
    attention = fill_parameters(m.MultiHeadAttention(12, 3), seed=24)
    mask = torch.rand(2, 3, 5, 5, generator=torch.Generator().manual_seed(25)) > 0.4
    mask[..., 0] = True
    out, weights = attention(randn(2, 5, 12, seed=26), mask)
    return {"out": out, "weights": weights}


def working(call, output):
    return {"working_call": call, "working": output}


def multi_head_bad_head_count(m):
    valid = fill_parameters(m.MultiHeadAttention(30, 5), seed=29)
    return {
        **working("MultiHeadAttention(30, 5) output", valid(randn(1, 4, 30, seed=29))[0]),
        **raised("bad_heads", "MultiHeadAttention(30, 7)", lambda: m.MultiHeadAttention(30, 7)),
    }


def multi_head_dropout(m):
    attention = fill_parameters(m.MultiHeadAttention(30, 5, dropout=0.5), seed=27)
    x = randn(2, 9, 30, seed=28)
    torch.manual_seed(0)  # also in eval(): a dropout wrongly active there drops the same values every run
    out_eval, weights_eval = attention(x)
    torch.manual_seed(0)
    out_train, weights_train = attention.train()(x)
    return {
        "out_eval": out_eval,
        "weights_eval": weights_eval,
        "out_train": out_train,
        "weights_train": weights_train,
    }


def gelu_values(m):
    x = torch.linspace(-6, 6, 241)
    return {"gelu": m.gelu(x), "gelu64": m.gelu(x.double())}


def feed_forward_gelu(m):
    ffn = fill_parameters(m.FeedForward(30, 43), seed=30)
    return {"parameters": parameter_names(ffn), "out": ffn(randn(2, 7, 30, seed=31))}


def feed_forward_relu(m):
    ffn = fill_parameters(m.FeedForward(30, 43, activation="relu"), seed=32)
    return {"out": ffn(randn(2, 7, 30, seed=33))}


def feed_forward_bad_activation(m):
    valid = fill_parameters(m.FeedForward(30, 43, activation="relu"), seed=36)
    return {
        **working("FeedForward(30, 43, activation='relu') output", valid(randn(1, 4, 30, seed=36))),
        **raised(
            "activation",
            "FeedForward(30, 43, activation='swish')",
            lambda: m.FeedForward(30, 43, activation="swish"),
        ),
    }


def feed_forward_dropout(m):
    ffn = fill_parameters(m.FeedForward(30, 43, dropout=0.5), seed=34)
    x = randn(2, 7, 30, seed=35)
    torch.manual_seed(0)
    out_eval = ffn(x)
    torch.manual_seed(0)
    return {"out_eval": out_eval, "out_train": ffn.train()(x)}


def layer_norm_function(m):
    x = randn(2, 7, 30, seed=40)
    weight, bias = 1 + randn(30, seed=41), randn(30, seed=42)
    small = randn(5, 3, seed=43)  # D = 3: the biased variance shows
    flat = 4.0 + 1e-3 * randn(4, 30, seed=44)  # tiny variance: where eps sits shows
    return {
        "out": m.layer_norm(x, weight, bias, 1e-12),
        "small_width": m.layer_norm(small, torch.ones(3), torch.zeros(3), 1e-5),
        "large_eps": m.layer_norm(flat, torch.ones(30), torch.zeros(30), 1e-2),
    }


def layer_norm_module(m):
    fresh = m.LayerNorm(30)
    norm = fill_parameters(m.LayerNorm(30, eps=1e-12), seed=45)
    x = randn(3, 5, 30, seed=46)
    return {
        "parameters": parameter_names(fresh),
        "fresh_weight": fresh.weight.detach(),
        "fresh_bias": fresh.bias.detach(),
        "out": norm(x),
    }


def positional_table(m):
    return {
        "even_width": m.sinusoidal_positional_encoding(50, 16),
        "odd_width": m.sinusoidal_positional_encoding(9, 7),
    }


def embeddings_learned(m):
    embeddings = fill_parameters(m.Embeddings(97, 30, 23, type_vocab_size=3), seed=50)
    ids = torch.randint(0, 97, (2, 23), generator=torch.Generator().manual_seed(51))
    types = torch.randint(0, 3, (2, 23), generator=torch.Generator().manual_seed(52))
    return {
        "parameters": parameter_names(embeddings),
        "with_types": embeddings(ids, types),
        "without_types": embeddings(ids[:, :9]),
    }


def embeddings_sinusoidal(m):
    embeddings = fill_parameters(m.Embeddings(97, 30, 23, positional="sinusoidal"), seed=53)
    ids = torch.randint(0, 97, (2, 11), generator=torch.Generator().manual_seed(54))
    return {"parameters": parameter_names(embeddings), "out": embeddings(ids)}


def embeddings_too_long(m):
    embeddings = fill_parameters(m.Embeddings(97, 30, 23), seed=57)
    longest = torch.arange(23).unsqueeze(0)  # exactly max_len: fine
    too_long = torch.zeros(1, 24, dtype=torch.long)
    return {
        **working("a 23-token input to Embeddings(97, 30, max_len=23)", embeddings(longest)),
        **raised(
            "too_long", "a 24-token input to Embeddings(97, 30, max_len=23)", lambda: embeddings(too_long)
        ),
    }


def embeddings_dropout(m):
    embeddings = fill_parameters(m.Embeddings(97, 30, 23, dropout=0.5), seed=55)
    ids = torch.randint(0, 97, (2, 11), generator=torch.Generator().manual_seed(56))
    torch.manual_seed(0)
    out_eval = embeddings(ids)
    torch.manual_seed(0)
    return {"out_eval": out_eval, "out_train": embeddings.train()(ids)}


def encoder_layer(m, norm_first, activation="gelu", eps=1e-12):
    layer = fill_parameters(
        m.EncoderLayer(30, 5, 43, eps=eps, activation=activation, norm_first=norm_first), seed=60
    )
    x = randn(3, 7, 30, seed=61)
    out, weights = layer(x, padding_mask([7, 5, 2], 7))
    return {"parameters": parameter_names(layer), "out": out, "weights": weights}


def encoder_layer_dropout(m):
    layer = fill_parameters(m.EncoderLayer(30, 5, 43, dropout=0.5), seed=65)
    x = randn(2, 7, 30, seed=66)
    torch.manual_seed(0)
    outputs = {"eval": layer(x)[0]}
    for part in ("self_attn", "ffn"):
        torch.manual_seed(0)
        getattr(layer, part).train()
        outputs[f"{part}_train"] = layer(x)[0]
        layer.eval()
    return outputs


def encoder_config(m):
    config = hf.tiny_bert_config()
    config.hidden_act, config.layer_norm_eps, config.hidden_dropout_prob = "relu", 0.05, 0.25
    ours = m.EncoderConfig.from_hf(config)
    names = (
        "vocab_size",
        "d_model",
        "num_heads",
        "num_layers",
        "d_ff",
        "max_len",
        "type_vocab_size",
        "eps",
        "dropout",
    )
    fields = {name: getattr(ours, name, None) for name in (*names, "activation", "norm_first", "positional")}
    unsupported = hf.tiny_bert_config()
    unsupported.hidden_act = "gelu_new"
    call = "EncoderConfig.from_hf(a BertConfig with hidden_act='gelu_new')"
    ids, attention_mask, types = tiny_inputs()
    encoder = fill_parameters(m.Encoder(ours), seed=67)
    built = encoder(ids, attention_mask, types).last_hidden_state
    return {
        **fields,
        **working("last hidden state of an Encoder built from that config", built),
        **raised("unsupported", call, lambda: m.EncoderConfig.from_hf(unsupported)),
    }


def tiny_inputs():
    ids = torch.randint(0, 97, (3, 11), generator=torch.Generator().manual_seed(62))
    types = torch.randint(0, 3, (3, 11), generator=torch.Generator().manual_seed(63))
    attention_mask = (torch.arange(11) < torch.tensor([11, 8, 3])[:, None]).long()
    return ids, attention_mask, types


def model_outputs(output, attention_mask):
    """Every hidden state and attention map, with the positions that count (real tokens)."""
    real = attention_mask.bool()
    outputs = {}
    for i, hidden in enumerate(output.hidden_states):
        outputs[f"hidden_state_{i}"] = hidden
        outputs[f"hidden_state_{i}__where"] = real[:, :, None].expand_as(hidden)
    for i, weights in enumerate(output.attentions):
        outputs[f"attention_{i}"] = weights
        outputs[f"attention_{i}__where"] = (real[:, None, :, None] & real[:, None, None, :]).expand_as(
            weights
        )
    return outputs


def model_hints(num_layers):
    hints = {"hidden_state_0": ("hidden_states[0] (the embeddings' output)", None)}
    for i in range(1, num_layers + 1):
        hints[f"hidden_state_{i}"] = (f"hidden_states[{i}] (after layer {i - 1})", None)
    for i in range(num_layers):
        hints[f"attention_{i}"] = (f"attentions[{i}] (layer {i}'s attention weights)", None)
    return hints


def encoder_forward(m):
    config = m.EncoderConfig(
        vocab_size=97, d_model=30, num_heads=5, num_layers=2, d_ff=43, max_len=23, type_vocab_size=3
    )
    encoder = fill_parameters(m.Encoder(config), seed=64)
    ids, attention_mask, types = tiny_inputs()
    output = encoder(ids, attention_mask, types)
    return {"parameters": parameter_names(encoder), **model_outputs(output, attention_mask)}


def encoder_from_tiny_bert(m):
    bert = hf.tiny_bert()
    ids, attention_mask, types = tiny_inputs()
    return model_outputs(m.Encoder.from_hf(bert)(ids, attention_mask, types), attention_mask)


def encoder_from_wrapped_bert(m):
    class WithBert(torch.nn.Module):  # like BertForMaskedLM: the BertModel is its .bert
        def __init__(self):
            super().__init__()
            self.bert = hf.tiny_bert()
            self.config = self.bert.config

    ids, attention_mask, types = tiny_inputs()
    output = m.Encoder.from_hf(WithBert().eval())(ids, attention_mask, types)
    return {"last_hidden_state": output.last_hidden_state}


MISSING = "encoder.layer.1.attention.self.query.weight"
MISSHAPEN = "encoder.layer.0.intermediate.dense.weight"


def encoder_bad_weights(m):
    def tiny_bert_with(change):
        bert = hf.tiny_bert()
        state = bert.state_dict()
        change(state)
        bert.state_dict = lambda *args, **kwargs: state  # what from_hf will read
        return bert

    def drop(state):
        del state[MISSING]

    def transpose(state):
        state[MISSHAPEN] = state[MISSHAPEN].t()

    ids, attention_mask, types = tiny_inputs()
    intact = m.Encoder.from_hf(hf.tiny_bert())(ids, attention_mask, types).last_hidden_state
    return {
        **working("last hidden state of from_hf on the intact BertModel", intact),
        **raised(
            "missing",
            f"from_hf on a BertModel without {MISSING!r}",
            lambda: m.Encoder.from_hf(tiny_bert_with(drop)),
        ),
        **raised(
            "misshapen",
            f"from_hf on a BertModel whose {MISSHAPEN!r} is transposed",
            lambda: m.Encoder.from_hf(tiny_bert_with(transpose)),
        ),
    }


def pretrained_batch():
    from .weights import encode_pairs, load_pretrained

    bert, tokenizer = load_pretrained()
    return bert, encode_pairs(tokenizer)


def encoder_pretrained(m):
    bert, batch = pretrained_batch()
    encoder = m.Encoder.from_hf(bert).eval()
    output = encoder(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    return model_outputs(output, batch["attention_mask"])


# ---- the list ----------------------------------------------------------------------

CHECKS = (
    Check(
        "attention",
        "shapes",
        "returns (out, weights) with the documented shapes for two leading dimensions",
        2,
        attention_shapes,
        {
            "out": (
                "attention output for q, k of shape (2, 3, 4|7, 5), v (2, 3, 7, 6)",
                "out is (..., L_q, d_v)",
            ),
            "weights": ("attention weights for the same", "weights are (..., L_q, L_k); is k transposed?"),
        },
    ),
    Check(
        "attention",
        "values",
        "matches the reference with and without a padding mask",
        5,
        attention_values,
        {
            "weights": ("attention weights", "scores are q @ k^T / sqrt(d); softmax over the last axis"),
            "out": ("attention output", "out = weights @ v"),
            "masked_weights": (
                "attention weights with a padding mask",
                "fill hidden scores (mask False) before the softmax",
            ),
            "masked_out": ("attention output with a padding mask", None),
        },
    ),
    Check(
        "attention",
        "extreme_scores",
        "gives hidden keys zero weight even when every visible score is about -1e12",
        3,
        attention_extreme_scores,
        {"weights": ("attention weights", "fill with torch.finfo(scores.dtype).min, not a constant")},
    ),
    Check(
        "attention",
        "fully_hidden_row",
        "gives no NaN when a query may attend to nothing",
        2,
        attention_fully_hidden_row,
        {
            "weights": ("attention weights", "-inf makes softmax compute 0/0; use torch.finfo(dtype).min"),
            "out": ("attention output", None),
        },
    ),
    Check("attention", "float64", "keeps float64 precision", 1, attention_float64, atol=1e-12),
    Check(
        "attention", "dropout", "applies dropout_p to the weights", 2, attention_dropout, judge=judge_dropout
    ),
    Check(
        "multi_head",
        "split_merge",
        "split_heads and merge_heads move the head axis correctly",
        4,
        split_heads,
        {
            "split": (
                "split_heads(x, 5) for x of shape (2, 7, 30)",
                "view as (B, L, H, Dh), then transpose(1, 2)",
            ),
            "merged": (
                "merge_heads(x) for x of shape (2, 5, 7, 6)",
                "transpose(1, 2) back before reshaping to (B, L, D)",
            ),
        },
    ),
    Check(
        "multi_head",
        "values",
        "matches the reference with and without a padding mask",
        6,
        multi_head_values,
        {
            "parameters": (
                "MultiHeadAttention parameters",
                "q_proj, k_proj, v_proj, out_proj, each nn.Linear(D, D)",
            ),
            "out": ("multi-head attention output", "split, attend, merge, then out_proj"),
            "weights": ("multi-head attention weights (B, H, L, L)", None),
            "masked_out": ("multi-head attention output with a padding mask", None),
            "masked_weights": ("multi-head attention weights with a padding mask", None),
        },
    ),
    Check(
        "multi_head",
        "per_head_mask",
        "accepts a mask of shape (B, H, L, L)",
        2,
        multi_head_per_head_mask,
    ),
    Check(
        "multi_head",
        "bad_head_count",
        "raises ValueError naming both numbers when d_model % num_heads != 0",
        1,
        multi_head_bad_head_count,
        judge=judge_error(("bad_heads", ["ValueError"], ["30", "7"])),
    ),
    Check(
        "multi_head",
        "dropout",
        "dropout acts on the attention weights and the output in train() only",
        2,
        multi_head_dropout,
        judge=judge_dropout_in_train_only(
            {"weights": "multi-head attention weights", "out": "multi-head attention output"},
            scaled=("weights",),
        ),
    ),
    Check(
        "feed_forward",
        "gelu",
        "gelu is the exact erf GELU, in float32 and float64",
        4,
        gelu_values,
        {
            "gelu": (
                "gelu(x) for x in [-6, 6]",
                "0.5 * x * (1 + erf(x / sqrt(2))), not the tanh approximation",
            ),
            "gelu64": ("gelu(x) in float64", None),
        },
    ),
    Check(
        "feed_forward",
        "gelu_network",
        "FeedForward with gelu matches the reference",
        3,
        feed_forward_gelu,
        {
            "parameters": ("FeedForward parameters", "linear1 = nn.Linear(D, F), linear2 = nn.Linear(F, D)"),
            "out": ("feed-forward output", "linear2(gelu(linear1(x)))"),
        },
    ),
    Check(
        "feed_forward", "relu_network", "FeedForward with relu matches the reference", 1, feed_forward_relu
    ),
    Check(
        "feed_forward",
        "bad_activation",
        "an unknown activation raises ValueError",
        1,
        feed_forward_bad_activation,
        judge=judge_error(("activation", ["ValueError"], ["swish"])),
    ),
    Check(
        "feed_forward",
        "dropout",
        "dropout acts on the output in train() only",
        1,
        feed_forward_dropout,
        judge=judge_dropout_in_train_only({"out": "feed-forward output"}, scaled=("out",)),
    ),
    Check(
        "layer_norm",
        "function",
        "layer_norm: biased variance, eps inside the square root, last axis",
        6,
        layer_norm_function,
        {
            "out": ("layer_norm output", "normalise over the last axis, then * weight + bias"),
            "small_width": ("layer_norm over a width of 3", "use the biased variance (correction=0)"),
            "large_eps": (
                "layer_norm with eps=1e-2 on nearly constant rows",
                "eps goes inside: sqrt(var + eps)",
            ),
        },
    ),
    Check(
        "layer_norm",
        "module",
        "LayerNorm starts at weight 1, bias 0 and matches the reference",
        4,
        layer_norm_module,
        {"parameters": ("LayerNorm parameters", "weight and bias, each nn.Parameter of shape (D,)")},
    ),
    Check(
        "positional",
        "table",
        "the sinusoidal table: sin on even columns, cos on odd, for even and odd widths",
        5,
        positional_table,
        {
            "even_width": (
                "sinusoidal_positional_encoding(50, 16)",
                "the exponent is 2i / D; sin even, cos odd",
            ),
            "odd_width": (
                "sinusoidal_positional_encoding(9, 7)",
                "an odd width has one sine more than cosines",
            ),
        },
    ),
    Check(
        "positional",
        "learned",
        "learned embeddings with token types match the reference",
        5,
        embeddings_learned,
        {
            "parameters": (
                "Embeddings parameters",
                "word_embeddings, position_embeddings, token_type_embeddings, norm",
            ),
            "with_types": ("embeddings with token types", "word + position + token type, then norm"),
            "without_types": ("embeddings without token_type_ids", "missing token types are all zeros"),
        },
    ),
    Check(
        "positional",
        "sinusoidal",
        "sinusoidal embeddings use the fixed table as a buffer",
        2,
        embeddings_sinusoidal,
        {
            "parameters": (
                "Embeddings parameters in sinusoidal mode",
                "the table is a buffer, not a parameter",
            )
        },
    ),
    Check(
        "positional",
        "too_long",
        "a sequence longer than max_len raises ValueError naming both lengths",
        2,
        embeddings_too_long,
        judge=judge_error(("too_long", ["ValueError"], ["24", "23"])),
    ),
    Check(
        "positional",
        "dropout",
        "dropout acts after the norm in train() only",
        1,
        embeddings_dropout,
        judge=judge_dropout_in_train_only({"out": "embeddings output"}, scaled=("out",)),
    ),
    Check(
        "encoder",
        "post_norm_layer",
        "a post-norm EncoderLayer matches the reference",
        5,
        lambda m: encoder_layer(m, norm_first=False),
        {"out": ("post-norm layer output", "x = norm1(x + attention); x = norm2(x + ffn(x))")},
    ),
    Check(
        "encoder",
        "pre_norm_layer",
        "a pre-norm EncoderLayer matches the reference",
        3,
        lambda m: encoder_layer(m, norm_first=True),
        {"out": ("pre-norm layer output", "x = x + attention(norm1(x)); x = x + ffn(norm2(x))")},
    ),
    Check(
        "encoder",
        "relu_layer",
        "an EncoderLayer passes its activation and eps on",
        2,
        lambda m: encoder_layer(m, norm_first=False, activation="relu", eps=0.05),
        {
            "out": (
                "post-norm relu layer output with eps=0.05",
                "pass activation= to ffn and eps= to both norms",
            )
        },
    ),
    Check(
        "encoder",
        "layer_dropout",
        "an EncoderLayer passes its dropout to the attention and the feed-forward network",
        2,
        encoder_layer_dropout,
        judge=judge_layer_dropout,
    ),
    Check(
        "encoder",
        "config",
        "EncoderConfig.from_hf reads every field and refuses an activation it cannot run",
        2,
        encoder_config,
        judge=judge_config,
    ),
    Check(
        "encoder",
        "forward",
        "Encoder returns every hidden state and attention map, matching the reference",
        6,
        encoder_forward,
        model_hints(2),
        atol=WHOLE_MODEL,
    ),
    Check(
        "encoder",
        "from_tiny_bert",
        "Encoder.from_hf reproduces a random BertModel",
        6,
        encoder_from_tiny_bert,
        model_hints(2),
        atol=WHOLE_MODEL,
    ),
    Check(
        "encoder",
        "from_wrapped_bert",
        "Encoder.from_hf takes a model whose .bert is a BertModel",
        2,
        encoder_from_wrapped_bert,
        {
            "last_hidden_state": (
                "last hidden state from a model with a .bert",
                "use getattr(model, 'bert', model)",
            )
        },
        atol=WHOLE_MODEL,
    ),
    Check(
        "encoder",
        "bad_weights",
        "Encoder.from_hf names a missing or misshapen weight",
        2,
        encoder_bad_weights,
        judge=judge_error(
            ("missing", ["KeyError", "ValueError", "RuntimeError"], [MISSING]),
            ("misshapen", ["ValueError", "RuntimeError", "KeyError"], [MISSHAPEN]),
        ),
    ),
    Check(
        "encoder",
        "pretrained",
        "Encoder.from_hf reproduces pretrained MiniLM on real sentences",
        5,
        encoder_pretrained,
        model_hints(6),
        atol=WHOLE_MODEL,
        needs_weights=True,
    ),
    Check(
        "capstone",
        "whole_stack",
        "your whole encoder, every module yours, reproduces pretrained MiniLM",
        0,
        encoder_pretrained,
        model_hints(6),
        atol=WHOLE_MODEL,
        needs_weights=True,
    ),
)


# ---- the NumPy track ---------------------------------------------------------------------
# The same checks, against the same (PyTorch) reference, through kata/as_torch.py. The NumPy
# track is inference only, so in place of each check that needs train mode it has one of the
# same exercise and points: the module accepts dropout=0.5 and, as in eval(), never applies it.


def multi_head_dropout_ignored(m):
    attention = fill_parameters(m.MultiHeadAttention(30, 5, dropout=0.5), seed=27)
    out, weights = attention(randn(2, 9, 30, seed=28))
    return {"out": out, "weights": weights}


def feed_forward_dropout_ignored(m):
    ffn = fill_parameters(m.FeedForward(30, 43, dropout=0.5), seed=34)
    return {"out": ffn(randn(2, 7, 30, seed=35))}


def embeddings_dropout_ignored(m):
    embeddings = fill_parameters(m.Embeddings(97, 30, 23, dropout=0.5), seed=55)
    ids = torch.randint(0, 97, (2, 11), generator=torch.Generator().manual_seed(56))
    return {"out": embeddings(ids)}


def encoder_layer_dropout_ignored(m):
    layer = fill_parameters(m.EncoderLayer(30, 5, 43, dropout=0.5), seed=65)
    out, weights = layer(randn(2, 7, 30, seed=66))
    return {"out": out, "weights": weights}


INFERENCE_ONLY_PROBES = {  # a check that needs train mode -> the NumPy track's probe in its place
    "multi_head/dropout": multi_head_dropout_ignored,
    "feed_forward/dropout": feed_forward_dropout_ignored,
    "positional/dropout": embeddings_dropout_ignored,
    "encoder/layer_dropout": encoder_layer_dropout_ignored,
}


def inference_only(check):
    """The NumPy track's check in place of `check`, which needs train mode: same exercise and points."""
    return replace(
        check,
        slug=f"{check.slug}_inference_only",
        title="accepts dropout=0.5 and, inference only, never applies it (as in eval())",
        probe=INFERENCE_ONLY_PROBES[check.name],
        hints={},
        judge=None,
    )


NUMPY_CHECKS = tuple(inference_only(c) if c.name in INFERENCE_ONLY_PROBES else c for c in CHECKS)
TRACK_CHECKS = {"torch": CHECKS, "numpy": NUMPY_CHECKS}  # each track's checks, 100 points each
