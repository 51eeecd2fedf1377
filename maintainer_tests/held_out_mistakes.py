"""Plausible mistakes that are NOT in the catalogue (kata/course/*.py): the held-out set.

The catalogue proves that the mistakes we know are named. These prove that the mistakes we
did not list are never named *wrongly*: no diagnosis may say "this is exactly what you get
if you ..." of a mistake the learner did not make (maintainer_tests/test_held_out.py). They
are applied as the catalogue's are, an exact edit of the reference, and never added to it:
a held-out mistake that the diagnosis should name belongs in the catalogue instead, and a
new one takes its place here.
"""

from kata.core.mistakes import Mistake

HELD_OUT = (
    Mistake(
        "attention",
        "hand_written_softmax_without_the_max",
        "wrote the softmax by hand, without subtracting each row's maximum",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)",
    ),
    Mistake(
        "attention",
        "scaled_by_the_value_width",
        "divided the scores by the square root of v's width instead of q's",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(v.size(-1))",
    ),
    Mistake(
        "multi_head",
        "scaled_twice",
        "scaled the queries by 1 / sqrt(d_head) in MultiHeadAttention as well as in attention",
        "q = split_heads(self.q_proj(x), self.num_heads)  # (B, H, L, Dh)",
        "q = split_heads(self.q_proj(x), self.num_heads) / (self.q_proj.out_features // self.num_heads) ** 0.5",
    ),
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
        "layer_norm",
        "variance_over_the_first_axis",
        "took the variance over the first axis (the mean is right)",
        "variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
        "variance = ((x - mean) ** 2).mean(dim=0, keepdim=True)",
    ),
    Mistake(
        "layer_norm",
        "shift_before_scale",
        "added the bias before multiplying by the weight",
        "return normalized * weight + bias  # (..., D)",
        "return (normalized + bias) * weight  # (..., D)",
    ),
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
        "encoder",
        "norm_inside_the_residual",
        "wrote x + norm1(attention) in the post-norm layer (the norm belongs around the sum)",
        "x = self.norm1(x + attended)  # (B, L, D)",
        "x = x + self.norm1(attended)  # (B, L, D)",
    ),
    Mistake(
        "encoder",
        "inverted_key_mask",
        "built the key mask as attention_mask == 0 in Encoder.forward (True on padding)",
        "mask = attention_mask.bool()[:, None, None, :]",
        "mask = (attention_mask == 0)[:, None, None, :]",
    ),
    Mistake(
        "encoder",
        "feed_forward_on_the_attention_output",
        "fed the attention output to the feed-forward network instead of the normalised sum",
        "x = self.norm2(x + self.ffn(x))  # (B, L, D)",
        "x = self.norm2(x + self.ffn(attended))  # (B, L, D)",
    ),
    Mistake(
        "feed_forward",
        "numpy_erf_of_half_x",
        "computed erf(x / 2) instead of erf(x / sqrt(2)) in gelu",
        "return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))",
        "return 0.5 * x * (1.0 + erf(x / 2.0))",
        track="numpy",
    ),
    Mistake(
        "layer_norm",
        "numpy_variance_over_the_first_axis",
        "took the variance over the first axis (the mean is right)",
        "variance = x.var(axis=-1, keepdims=True)",
        "variance = x.var(axis=0, keepdims=True)",
        track="numpy",
    ),
)
