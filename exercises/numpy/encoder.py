# Generated from solutions/numpy/encoder.py by `kata stubs`. This file is yours:
# replace every `raise NotImplementedError` with your code, then run
# `pytest tests/test_encoder.py --track numpy` to check it.
# Same as solutions/encoder.py: module docstring except "Exercise 6", "The encoder is the embeddings"
"""Exercise 6 (NumPy track): the encoder layer, the full encoder, and loading real BERT weights.

An encoder layer is two sub-layers, attention then feed-forward, each wrapped in a
residual connection and a layer norm. BERT (like the original Transformer) normalises
after adding the residual ("post-norm"); most newer models normalise the sub-layer's
input instead ("pre-norm"), which trains more stably when deep.

    post-norm:  x = LayerNorm(x + Sublayer(x))               (Vaswani et al., 2017, sec. 5.4)
    pre-norm:   x = x + Sublayer(LayerNorm(x))               (Xiong et al., 2020)

The encoder is the embeddings followed by a stack of such layers. `Encoder.from_hf`
copies the weights of a Hugging Face `BertModel` into arrays, so that with real
pretrained weights it computes what `BertModel` computes, with no framework at all.

Hugging Face counterparts: `BertLayer` (our EncoderLayer), `BertEncoder` plus
`BertEmbeddings` (our Encoder), `BertModel` without its pooler.

Shapes: B batch, L length, D width, H heads.
"""

from dataclasses import dataclass

import numpy as np

from .feed_forward import FeedForward
from .layer_norm import LayerNorm
from .multi_head import MultiHeadAttention
from .positional import Embeddings


# Same as solutions/encoder.py: EncoderLayer docstring except "Args", "Pitfalls"
class EncoderLayer:
    """One encoder layer: self-attention, then feed-forward, each with a residual and a norm.

    Args:
        d_model, num_heads, d_ff: D, H and F.
        eps: the LayerNorms' eps (BERT: 1e-12).
        dropout: passed to the attention and the feed-forward network (inference only:
            never applied).
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

    Pitfalls:
        - Write x = x + ..., never x += ...: the in-place form changes the array the
          caller passed in (and the hidden state the encoder already kept).
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
        raise NotImplementedError("exercise 6, encoder.py: write EncoderLayer.__init__")

    # Same as solutions/encoder.py: EncoderLayer.forward
    def forward(self, x, mask=None):
        raise NotImplementedError("exercise 6, encoder.py: write EncoderLayer.forward")

    __call__ = forward


# Same as solutions/encoder.py: EncoderConfig
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
        raise NotImplementedError("exercise 6, encoder.py: write EncoderConfig.from_hf")


# Same as solutions/encoder.py: EncoderOutput with torch.Tensor->np.ndarray, tensors->arrays
@dataclass
class EncoderOutput:
    """What Encoder.forward returns; the same field names as Hugging Face's BertModel output."""

    last_hidden_state: np.ndarray  # (B, L, D)
    hidden_states: tuple  # num_layers + 1 arrays (B, L, D), the embeddings first
    attentions: tuple  # num_layers arrays (B, H, L, L)


# Same as solutions/encoder.py: hf_weight_names code
# Same as solutions/encoder.py: hf_weight_names docstring except "Returns", "Steps"
def hf_weight_names(num_layers):
    """Map each of our parameter names to the name of the same weight in a Hugging Face BertModel.

    Returns:
        a dict such as {"layers.0.self_attn.q_proj.weight":
        "encoder.layer.0.attention.self.query.weight", ...} that covers every
        parameter of Encoder (embeddings and every layer, weights and biases). Our
        name is the path of attributes to the array: encoder.layers[0].self_attn.q_proj.weight.

    Steps:
        1. Print a BertModel's state_dict() keys; pair them up with our attributes.
        2. The embeddings' names are nearly the same; the norm is called LayerNorm.
        3. In each layer: query/key/value live in attention.self, our out_proj is
           attention.output.dense, norm1 is attention.output.LayerNorm, linear1 is
           intermediate.dense, linear2 is output.dense, norm2 is output.LayerNorm.
    """
    raise NotImplementedError("exercise 6, encoder.py: write hf_weight_names")


def _owner_of(module, name):
    """(the object holding the array `name`, the array's attribute) for a dotted name.

    _owner_of(encoder, "layers.0.norm1.weight") is (encoder.layers[0].norm1, "weight");
    a number in the path indexes a list.
    """
    *path, attribute = name.split(".")
    for part in path:
        module = module[int(part)] if part.isdigit() else getattr(module, part)
    return module, attribute


# Same as solutions/encoder.py: Encoder docstring except "Sub-modules", "Forward", "Steps"
class Encoder:
    """A BERT-style encoder: embeddings, then num_layers encoder layers.

    Args:
        config: an EncoderConfig.

    Sub-modules: embeddings (Embeddings), layers (a list of EncoderLayer).

    Forward:
        input_ids: (B, L) token ids.
        attention_mask: optional (B, L) of 1 (token) and 0 (padding), as Hugging Face
            tokenizers return it. Padded keys are hidden from every query.
        token_type_ids: optional (B, L) segment ids.
        Given code (`_check_inputs`, below) raises ValueError naming both shapes when
        attention_mask or token_type_ids is not the shape of input_ids.
        Returns an EncoderOutput with last_hidden_state (B, L, D), hidden_states (the
        embeddings' output, then every layer's: num_layers + 1 arrays) and
        attentions (num_layers arrays (B, H, L, L)).

    Steps (forward):
        1. Turn attention_mask (B, L) into a boolean key mask (B, 1, 1, L)
           (attention_mask.astype(bool)[:, None, None, :]): it then broadcasts over
           heads and queries.
        2. x = embeddings(...); run x through every layer, keeping each x and weights.
    """

    def __init__(self, config):
        raise NotImplementedError("exercise 6, encoder.py: write Encoder.__init__")

    # Same as solutions/encoder.py: Encoder.forward with .bool()->.astype(bool)
    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        _check_inputs(input_ids, attention_mask, token_type_ids)  # given: one value per token
        raise NotImplementedError("exercise 6, encoder.py: write Encoder.forward")

    __call__ = forward

    # Same as solutions/encoder.py: Encoder.from_hf docstring except "Every one of our", "Steps"
    @classmethod
    def from_hf(cls, bert_model):
        """Build an Encoder from a Hugging Face BertModel (or a model whose .bert is one).

        Every one of our arrays is replaced by a copy of the weight `hf_weight_names`
        pairs it with (tensor.numpy() is a view of a CPU tensor's memory as an array of
        its dtype, so a float64 model gives a float64 encoder); weights we have no use for
        (the pooler, task heads) are ignored. A missing weight raises KeyError and a
        misshapen one ValueError, each naming it. Inference only: the encoder has no
        train mode, whatever the model's mode.

        Anything but a BERT encoder (RoBERTa, DistilBERT, GPT-2, a BERT set up as a
        decoder) is refused first, by given code (`_check_bert_model`, below): a ValueError
        naming what it got and what is accepted.

        Steps:
            1. bert = the model's .bert if it has one; build cls(EncoderConfig.from_hf(bert.config)).
            2. theirs = bert.state_dict(); for each pair of names: check, then
               setattr(*_owner_of(encoder, our_name), theirs[their_name].numpy().copy()).
        """
        _check_bert_model(bert_model)  # given: a BERT encoder, or an error naming what it is
        raise NotImplementedError("exercise 6, encoder.py: write Encoder.from_hf")


# ---- given code, kept as it is in exercises/: the inputs' checks (not part of the exercise) ----


# Same as solutions/encoder.py: _check_bert_config
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


# Same as solutions/encoder.py: _check_bert_model
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


# Same as solutions/encoder.py: _check_inputs
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
