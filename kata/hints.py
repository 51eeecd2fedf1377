"""Graded hints, one more each time a learner asks: `python grader.py --hint attention`.

Each exercise has two or three hints, from a nudge towards the idea to nearly the answer,
never the code itself. How many of each exercise's hints were shown is remembered in
`.kata-hints.json` at the top of the repository (or in $KATA_STATE_DIR), so asking again
gives the next one, after the earlier ones, numbered.
"""

import json
import os
import textwrap
from pathlib import Path

from . import COURSE, REPO
from .report import write_json

STATE_FILE = ".kata-hints.json"

HINTS = {
    "attention": (
        "Start from the equation in the docstring, softmax(q k^T / sqrt(d)) v, and leave the "
        "mask for later: get the tests without a mask passing first. Each step is one tensor "
        "operation on the last two axes, so the leading '...' axes take care of themselves.",
        "k^T swaps the last two axes of k (Tensor.transpose takes the two axes to swap; .T "
        "would reverse every axis of a batched k). d is the width of one query, the size of q's "
        "last axis. The "
        "scores have shape (..., L_q, L_k) and each query's row of weights must sum to 1: "
        "which axis does the softmax run over?",
        "The mask goes in before the softmax: where it is False, replace the score with the "
        "most negative finite number of the scores' dtype (torch.finfo tells you what it is; "
        "masked_fill does the replacing, and ~mask turns 'may attend' into 'hidden'). Not -inf: "
        "a row with every key hidden would become NaN. Then softmax, F.dropout with "
        "p=dropout_p, the product with v, and return the output and the weights.",
    ),
    "multi_head": (
        "Write split_heads and merge_heads first: they are pure reshaping and tested on their "
        "own. Picture one token's vector of width D as H consecutive pieces of width Dh. Head h "
        "owns piece h of every token, so splitting cuts each token's vector, then gathers each "
        "head's pieces into a sequence of its own.",
        "split_heads is a view that cuts the last axis, giving (B, L, H, Dh), then a transpose "
        "of the length and head axes. Viewing straight to (B, H, L, Dh) has the right shape and "
        "the wrong numbers. merge_heads undoes the two steps in reverse order; after a transpose "
        "the memory is out of order, so the final flatten needs .reshape (or .contiguous() "
        "before .view).",
        "In __init__, check that d_model divides by num_heads before building anything, and "
        "name both numbers in the ValueError. In forward, project x with q_proj, k_proj and "
        "v_proj, split each into heads, and give them to your scaled_dot_product_attention with "
        "the mask as it is (a (B, 1, 1, L) mask broadcasts over heads and queries). Pass "
        "dropout_p=self.dropout.p only while self.training. Merge the heads, then out_proj, "
        "then dropout.",
    ),
    "feed_forward": (
        "GELU(x) is x times Phi(x), the probability that a standard normal variable is below x. "
        "Phi can be written with the error function, which torch has: the docstring gives the "
        "equation. The tanh formula you may have seen is an approximation, about 1e-3 off, "
        "which the tests notice.",
        "FeedForward is linear1 (D to d_ff), the activation on that wide hidden layer, linear2 "
        "(d_ff back to D), then dropout on the output. nn.Linear takes its sizes in the order the "
        "data flows, (in_features, out_features).",
        "Choose the activation once, in __init__: a small dict from the names 'gelu' and 'relu' "
        "to functions (your gelu, torch.relu) works well; an unknown name raises ValueError that "
        "says which name it got. forward is then two lines.",
    ),
    "layer_norm": (
        "Each position's vector is normalised on its own: the mean and the variance are taken "
        "over the last axis only, with keepdim=True so that they broadcast back against x.",
        "The variance is the biased one, the mean of the squared deviations (divide by D). "
        "torch.var divides by D - 1 unless you pass correction=0 (unbiased=False in older "
        "versions). eps is added to the variance, inside the square root.",
        "After normalising, multiply by weight and add bias, both of shape (D,): broadcasting "
        "lines them up with the last axis. In LayerNorm, keep eps, and make weight (ones) and "
        "bias (zeros) nn.Parameter, so that they are trained and loaded with the rest; forward "
        "calls your layer_norm.",
    ),
    "positional": (
        "For the sinusoidal table, build a column of positions, shape (max_len, 1), and a row "
        "of frequencies, one per pair of columns. Their product broadcasts to a grid of angles; "
        "the sines of the angles fill the even columns and the cosines the odd ones (slicing "
        "with a step, table[:, 0::2], addresses every other column).",
        "The frequency of columns 2i and 2i + 1 is 1 / 10000^(2i / D): the exponent uses the "
        "even column index 2i, not i, and positions start at 0. exp(-log(10000) * 2i / D) is the "
        "same number without huge powers. With an odd D there is one cosine column fewer than "
        "sine columns.",
        "Embeddings.forward: check L = input_ids.size(1) against max_len first; then look up the "
        "words, the positions 0 .. L-1 (torch.arange) and the token types (all zeros when none "
        "are given), add the three, normalise, and apply dropout. For 'sinusoidal', store the "
        "table with register_buffer (saved, never trained) and index it by position instead of "
        "calling it.",
    ),
    "encoder": (
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
        "returns the encoder in the model's mode. Numbers still off? python -m kata.diverge \"a "
        'sentence" shows the first stage where your encoder and BERT part ways.',
    ),
}


def state_path(folder=None):
    """The file that remembers the hints shown: in `folder`, else $KATA_STATE_DIR, else the repository."""
    return Path(folder or os.environ.get("KATA_STATE_DIR") or REPO) / STATE_FILE


def shown_counts(path):
    """{exercise: number of hints shown}; a missing or unreadable file means none yet."""
    try:
        counts = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(counts, dict):
        return {}
    return {name: count for name, count in counts.items() if name in HINTS and isinstance(count, int)}


def next_hint(exercise, path=None):
    """Reveal one more hint of `exercise` (remembered in `path`) and return the text to show:
    every hint revealed so far, numbered, and whether more are left."""
    path = path or state_path()
    hints = HINTS[exercise]
    counts = shown_counts(path)
    already = min(counts.get(exercise, 0), len(hints))
    revealed = min(already + 1, len(hints))
    if revealed != counts.get(exercise):
        write_json(path, {**counts, exercise: revealed})
    lines = [f"Hints for exercise {COURSE.index(exercise) + 1}, {exercise}.py:"]
    for number, hint in enumerate(hints[:revealed], start=1):
        lines += [
            "",
            f"Hint {number} of {len(hints)}:",
            textwrap.fill(hint, width=92, initial_indent="  ", subsequent_indent="  "),
        ]
    if already == len(hints):
        ending = (
            f"No more hints for {exercise}: you have seen all {len(hints)}. The failing tests say "
            f"what is off and where: pytest tests/test_{exercise}.py"
        )
    elif revealed < len(hints):
        ending = f"Still stuck? python grader.py --hint {exercise} shows the next one."
    else:
        ending = f"That was the last hint for {exercise}."
    return "\n".join([*lines, "", textwrap.fill(ending, width=94)])
