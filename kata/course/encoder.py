"""Exercise 6, encoder.py: the encoder layer, the encoder and loading BERT's weights.

Its checks, known mistakes, hints and diverge text (kata/course/__init__.py says how they
are used); each check is also a test in tests/test_encoder.py.
"""

from collections.abc import Mapping
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any

import torch

from ..core import hf
from ..core.checking import (
    Check,
    fill_parameters,
    generator,
    judge_error,
    likely,
    padding_mask,
    parameter_names,
    raised,
    randn,
    working,
)
from ..core.compare import ONE_OP, WHOLE_MODEL, Mismatch, expect_close
from ..core.mistakes import Mistake
from ..core.shortcuts import HUGGING_FACE, Shortcut

if TYPE_CHECKING:
    from transformers import BertModel

NAME = "encoder"

# ---- probes: what each check runs, on inputs it makes itself ---------------------------


def encoder_layer(
    m: ModuleType, norm_first: bool, activation: str = "gelu", eps: float = 1e-12
) -> dict[str, object]:
    layer = fill_parameters(
        m.EncoderLayer(30, 5, 43, eps=eps, activation=activation, norm_first=norm_first), seed=60
    )
    x = randn(3, 7, 30, seed=61)
    out, weights = layer(x, padding_mask([7, 5, 2], 7))
    return {"parameters": parameter_names(layer), "out__input": x, "out": out, "weights": weights}


def encoder_layer_dropout(m: ModuleType) -> dict[str, object]:
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


def judge_layer_dropout(actual: dict[str, Any], expected: dict[str, Any]) -> None:
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


def judge_config(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """The config's fields match, and an activation we do not implement is refused."""
    for key, reference in expected.items():
        if not key.startswith(("unsupported", "working")):
            what = f"EncoderConfig.from_hf(...).{key}"
            if actual.get(key) != reference:
                raise Mismatch(
                    f"{what}: got {actual.get(key)!r}, expected {reference!r}", what, actual.get(key)
                )
    judge_error(
        ("unsupported", ["ValueError"], ["gelu_new"]),
        *((f"unsupported_{name}", ["ValueError"], [name]) for name in UNSUPPORTED_ACTIVATIONS),
    )(actual, expected)


# Activations BERT configs name that the encoder does not implement, besides gelu_new: one
# that contains "gelu", and one that does not.
UNSUPPORTED_ACTIVATIONS = ("gelu_pytorch_tanh", "silu")


def encoder_config(m: ModuleType) -> dict[str, object]:
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
    outputs = {
        **fields,
        **working("last hidden state of an Encoder built from that config", built),
        **raised("unsupported", call, lambda: m.EncoderConfig.from_hf(unsupported)),
    }
    for name in UNSUPPORTED_ACTIVATIONS:
        other = hf.tiny_bert_config()
        other.hidden_act = name
        outputs.update(
            raised(
                f"unsupported_{name}",
                f"EncoderConfig.from_hf(a BertConfig with hidden_act={name!r})",
                partial(m.EncoderConfig.from_hf, other),
            )
        )
    return outputs


def tiny_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, 97, (3, 11), generator=generator(62))
    types = torch.randint(0, 3, (3, 11), generator=generator(63))
    attention_mask = (torch.arange(11) < torch.tensor([11, 8, 3])[:, None]).long()
    return ids, attention_mask, types


def model_outputs(output: Any, attention_mask: torch.Tensor) -> dict[str, object]:
    """Every hidden state and attention map, with the positions that count (real tokens)."""
    real = attention_mask.bool()
    outputs = {}
    # In the order they are computed (a layer's weights before its output), so the first
    # difference is where it is made; each layer's output with its input, to tell one left out.
    for i, hidden in enumerate(output.hidden_states):
        if i > 0:
            outputs[f"hidden_state_{i}__input"] = output.hidden_states[i - 1]
        outputs[f"hidden_state_{i}"] = hidden
        outputs[f"hidden_state_{i}__where"] = real[:, :, None].expand_as(hidden)
        if i < len(output.attentions):
            weights = output.attentions[i]
            outputs[f"attention_{i}"] = weights
            outputs[f"attention_{i}__where"] = (real[:, None, :, None] & real[:, None, None, :]).expand_as(
                weights
            )
    for i in range(len(output.hidden_states), len(output.attentions)):  # more maps than layers
        weights = output.attentions[i]
        outputs[f"attention_{i}"] = weights
        outputs[f"attention_{i}__where"] = (real[:, None, :, None] & real[:, None, None, :]).expand_as(
            weights
        )
    return outputs


MASK_HINT = (
    "the mask Encoder.forward builds from attention_mask (1 = token, 0 = padding): True where a key "
    "may be attended, shaped (B, 1, 1, L) so it hides padded keys from every query and head"
)


def model_hints(num_layers: int, loaded: bool = False) -> Mapping[str, tuple[str, str | None]]:
    """What each of a model's outputs is, and where to look when it differs: the forward pass (the
    forward check), or, for a model `loaded` from BERT's weights (whose forward the forward check
    has already tested), the weights hf_weight_names pairs with each part."""
    if loaded:
        first = "the weights hf_weight_names pairs with the embeddings' (embeddings.word_embeddings, position_embeddings, token_type_embeddings, LayerNorm)"
        layer = (
            "the BERT weights hf_weight_names pairs with layer {i}'s parameters: q_proj, k_proj, v_proj "
            "(attention.self.query, key, value), out_proj (attention.output.dense), norm1 "
            "(attention.output.LayerNorm), ffn.linear1 (intermediate.dense), ffn.linear2 (output.dense), "
            "norm2 (output.LayerNorm)"
        )
        weights = "the weights hf_weight_names loads into layer {i}'s q_proj and k_proj (attention.self.query, attention.self.key)"
    else:
        first = (
            "the Embeddings Encoder.__init__ builds from the config (sizes, eps, positional), called "
            "with input_ids and token_type_ids"
        )
        layer = f"each layer's input is the previous one's output; the layers all get {MASK_HINT}"
        weights = MASK_HINT
    hints: dict[str, tuple[str, str | None]] = {
        "hidden_state_0": ("hidden_states[0] (the embeddings' output)", first)
    }
    for i in range(1, num_layers + 1):
        hints[f"hidden_state_{i}"] = (f"hidden_states[{i}] (after layer {i - 1})", layer.format(i=i - 1))
    for i in range(num_layers):
        hints[f"attention_{i}"] = (f"attentions[{i}] (layer {i}'s attention weights)", weights.format(i=i))
    return hints


def encoder_forward(m: ModuleType) -> dict[str, object]:
    sizes = dict(vocab_size=97, d_model=30, num_heads=5, num_layers=2, d_ff=43, max_len=23, type_vocab_size=3)
    encoder = fill_parameters(m.Encoder(m.EncoderConfig(**sizes)), seed=64)
    ids, attention_mask, types = tiny_inputs()
    output = encoder(ids, attention_mask, types)
    real = attention_mask.bool()[:, :, None]
    return {
        "parameters": parameter_names(encoder),
        "hidden_state_count": len(output.hidden_states),
        "attention_count": len(output.attentions),
        **model_outputs(output, attention_mask),
        "last_hidden_state": output.last_hidden_state,
        "last_hidden_state__where": real.expand_as(output.last_hidden_state),
    }


def encoder_from_tiny_bert(m: ModuleType) -> dict[str, object]:
    bert = hf.tiny_bert()
    ids, attention_mask, types = tiny_inputs()
    return model_outputs(m.Encoder.from_hf(bert)(ids, attention_mask, types), attention_mask)


def encoder_from_wrapped_bert(m: ModuleType) -> dict[str, object]:
    class WithBert(torch.nn.Module):  # like BertForMaskedLM: the BertModel is its .bert, without a pooler
        def __init__(self):
            super().__init__()
            self.bert = hf.tiny_bert()
            self.bert.pooler = None
            self.config = self.bert.config

    ids, attention_mask, types = tiny_inputs()
    output = m.Encoder.from_hf(WithBert().eval())(ids, attention_mask, types)
    return {"last_hidden_state": output.last_hidden_state}


MISSING = "encoder.layer.1.attention.self.query.weight"


MISSHAPEN = "encoder.layer.0.intermediate.dense.weight"


def encoder_bad_weights(m: ModuleType) -> dict[str, object]:
    def tiny_bert_with(change):
        bert = hf.tiny_bert()
        state = bert.state_dict()
        change(state)
        # What from_hf will read (a method replaced on this one object).
        bert.state_dict = lambda *args, **kwargs: state  # type: ignore[method-assign, assignment]
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


def pretrained_batch() -> tuple["BertModel", dict[str, torch.Tensor]]:
    from ..core.checking import hidden_seed
    from ..core.weights import SENTENCE_PAIRS, encode_pairs, hidden_sentence_pairs, load_pretrained

    bert, tokenizer = load_pretrained()
    seed = hidden_seed()  # a hidden check (the Gradescope zip's) runs on sentences no student has seen
    return bert, encode_pairs(tokenizer, SENTENCE_PAIRS if seed is None else hidden_sentence_pairs(seed))


def encoder_pretrained(m: ModuleType) -> dict[str, object]:
    bert, batch = pretrained_batch()
    encoder = m.Encoder.from_hf(bert).eval()
    output = encoder(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    return model_outputs(output, batch["attention_mask"])


def encoder_layer_dropout_ignored(m: ModuleType) -> dict[str, object]:
    layer = fill_parameters(m.EncoderLayer(30, 5, 43, dropout=0.5), seed=65)
    out, weights = layer(randn(2, 7, 30, seed=66))
    return {"out": out, "weights": weights}


# ---- the checks: the grader scores them, and each is a test ------------------------------

CHECKS = (
    Check(
        NAME,
        "post_norm_layer",
        "a post-norm EncoderLayer matches the reference",
        5,
        lambda m: encoder_layer(m, norm_first=False),
        {
            "parameters": (
                "EncoderLayer parameters",
                "self_attn (MultiHeadAttention), ffn (FeedForward), norm1 and norm2 (LayerNorm), from the "
                "earlier exercises, built with d_model, num_heads and d_ff",
            ),
            "out": (
                "post-norm layer output (with a padding mask)",
                "x = norm1(x + self_attn(x, mask)); x = norm2(x + ffn(x))",
            ),
            "weights": (
                "post-norm layer attention weights (with a padding mask)",
                "pass the mask on to self_attn and return the weights it returns, (B, H, L, L)",
            ),
        },
        d_head=6,
    ),
    Check(
        NAME,
        "pre_norm_layer",
        "a pre-norm EncoderLayer matches the reference",
        3,
        lambda m: encoder_layer(m, norm_first=True),
        {
            "out": (
                "pre-norm layer output (with a padding mask)",
                "x = x + self_attn(norm1(x), mask); x = x + ffn(norm2(x))",
            ),
            "weights": (
                "pre-norm layer attention weights (with a padding mask)",
                "self_attn sees norm1(x) in a pre-norm layer; pass the mask on to it",
            ),
        },
        d_head=6,
    ),
    Check(
        NAME,
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
        NAME,
        "layer_dropout",
        "an EncoderLayer passes its dropout to the attention and the feed-forward network",
        2,
        encoder_layer_dropout,
        judge=judge_layer_dropout,
        inference_only_probe=encoder_layer_dropout_ignored,
    ),
    Check(
        NAME,
        "config",
        "EncoderConfig.from_hf reads every field and refuses an activation it cannot run",
        2,
        encoder_config,
        judge=judge_config,
    ),
    Check(
        NAME,
        "forward",
        "Encoder returns every hidden state and attention map, matching the reference",
        6,
        encoder_forward,
        {
            "parameters": (
                "Encoder parameters",
                "embeddings (an Embeddings) and layers, an nn.ModuleList of num_layers distinct EncoderLayer: "
                "a plain list hides their parameters, and [layer] * n repeats one layer",
            ),
            "hidden_state_count": (
                "len(hidden_states) for num_layers=2",
                "hidden_states holds the embeddings' output, then every layer's output: num_layers + 1",
            ),
            "attention_count": ("len(attentions) for num_layers=2", "one attention map per layer"),
            **model_hints(2),
            "last_hidden_state": ("last_hidden_state (real tokens)", "the last layer's output"),
        },
        atol=WHOLE_MODEL,
        d_head=6,
    ),
    Check(
        NAME,
        "from_tiny_bert",
        "Encoder.from_hf reproduces a random BertModel",
        6,
        encoder_from_tiny_bert,
        model_hints(2, loaded=True),
        atol=WHOLE_MODEL,
        d_head=6,
    ),
    Check(
        NAME,
        "from_wrapped_bert",
        "Encoder.from_hf takes a model whose .bert is a BertModel",
        2,
        encoder_from_wrapped_bert,
        {
            "last_hidden_state": (
                "last hidden state from a model whose .bert is a BertModel without a pooler",
                "use getattr(model, 'bert', model), and copy only the weights hf_weight_names lists "
                "(a task model's .bert has no pooler)",
            )
        },
        atol=WHOLE_MODEL,
    ),
    Check(
        NAME,
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
        NAME,
        "pretrained",
        "Encoder.from_hf reproduces pretrained MiniLM on real sentences",
        5,
        encoder_pretrained,
        model_hints(6, loaded=True),
        atol=WHOLE_MODEL,
        needs_weights=True,
    ),
)

# ---- known mistakes: exact edits of the reference that a learner plausibly makes -----------

MISTAKES = (
    Mistake(
        NAME,
        "no_attention_residual",
        "left out the residual around the attention",
        "x = self.norm1(x + attended)",
        "x = self.norm1(attended)",
    ),
    Mistake(
        NAME,
        "no_feed_forward_residual",
        "left out the residual around the feed-forward network",
        "x = self.norm2(x + self.ffn(x))",
        "x = self.norm2(self.ffn(x))",
    ),
    Mistake(
        NAME,
        "pre_norm_for_post_norm",
        "built a pre-norm layer where BERT is post-norm",
        "        if self.norm_first:\n",
        "        if True:\n",
    ),
    Mistake(
        NAME,
        "norms_swapped_in_loading",
        "loaded BERT's two layer norms into the wrong places",
        '"norm1": "attention.output.LayerNorm"',
        '"norm1": "output.LayerNorm"',
    ),
    Mistake(
        NAME,
        "query_key_swapped_in_loading",
        "loaded BERT's query weights into k_proj and key into q_proj",
        '"self_attn.q_proj": "attention.self.query",\n        "self_attn.k_proj": "attention.self.key",',
        '"self_attn.q_proj": "attention.self.key",\n        "self_attn.k_proj": "attention.self.query",',
    ),
    Mistake(
        NAME,
        "padding_mask_on_queries",
        "applied the padding mask along the query axis instead of the keys",
        "mask = attention_mask.bool()[:, None, None, :]",
        "mask = attention_mask.bool()[:, None, :, None]",
    ),
    Mistake(
        NAME,
        "inverted_key_mask",
        "built the key mask from attention_mask == 0, hiding the real tokens and keeping the padding",
        "mask = attention_mask.bool()[:, None, None, :]",
        "mask = (attention_mask == 0)[:, None, None, :]",
    ),
    Mistake(
        NAME,
        "attention_mask_ignored",
        "ignored the attention mask",
        "        if attention_mask is not None:\n            # Hide",
        "        if False:\n            # Hide",
    ),
    Mistake(
        NAME,
        "embeddings_missing_from_hidden_states",
        "left the embeddings out of hidden_states",
        "hidden_states, attentions = [x], []",
        "hidden_states, attentions = [], []",
    ),
    Mistake(
        NAME,
        "mask_not_passed_to_attention",
        "did not pass the mask on to self_attn in the post-norm layer",
        "attended, weights = self.self_attn(x, mask)",
        "attended, weights = self.self_attn(x)",
    ),
    Mistake(
        NAME,
        "pre_norm_attention_input_not_normalized",
        "gave self_attn the raw x instead of norm1(x) in the pre-norm layer",
        "self.self_attn(self.norm1(x), mask)",
        "self.self_attn(x, mask)",
    ),
    Mistake(
        NAME,
        "same_norm_for_both_sub_layers",
        "used norm1 around the feed-forward network too",
        "x = self.norm2(x + self.ffn(x))",
        "x = self.norm1(x + self.ffn(x))",
    ),
    Mistake(
        NAME,
        "eps_not_passed_to_norms",
        "built the layer norms without eps (LayerNorm's default 1e-5)",
        "        self.norm1 = LayerNorm(d_model, eps=eps)\n        self.norm2 = LayerNorm(d_model, eps=eps)\n",
        "        self.norm1 = LayerNorm(d_model)\n        self.norm2 = LayerNorm(d_model)\n",
    ),
    Mistake(
        NAME,
        "dropout_not_passed_to_attention",
        "did not pass dropout on to the attention",
        "MultiHeadAttention(d_model, num_heads, dropout=dropout)",
        "MultiHeadAttention(d_model, num_heads)",
    ),
    Mistake(
        NAME,
        "dropout_not_passed_to_feed_forward",
        "did not pass dropout on to the feed-forward network",
        "FeedForward(d_model, d_ff, activation=activation, dropout=dropout)",
        "FeedForward(d_model, d_ff, activation=activation)",
    ),
    Mistake(
        NAME,
        "activation_not_passed_to_feed_forward",
        "did not pass the activation on to the feed-forward network (always GELU)",
        "FeedForward(d_model, d_ff, activation=activation, dropout=dropout)",
        "FeedForward(d_model, d_ff, dropout=dropout)",
    ),
    Mistake(
        NAME,
        "unsupported_activation_accepted",
        "accepted any hidden_act, such as the tanh-approximated 'gelu_new'",
        'if bert_config.hidden_act not in ("gelu", "relu"):',
        "if False:",
    ),
    Mistake(
        NAME,
        "eps_not_read_from_config",
        "did not read layer_norm_eps from the BertConfig",
        "            eps=bert_config.layer_norm_eps,\n",
        "",
    ),
    Mistake(
        NAME,
        "biases_missing_from_weight_names",
        "listed only the weights, not the biases, in hf_weight_names",
        'for kind in ("weight", "bias"):',
        'for kind in ("weight",):',
    ),
    Mistake(
        NAME,
        "shapes_not_checked_in_loading",
        "copied weights without comparing their shapes",
        "if weight.shape != ours[our_name].shape:",
        "if False:",
    ),
    Mistake(
        NAME,
        "mode_not_kept_in_loading",
        "returned the new encoder in train mode whatever the model's mode",
        "return encoder.train(bert.training)",
        "return encoder",
    ),
    Mistake(
        NAME,
        "token_types_not_passed",
        "did not pass token_type_ids on to the embeddings",
        "x = self.embeddings(input_ids, token_type_ids)",
        "x = self.embeddings(input_ids)",
    ),
    Mistake(
        NAME,
        "one_layer_repeated",
        "filled the ModuleList with the same layer num_layers times",
        "            for _ in range(config.num_layers)\n        )\n",
        "            for _ in range(1)\n        )\n"
        "        self.layers = nn.ModuleList([self.layers[0]] * config.num_layers)\n",
    ),
    Mistake(
        NAME,
        "key_mask_without_broadcast_axes",
        "passed the (B, L) attention_mask to the layers without reshaping it to (B, 1, 1, L)",
        "mask = attention_mask.bool()[:, None, None, :]",
        "mask = attention_mask.bool()",
    ),
    Mistake(
        NAME,
        "bert_attribute_ignored",
        "did not unwrap a model whose .bert is the BertModel",
        'bert = getattr(bert_model, "bert", bert_model)',
        "bert = bert_model",
    ),
    Mistake(
        NAME,
        "hidden_state_kept_before_the_layer",
        "kept each layer's input instead of its output in hidden_states",
        "            x, weights = layer(x, mask)  # (B, L, D), (B, H, L, L)\n            hidden_states.append(x)\n",
        "            hidden_states.append(x)\n            x, weights = layer(x, mask)  # (B, L, D), (B, H, L, L)\n",
    ),
)

NUMPY_MISTAKES = (
    Mistake(
        NAME,
        "no_attention_residual",
        "left out the residual around the attention",
        "x = self.norm1(x + attended)",
        "x = self.norm1(attended)",
        track="numpy",
    ),
    Mistake(
        NAME,
        "pre_norm_for_post_norm",
        "built a pre-norm layer where BERT is post-norm",
        "        if self.norm_first:\n",
        "        if True:\n",
        track="numpy",
    ),
    Mistake(
        NAME,
        "in_place_residual",
        "added the residual in place (x += ...), which also changes the layer's input, kept in hidden_states",
        "            x = self.norm1(x + attended)  # (B, L, D)\n",
        "            x += attended\n            x = self.norm1(x)\n",
        track="numpy",
    ),
    Mistake(
        NAME,
        "query_key_swapped_in_loading",
        "loaded BERT's query weights into k_proj and key into q_proj",
        '"self_attn.q_proj": "attention.self.query",\n        "self_attn.k_proj": "attention.self.key",',
        '"self_attn.q_proj": "attention.self.key",\n        "self_attn.k_proj": "attention.self.query",',
        track="numpy",
    ),
    Mistake(
        NAME,
        "inverted_key_mask",
        "built the key mask from attention_mask == 0, hiding the real tokens and keeping the padding",
        "mask = attention_mask.astype(bool)[:, None, None, :]",
        "mask = (attention_mask == 0)[:, None, None, :]",
        track="numpy",
    ),
    Mistake(
        NAME,
        "padding_mask_on_queries",
        "applied the padding mask along the query axis instead of the keys",
        "mask = attention_mask.astype(bool)[:, None, None, :]",
        "mask = attention_mask.astype(bool)[:, None, :, None]",
        track="numpy",
    ),
)

# ---- graded hints: `kata hint encoder` shows one more each time --------------------------

HINTS = (
    "An EncoderLayer is two sub-layers. BERT is post-norm: each sub-layer's output is added "
    "to its input and the sum is normalised, first around self_attn with norm1, then around "
    "ffn with norm2. self_attn returns (out, weights): the layer returns the weights too. "
    "With norm_first=True each sub-layer's input is normalised instead, and the sum is not.",
    "Encoder.forward: turn the (B, L) attention_mask of ones and zeros into booleans of "
    "shape (B, 1, 1, L), which hide padded keys from every head and every query. Run the "
    "embeddings, then each layer in turn, keeping every x (the embeddings' too: num_layers "
    "+ 1 of them) and every layer's weights. EncoderConfig.from_hf reads the sizes off the "
    "BertConfig: hidden_size, num_attention_heads, num_hidden_layers, intermediate_size, "
    "max_position_embeddings, type_vocab_size, layer_norm_eps, hidden_act, and dropout from "
    "hidden_dropout_prob.",
    "Loading: print a BertModel's state_dict() keys next to your Encoder's and pair them up "
    "(hf_weight_names' docstring lists the pairs of a layer; weight and bias each). from_hf "
    "builds an Encoder from EncoderConfig.from_hf(bert.config), looks up each of its "
    "parameters' BERT weight, compares the shapes, loads them all with load_state_dict, and "
    "returns the encoder in the model's mode. Numbers still off? kata diverge \"a "
    'sentence" shows the first stage where your encoder and BERT part ways.',
)

# ---- kata diverge: what a stage computes and where to look, once every stage before it matched

DIVERGE = {
    "first norm": "The first norm of layer {layer}: norm1(x + attention output), the residual around "
    "the attention then a layer norm, in that order (BERT is post-norm). The attention "
    "output matched, so look at EncoderLayer.forward in {encoder} (is the layer's input "
    "added back, and is norm1 applied to the sum?), at the weights hf_weight_names loads "
    "into norm1 (attention.output.LayerNorm) and at the eps it is built with.",
    "second norm": "The second norm of layer {layer}, the layer's output: norm2(x + feed-forward "
    "output) with x the first norm's output. The feed-forward output matched, so look "
    "at EncoderLayer.forward in {encoder} (the residual around the feed-forward network, "
    "and norm2 rather than norm1) and at the weights hf_weight_names loads into norm2 "
    "(output.LayerNorm).",
}


# ---- what each check runs besides its own code: fix those first (kata/feedback/diagnosis.py uses)

USES = {
    "relu_layer": ("post_norm_layer",),
    "layer_dropout": ("post_norm_layer",),
    "forward": ("post_norm_layer",),
    "config": ("forward",),
    "from_tiny_bert": ("forward",),
    "from_wrapped_bert": ("from_tiny_bert",),
    "bad_weights": ("from_tiny_bert",),
    "pretrained": ("from_tiny_bert",),
}


# ---- no shortcuts: library calls this exercise's code may not make (kata/core/shortcuts.py) ----
# The grader scores 0 the checks of an exercise whose code calls one (and pytest says so first), nor may
# a later exercise's code. To allow a call in your course, remove its entry.

SHORTCUTS = (
    Shortcut(
        NAME,
        "torch.nn.TransformerEncoderLayer",
        "nn.TransformerEncoderLayer",
        "write it from your MultiHeadAttention, FeedForward and LayerNorm",
        "module",
    ),
    Shortcut(
        NAME,
        "torch.nn.TransformerEncoder",
        "nn.TransformerEncoder",
        "write it as an nn.ModuleList of your EncoderLayer",
        "module",
    ),
    Shortcut(
        NAME,
        HUGGING_FACE,
        "a Hugging Face model's forward",
        "from_hf must copy the model's weights into your own Encoder, never keep the model and call it",
        "forward",
    ),
)
