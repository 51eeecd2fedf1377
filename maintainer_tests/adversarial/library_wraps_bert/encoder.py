"""Exercise 6: the encoder layer, the full encoder, and loading real BERT weights.

An encoder layer is two sub-layers, attention then feed-forward, each wrapped in a
residual connection and a layer norm. BERT (like the original Transformer) normalises
after adding the residual ("post-norm"); most newer models normalise the sub-layer's
input instead ("pre-norm"), which trains more stably when deep.

    post-norm:  x = LayerNorm(x + Sublayer(x))               (Vaswani et al., 2017, sec. 5.4)
    pre-norm:   x = x + Sublayer(LayerNorm(x))               (Xiong et al., 2020)

The encoder is the embeddings followed by a stack of such layers. `Encoder.from_hf`
copies the weights of a Hugging Face `BertModel` into it, so that with real pretrained
weights it computes exactly what `BertModel` computes.

Hugging Face counterparts: `BertLayer` (our EncoderLayer), `BertEncoder` plus
`BertEmbeddings` (our Encoder), `BertModel` without its pooler.

Shapes: B batch, L length, D width, H heads.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn

from .feed_forward import FeedForward
from .layer_norm import LayerNorm
from .multi_head import MultiHeadAttention
from .positional import Embeddings


class EncoderLayer(nn.Module):
    """One encoder layer: self-attention, then feed-forward, each with a residual and a norm.

    Args:
        d_model, num_heads, d_ff: D, H and F.
        eps: the LayerNorms' eps (BERT: 1e-12).
        dropout: passed to the attention and the feed-forward network.
        activation: the feed-forward activation, "gelu" or "relu".
        norm_first: False for BERT's post-norm layer, True for a pre-norm layer.

    Sub-modules: self_attn (MultiHeadAttention), ffn (FeedForward), norm1 (around the
    attention), norm2 (around the feed-forward), both LayerNorm.

    Forward:
        x: (B, L, D). mask: optional boolean, broadcastable to (B, H, L, L).
        Returns (x (B, L, D), the attention weights (B, H, L, L)).

    Steps (forward), post-norm:
        1. attended, weights = self_attn(x, mask); x = norm1(x + attended)
        2. x = norm2(x + ffn(x))
    Pre-norm instead normalises each sub-layer's input and adds the raw result:
        x = x + self_attn(norm1(x)); x = x + ffn(norm2(x)).
    """

    def __init__(
        self,
        d_model,
        num_heads,
        d_ff,
        eps=1e-12,
        dropout=0.0,
        activation="gelu",
        norm_first=False,
    ):
        super().__init__()
        # BEGIN SOLUTION
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ffn = FeedForward(d_model, d_ff, activation=activation, dropout=dropout)
        self.norm1 = LayerNorm(d_model, eps=eps)
        self.norm2 = LayerNorm(d_model, eps=eps)
        # END SOLUTION

    def forward(self, x, mask=None):
        # BEGIN SOLUTION
        if self.norm_first:
            attended, weights = self.self_attn(self.norm1(x), mask)  # (B, L, D), (B, H, L, L)
            x = x + attended  # (B, L, D)
            x = x + self.ffn(self.norm2(x))  # (B, L, D)
        else:
            attended, weights = self.self_attn(x, mask)  # (B, L, D), (B, H, L, L)
            # The residual lets each layer learn a correction to x instead of a new x.
            x = self.norm1(x + attended)  # (B, L, D)
            x = self.norm2(x + self.ffn(x))  # (B, L, D)
        return x, weights
        # END SOLUTION


@dataclass
class EncoderConfig:
    """The sizes and choices that define an Encoder (BERT-base: 30522, 768, 12, 12, 3072, 512)."""

    vocab_size: int
    d_model: int
    num_heads: int
    num_layers: int
    d_ff: int
    max_len: int
    type_vocab_size: int = 2
    eps: float = 1e-12
    dropout: float = 0.0
    activation: str = "gelu"
    norm_first: bool = False
    positional: str = "learned"

    @classmethod
    def from_hf(cls, bert_config):
        """Read an EncoderConfig off a Hugging Face `BertConfig`.

        Sizes from hidden_size, num_attention_heads, num_hidden_layers, intermediate_size,
        max_position_embeddings and type_vocab_size; eps from layer_norm_eps; activation
        from hidden_act; dropout from hidden_dropout_prob (BERT's attention dropout,
        attention_probs_dropout_prob, is the same 0.1).

        Raises ValueError for what this encoder does not implement (an activation
        other than exact "gelu" or "relu", or relative position embeddings). Given code
        (`_check_bert_config`, below) first refuses, with a ValueError naming it, a config
        that is not BERT's (RoBERTa, DistilBERT, GPT-2, ...) or a BERT set up as a decoder.
        """
        _check_bert_config(bert_config, f"EncoderConfig.from_hf({type(bert_config).__name__})")
        # BEGIN SOLUTION
        if bert_config.hidden_act not in ("gelu", "relu"):
            raise ValueError(f"hidden_act={bert_config.hidden_act!r} is not supported: use 'gelu' or 'relu'")
        position_type = getattr(bert_config, "position_embedding_type", "absolute")
        if position_type != "absolute":
            raise ValueError(f"position_embedding_type={position_type!r} is not supported: use 'absolute'")
        return cls(
            vocab_size=bert_config.vocab_size,
            d_model=bert_config.hidden_size,
            num_heads=bert_config.num_attention_heads,
            num_layers=bert_config.num_hidden_layers,
            d_ff=bert_config.intermediate_size,
            max_len=bert_config.max_position_embeddings,
            type_vocab_size=bert_config.type_vocab_size,
            eps=bert_config.layer_norm_eps,
            dropout=bert_config.hidden_dropout_prob,
            activation=bert_config.hidden_act,
        )
        # END SOLUTION


@dataclass
class EncoderOutput:
    """What Encoder.forward returns; the same field names as Hugging Face's BertModel output."""

    last_hidden_state: torch.Tensor  # (B, L, D)
    hidden_states: tuple  # num_layers + 1 tensors (B, L, D), the embeddings first
    attentions: tuple  # num_layers tensors (B, H, L, L)


def hf_weight_names(num_layers):
    """Map each of our parameter names to the name of the same weight in a Hugging Face BertModel.

    Returns:
        a dict such as {"layers.0.self_attn.q_proj.weight":
        "encoder.layer.0.attention.self.query.weight", ...} that covers every
        parameter of Encoder (embeddings and every layer, weights and biases).

    Steps:
        1. Print a BertModel's state_dict() keys and our Encoder's; pair them up.
        2. The embeddings' names are nearly the same; the norm is called LayerNorm.
        3. In each layer: query/key/value live in attention.self, our out_proj is
           attention.output.dense, norm1 is attention.output.LayerNorm, linear1 is
           intermediate.dense, linear2 is output.dense, norm2 is output.LayerNorm.
    """
    # BEGIN SOLUTION
    embedding_names = {
        "embeddings.word_embeddings": "embeddings.word_embeddings",
        "embeddings.position_embeddings": "embeddings.position_embeddings",
        "embeddings.token_type_embeddings": "embeddings.token_type_embeddings",
        "embeddings.norm": "embeddings.LayerNorm",
    }
    layer_names = {  # ours -> BertLayer's
        "self_attn.q_proj": "attention.self.query",
        "self_attn.k_proj": "attention.self.key",
        "self_attn.v_proj": "attention.self.value",
        "self_attn.out_proj": "attention.output.dense",
        "norm1": "attention.output.LayerNorm",
        "ffn.linear1": "intermediate.dense",
        "ffn.linear2": "output.dense",
        "norm2": "output.LayerNorm",
    }
    names = {f"{ours}.weight": f"{theirs}.weight" for ours, theirs in embedding_names.items()}
    names["embeddings.norm.bias"] = "embeddings.LayerNorm.bias"
    for i in range(num_layers):
        for ours, theirs in layer_names.items():
            for kind in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{kind}"] = f"encoder.layer.{i}.{theirs}.{kind}"
    return names
    # END SOLUTION


class Encoder(nn.Module):
    """A BERT-style encoder: embeddings, then num_layers encoder layers.

    Args:
        config: an EncoderConfig.

    Sub-modules: embeddings (Embeddings), layers (nn.ModuleList of EncoderLayer).

    Forward:
        input_ids: (B, L) token ids.
        attention_mask: optional (B, L) of 1 (token) and 0 (padding), as Hugging Face
            tokenizers return it. Padded keys are hidden from every query.
        token_type_ids: optional (B, L) segment ids.
        Given code (`_check_inputs`, below) raises ValueError naming both shapes when
        attention_mask or token_type_ids is not the shape of input_ids.
        Returns an EncoderOutput with last_hidden_state (B, L, D), hidden_states (the
        embeddings' output, then every layer's: num_layers + 1 tensors) and
        attentions (num_layers tensors (B, H, L, L)).

    Steps (forward):
        1. Turn attention_mask (B, L) into a boolean key mask (B, 1, 1, L): it then
           broadcasts over heads and queries.
        2. x = embeddings(...); run x through every layer, keeping each x and weights.
    """

    def __init__(self, config):
        super().__init__()
        # BEGIN SOLUTION
        self.config = config
        self.embeddings = Embeddings(
            config.vocab_size,
            config.d_model,
            config.max_len,
            type_vocab_size=config.type_vocab_size,
            eps=config.eps,
            dropout=config.dropout,
            positional=config.positional,
        )
        self.layers = nn.ModuleList(
            EncoderLayer(
                config.d_model,
                config.num_heads,
                config.d_ff,
                eps=config.eps,
                dropout=config.dropout,
                activation=config.activation,
                norm_first=config.norm_first,
            )
            for _ in range(config.num_layers)
        )
        # END SOLUTION

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        _check_inputs(input_ids, attention_mask, token_type_ids)  # given: one value per token
        # BEGIN SOLUTION
        mask = None
        if attention_mask is not None:
            # Hide padded keys (the last axis); padded queries still get an output,
            # which nobody should read.
            mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L)
        x = self.embeddings(input_ids, token_type_ids)  # (B, L, D)
        hidden_states, attentions = [x], []
        for layer in self.layers:
            x, weights = layer(x, mask)  # (B, L, D), (B, H, L, L)
            hidden_states.append(x)
            attentions.append(weights)
        return EncoderOutput(x, tuple(hidden_states), tuple(attentions))
        # END SOLUTION

    @classmethod
    def from_hf(cls, bert_model):
        """Build an Encoder from a Hugging Face BertModel (or a model whose .bert is one).

        Every one of our parameters is copied from the weight `hf_weight_names` pairs it
        with; weights we have no use for (the pooler, task heads) are ignored. A
        missing weight raises KeyError and a misshapen one ValueError, each naming it.
        The encoder comes back in the model's mode (eval() if the model was in eval()).

        Anything but a BERT encoder (RoBERTa, DistilBERT, GPT-2, a BERT set up as a
        decoder) is refused first, by given code (`_check_bert_model`, below): a ValueError
        naming what it got and what is accepted.
        """
        _check_bert_model(bert_model)  # given: a BERT encoder, or an error naming what it is
        bert = getattr(bert_model, "bert", bert_model)
        bert.state_dict()[hf_weight_names(1)["layers.0.norm1.weight"]]  # a missing weight raises KeyError
        for our_name, their_name in hf_weight_names(bert.config.num_hidden_layers).items():
            if their_name not in bert.state_dict():
                raise KeyError(f"the Hugging Face model has no weight {their_name!r} (for our {our_name!r})")
        return _Wrapped(bert)


# ---- given code, kept as it is in exercises/: the inputs' checks (not part of the exercise) ----


def _check_bert_config(config, what):
    """Refuse, before anything is read off it, a config this encoder would silently get wrong.

    It implements BERT's encoder: not RoBERTa (whose positions start after the padding
    index), DistilBERT or GPT-2 (other names, other layers), nor a BERT set up as a
    decoder (causal attention) or with cross-attention. `what` names the call, for the message.
    """
    model_type = getattr(config, "model_type", None)
    if model_type != "bert":
        raise ValueError(
            f"{what}: a {type(config).__name__} (model_type={model_type!r}) is not BERT; this encoder "
            "implements BERT only: pass a BertModel, a model whose .bert is one, or a BertConfig "
            "(model_type 'bert')"
        )
    if getattr(config, "is_decoder", False):
        raise ValueError(
            f"{what}: this BERT is configured as a decoder (is_decoder=True): each token attends only "
            "to the ones before it, where this encoder lets every token attend to every token; "
            "use a BERT with is_decoder=False"
        )
    if getattr(config, "add_cross_attention", False):
        raise ValueError(
            f"{what}: this BERT has cross-attention (add_cross_attention=True), layers that also attend "
            "to another encoder's outputs, which this encoder has not; use a BERT without it"
        )


def _check_bert_model(bert_model):
    """Refuse anything but a Hugging Face BertModel (or a model whose .bert is one), before reading it."""
    inner = getattr(bert_model, "bert", bert_model)  # the BertModel itself, or the .bert of one
    what = f"Encoder.from_hf({type(bert_model).__name__})"
    config = getattr(inner, "config", None)
    if config is None or not callable(getattr(inner, "state_dict", None)):
        raise TypeError(
            f"{what}: expected a Hugging Face BertModel or a model whose .bert is one, "
            "with a .config and a state_dict()"
        )
    _check_bert_config(config, what)


def _check_inputs(input_ids, attention_mask, token_type_ids):
    """Refuse an attention_mask or token_type_ids that is not one value per token of input_ids (B, L).

    A mask of another length would broadcast (a (B, 1) mask of ones hides nothing, whatever
    the padding) or fail deep inside the attention.
    """
    for name, value in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
        if value is not None and tuple(value.shape) != tuple(input_ids.shape):
            raise ValueError(
                f"{name} of shape {tuple(value.shape)} does not match input_ids of shape "
                f"{tuple(input_ids.shape)}: it holds one value per token, (B, L)"
            )


class _Wrapped(nn.Module):
    """Not an encoder of ours: the Hugging Face model itself, called."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert
        self.config = EncoderConfig.from_hf(bert.config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        out = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_hidden_states=True,
            output_attentions=True,
        )
        return EncoderOutput(out.last_hidden_state, tuple(out.hidden_states), tuple(out.attentions))
