"""Plausible mistakes that are NOT in the catalogue (kata/course/*.py): the held-out set.

The catalogue proves that the mistakes we know are named. These prove that the mistakes we
did not list are never named *wrongly*: no diagnosis, from pytest's plugin or from the
grader, may say "this is exactly what you get if you ..." of a mistake the learner did not
make (maintainer_tests/test_held_out.py, run by CI with `pytest --solutions -m catalogue`).
Each is applied as the catalogue's are, an exact edit of the reference (kata.core.mistakes),
and none of them is ever added to it: a held-out mistake that the diagnosis should name
belongs in the catalogue instead, and a new one takes its place here.

RIGHT_PLACE says, for each, the words a useful pointer would use (the place to look, or the
idea that is wrong): a "looks like" diagnosis or a hint that mentions one of them points the
learner the right way; the test counts how many do.

Maintainer-only: nothing a learner runs, and nothing the grader gives a child, imports it.
"""

from collections.abc import Iterable
from dataclasses import replace

from kata.core.mistakes import Mistake

NORM_INSIDE_THE_RESIDUAL = Mistake(
    "encoder",
    "norm_inside_the_residual",
    "wrote x + norm1(attention) in the post-norm layer (the norm belongs around the sum)",
    "x = self.norm1(x + attended)  # (B, L, D)",
    "x = x + self.norm1(attended)  # (B, L, D)",
)

HELD_OUT: tuple[Mistake, ...] = (
    # ---- exercise 1: attention ----
    Mistake(
        "attention",
        "log_softmax_for_softmax",
        "took torch.log_softmax of the scores instead of torch.softmax",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.log_softmax(scores, dim=-1)",
    ),
    Mistake(
        "attention",
        "scaled_by_the_value_width",
        "divided the scores by the square root of v's width instead of q's",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(v.size(-1))",
    ),
    Mistake(
        "attention",
        "dropout_on_the_context",
        "applied dropout to the context (weights @ v) instead of to the weights",
        "    weights = F.dropout(weights, p=dropout_p)  # (..., L_q, L_k)\n    context = weights @ v  # (..., L_q, d_v)",
        "    context = F.dropout(weights @ v, p=dropout_p)  # (..., L_q, d_v)",
    ),
    Mistake(
        "attention",
        "hidden_scores_set_to_zero",
        "set the hidden scores to 0 instead of the dtype's most negative value",
        "torch.finfo(scores.dtype).min)",
        "0.0)",
    ),
    Mistake(
        "attention",
        "scaled_by_the_value_width",
        "divided the scores by the square root of v's width instead of q's",
        "scores = q @ k.swapaxes(-1, -2) / math.sqrt(d)",
        "scores = q @ k.swapaxes(-1, -2) / math.sqrt(v.shape[-1])",
        track="numpy",
    ),
    Mistake(
        "attention",
        "hidden_scores_set_to_zero",
        "set the hidden scores to 0 instead of the dtype's most negative value",
        "np.where(mask, scores, np.finfo(scores.dtype).min)",
        "np.where(mask, scores, 0.0)",
        track="numpy",
    ),
    # ---- exercise 2: multi-head attention ----
    Mistake(
        "multi_head",
        "weights_averaged_over_heads",
        "returned the attention weights averaged over the heads (B, L, L), as nn.MultiheadAttention does",
        "return out, weights",
        "return out, weights.mean(dim=1)",
    ),
    Mistake(
        "multi_head",
        "key_projection_used_for_values",
        "projected the values with k_proj",
        "v = split_heads(self.v_proj(x), self.num_heads)",
        "v = split_heads(self.k_proj(x), self.num_heads)",
    ),
    Mistake(
        "multi_head",
        "dropout_before_the_output_projection",
        "applied the output dropout before out_proj instead of after it",
        "out = self.dropout(self.out_proj(merge_heads(context)))",
        "out = self.out_proj(self.dropout(merge_heads(context)))",
    ),
    Mistake(
        "multi_head",
        "linear_without_bias",
        "left the bias out of Linear",
        "return x @ self.weight.T + self.bias",
        "return x @ self.weight.T",
        track="numpy",
    ),
    # ---- exercise 3: the feed-forward network ----
    Mistake(
        "feed_forward",
        "erf_of_half_x",
        "computed erf(x / 2) instead of erf(x / sqrt(2)) in gelu",
        "torch.erf(x / math.sqrt(2.0))",
        "torch.erf(x / 2.0)",
    ),
    Mistake(
        "feed_forward",
        "residual_inside_the_network",
        "added the input back inside FeedForward (the residual belongs to the encoder layer)",
        "return self.dropout(self.linear2(hidden))  # (B, L, D)",
        "return self.dropout(self.linear2(hidden)) + x  # (B, L, D)",
    ),
    Mistake(
        "feed_forward",
        "silu_for_gelu",
        "wrote x * sigmoid(x) (SiLU) for GELU",
        "return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))",
        "return x * torch.sigmoid(x)",
    ),
    Mistake(
        "feed_forward",
        "erf_of_half_x",
        "computed erf(x / 2) instead of erf(x / sqrt(2)) in gelu",
        "return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))",
        "return 0.5 * x * (1.0 + erf(x / 2.0))",
        track="numpy",
    ),
    # ---- exercise 4: layer norm ----
    Mistake(
        "layer_norm",
        "variance_over_the_first_axis",
        "took the variance over the first axis (the mean is right)",
        "variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
        "variance = ((x - mean) ** 2).mean(dim=0, keepdim=True)",
    ),
    Mistake(
        "layer_norm",
        "mean_over_the_first_axis",
        "took the mean over the first axis (the variance's axis is right)",
        "mean = x.mean(dim=-1, keepdim=True)  # (..., 1)",
        "mean = x.mean(dim=0, keepdim=True)  # (..., 1)",
    ),
    Mistake(
        "layer_norm",
        "shift_before_scale",
        "added the bias before multiplying by the weight",
        "return normalized * weight + bias  # (..., D)",
        "return (normalized + bias) * weight  # (..., D)",
    ),
    Mistake(
        "layer_norm",
        "variance_over_the_first_axis",
        "took the variance over the first axis (the mean is right)",
        "variance = x.var(axis=-1, keepdims=True)",
        "variance = x.var(axis=0, keepdims=True)",
        track="numpy",
    ),
    Mistake(
        "layer_norm",
        "mean_over_the_first_axis",
        "took the mean over the first axis (the variance is right)",
        "mean = x.mean(axis=-1, keepdims=True)  # (..., 1)",
        "mean = x.mean(axis=0, keepdims=True)  # (..., 1)",
        track="numpy",
    ),
    # ---- exercise 5: embeddings and positions ----
    Mistake(
        "positional",
        "table_buffer_under_another_name",
        "stored the sinusoidal table as a buffer named sinusoidal_table",
        'self.register_buffer("position_embeddings", table)',
        'self.register_buffer("sinusoidal_table", table)\n            self.position_embeddings = self.sinusoidal_table',
    ),
    Mistake(
        "positional",
        "base_1000",
        "used 1000 instead of 10000 as the base of the frequencies",
        "torch.exp(-math.log(10000.0) * even_columns / d_model)",
        "torch.exp(-math.log(1000.0) * even_columns / d_model)",
    ),
    Mistake(
        "positional",
        "token_types_only_when_some_are_not_zero",
        "added the token type embeddings only when some token is of type 1 (type 0 has an embedding too)",
        "token_types = self.token_type_embeddings(token_type_ids)  # (B, L, D)",
        "token_types = self.token_type_embeddings(token_type_ids) if token_type_ids.any() else 0.0",
    ),
    Mistake(
        "positional",
        "norm_on_the_words_only",
        "normalised the word embeddings alone, before adding the positions and token types",
        "summed = words + position_vectors + token_types  # (B, L, D)\n        return self.dropout(self.norm(summed))",
        "summed = self.norm(words) + position_vectors + token_types  # (B, L, D)\n        return self.dropout(summed)",
    ),
    Mistake(
        "positional",
        "base_1000",
        "used 1000 instead of 10000 as the base of the frequencies",
        "np.exp(-math.log(10000.0) * even_columns / d_model)",
        "np.exp(-math.log(1000.0) * even_columns / d_model)",
        track="numpy",
    ),
    # ---- exercise 6: the encoder ----
    NORM_INSIDE_THE_RESIDUAL,
    Mistake(
        "encoder",
        "feed_forward_width_assumed",
        "took the feed-forward width as 4 * hidden_size instead of reading intermediate_size",
        "d_ff=bert_config.intermediate_size,",
        "d_ff=4 * bert_config.hidden_size,",
    ),
    Mistake(
        "encoder",
        "feed_forward_on_the_attention_output",
        "fed the attention output to the feed-forward network instead of the normalised sum",
        "x = self.norm2(x + self.ffn(x))  # (B, L, D)",
        "x = self.norm2(x + self.ffn(attended))  # (B, L, D)",
    ),
    Mistake(
        "encoder",
        "integer_mask_passed_on",
        "passed the 0/1 attention_mask on to the layers as integers instead of booleans",
        "mask = attention_mask.bool()[:, None, None, :]",
        "mask = attention_mask[:, None, None, :]",
    ),
    Mistake(
        "encoder",
        "norms_swapped_in_the_layer",
        "used norm2 after the attention and norm1 after the feed-forward network",
        "            x = self.norm1(x + attended)  # (B, L, D)\n            x = self.norm2(x + self.ffn(x))  # (B, L, D)",
        "            x = self.norm2(x + attended)  # (B, L, D)\n            x = self.norm1(x + self.ffn(x))  # (B, L, D)",
    ),
    replace(NORM_INSIDE_THE_RESIDUAL, track="numpy"),  # the same edit: both tracks read alike there
    # ---- exercise 7 (optional): sentence embeddings ----
    Mistake(
        "embeddings",
        "divided_by_the_square_root_of_the_count",
        "divided the sum of the real tokens by the square root of their number",
        "count = mask.sum(dim=1).clamp(min=1e-9)",
        "count = mask.sum(dim=1).clamp(min=1e-9).sqrt()",
    ),
)

# test_id -> words (lower case) that a useful pointer to the mistake would use.
RIGHT_PLACE: dict[str, tuple[str, ...]] = {
    "attention-log_softmax_for_softmax": ("softmax", "sum to 1"),
    "attention-scaled_by_the_value_width": ("sqrt", "scale", "scaled"),
    "attention-dropout_on_the_context": ("dropout",),
    "attention-hidden_scores_set_to_zero": ("finfo", "hidden", "mask"),
    "numpy-attention-scaled_by_the_value_width": ("sqrt", "scale", "scaled"),
    "numpy-attention-hidden_scores_set_to_zero": ("finfo", "hidden", "mask"),
    "multi_head-weights_averaged_over_heads": ("(b, h, l, l)", "heads", "shape"),
    "multi_head-key_projection_used_for_values": ("v_proj", "value projection"),
    "multi_head-dropout_before_the_output_projection": ("dropout",),
    "numpy-multi_head-linear_without_bias": ("bias", "linear"),
    "feed_forward-erf_of_half_x": ("erf", "gelu"),
    "feed_forward-residual_inside_the_network": ("residual", "linear2", "input"),
    "feed_forward-silu_for_gelu": ("erf", "gelu", "sigmoid"),
    "numpy-feed_forward-erf_of_half_x": ("erf", "gelu"),
    "layer_norm-variance_over_the_first_axis": ("variance", "last axis", "axis"),
    "layer_norm-mean_over_the_first_axis": ("mean", "last axis", "axis"),
    "layer_norm-shift_before_scale": ("bias", "weight", "scale", "shift"),
    "numpy-layer_norm-variance_over_the_first_axis": ("variance", "last axis", "axis"),
    "numpy-layer_norm-mean_over_the_first_axis": ("mean", "last axis", "axis"),
    "positional-table_buffer_under_another_name": ("buffer", "position_embeddings"),
    "positional-base_1000": ("10000", "frequenc", "exponent"),
    "positional-token_types_only_when_some_are_not_zero": ("token type", "token_type"),
    "positional-norm_on_the_words_only": ("norm", "sum"),
    "numpy-positional-base_1000": ("10000", "frequenc", "exponent"),
    "encoder-norm_inside_the_residual": ("residual", "norm1"),
    "encoder-feed_forward_width_assumed": ("intermediate_size", "d_ff", "config"),
    "encoder-feed_forward_on_the_attention_output": ("ffn", "feed-forward", "residual"),
    "encoder-integer_mask_passed_on": ("bool", "mask"),
    "encoder-norms_swapped_in_the_layer": ("norm1", "norm2", "layer norm"),
    "numpy-encoder-norm_inside_the_residual": ("residual", "norm1"),
    "embeddings-divided_by_the_square_root_of_the_count": ("count", "number of", "divide"),
}


def in_the_catalogue(mistake: Mistake) -> Mistake | None:
    """The catalogue's mistake that `mistake` is, under another name (the same exercise and track,
    the same code once applied), or None."""
    from kata.course import mistakes_for

    source = mistake.solution_file.read_text()
    mine = mistake.apply(source)
    return next(
        (known for known in mistakes_for(mistake.exercise, mistake.track) if known.apply(source) == mine),
        None,
    )


def verdict(mistake: Mistake, told: Iterable[str]) -> tuple[str, str]:
    """What the learner was told of `mistake`, from the lines of pytest's and the grader's output,
    and the line that decides it:

    "false exactly"  a diagnosis says "exactly" (the mistake is in no catalogue: it is false);
    "looks like"     a "looks like" diagnosis that uses a word of RIGHT_PLACE (a related mistake);
    "pointer"        no such diagnosis, but a message or hint that uses one;
    "misled"         only a "looks like" diagnosis, and nothing uses a word of the right place;
    "nothing"        none of these.

    pytest's own lines (test headers, the short summary) are not read: only what the kata says."""
    from kata.feedback.diagnosis import EXACTLY, LOOKS_LIKE

    lines = [line.strip() for line in told if not line.startswith(("_", "=", "FAILED ", "ERROR "))]
    words = RIGHT_PLACE[mistake.test_id]
    right = [line for line in lines if any(word in line.lower() for word in words)]
    for said, found in (
        ("false exactly", [line for line in lines if EXACTLY in line]),
        ("looks like", [line for line in right if LOOKS_LIKE in line]),
        ("pointer", right),
        ("misled", [line for line in lines if LOOKS_LIKE in line]),
    ):
        if found:
            return said, found[0]
    return "nothing", ""
