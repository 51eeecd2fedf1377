"""The catalogue of known-wrong implementations: mistakes learners make, as edits of the reference.

Each Mistake replaces one exact snippet of a solution file. Applied to a copy of
solutions/ (or of solutions/numpy/, for a mistake of the NumPy track), it gives a
plausible wrong implementation; the catalogue tests
(tests/test_catalogue.py) prove that the exercise's tests fail on every one of them.
That is how we know the tests are worth trusting.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from . import SOLUTIONS, track_folder


@dataclass(frozen=True)
class Mistake:
    exercise: str  # the module it breaks, e.g. "attention"
    name: str  # a stable identifier, e.g. "unscaled_scores"
    description: str  # what the learner did, in one sentence
    find: str  # an exact snippet of the solution file (must occur once)
    replace: str  # what the learner wrote instead
    track: str = "torch"  # "torch": solutions/<exercise>.py; "numpy": solutions/numpy/<exercise>.py

    @property
    def solution_file(self):
        return track_folder(SOLUTIONS, self.track) / f"{self.exercise}.py"

    @property
    def test_id(self):
        """How the tests name it: exercise-name, with the track first for the NumPy track."""
        return ("numpy-" if self.track == "numpy" else "") + f"{self.exercise}-{self.name}"

    def apply(self, source):
        count = source.count(self.find)
        if count != 1:
            raise ValueError(
                f"mistake {self.name!r}: its snippet occurs {count} times in "
                f"{self.solution_file.relative_to(SOLUTIONS.parent)}, expected once; update the catalogue"
            )
        return source.replace(self.find, self.replace)

    def write_variant(self, folder):
        """Copy the track's solutions into `folder` with this mistake applied; return the folder."""
        folder = Path(folder)
        ignored = shutil.ignore_patterns("__pycache__", "numpy")  # the NumPy track is a package of its own
        shutil.copytree(track_folder(SOLUTIONS, self.track), folder, ignore=ignored)
        path = folder / f"{self.exercise}.py"
        path.write_text(self.apply(path.read_text()))
        return folder


def _m(exercise, name, description, find, replace):
    return Mistake(exercise, name, description, find, replace)


CATALOGUE = (
    # ---- attention ----
    _m(
        "attention",
        "unscaled_scores",
        "forgot to divide the scores by sqrt(d)",
        "scores = (q / math.sqrt(d)) @ k.transpose(-2, -1)",
        "scores = q @ k.transpose(-2, -1)",
    ),
    _m(
        "attention",
        "scaled_by_d",
        "divided the scores by d instead of sqrt(d)",
        "scores = (q / math.sqrt(d)) @ k.transpose(-2, -1)",
        "scores = (q / d) @ k.transpose(-2, -1)",
    ),
    _m(
        "attention",
        "softmax_over_queries",
        "ran the softmax over the queries axis instead of the keys",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.softmax(scores, dim=-2)",
    ),
    _m(
        "attention",
        "inverted_mask",
        "hid the keys the mask allows instead of those it hides",
        "scores.masked_fill_(~mask,",
        "scores.masked_fill_(mask,",
    ),
    _m(
        "attention",
        "mask_after_softmax",
        "zeroed the hidden weights after the softmax instead of before",
        "    weights = torch.softmax(scores, dim=-1)  # (..., L_q, L_k), each row sums to 1\n",
        "    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)\n"
        "    if mask is not None:\n"
        "        weights = weights.masked_fill(~mask, 0.0)\n",
    ),
    _m(
        "attention",
        "mask_with_minus_infinity",
        "filled hidden scores with -inf (NaN for a fully hidden row)",
        "torch.finfo(scores.dtype).min)",
        "float('-inf'))",
    ),
    _m(
        "attention",
        "mask_with_small_constant",
        "filled hidden scores with -1e4 instead of the dtype's minimum",
        "torch.finfo(scores.dtype).min)",
        "-1e4)",
    ),
    _m(
        "attention",
        "dropout_ignored",
        "ignored dropout_p",
        "weights = F.dropout(weights, p=dropout_p)",
        "weights = F.dropout(weights, p=0.0)",
    ),
    # ---- multi_head ----
    _m(
        "multi_head",
        "split_without_transpose",
        "split the heads by viewing straight to (B, H, L, Dh)",
        "    x = x.view(batch, length, num_heads, width // num_heads)  # (B, L, H, Dh)\n"
        "    return x.transpose(1, 2)  # (B, H, L, Dh)\n",
        "    return x.view(batch, num_heads, length, width // num_heads)\n",
    ),
    _m(
        "multi_head",
        "merge_without_transpose",
        "merged the heads by reshaping (B, H, L, Dh) straight to (B, L, D)",
        "    x = x.transpose(1, 2)  # (B, L, H, Dh)\n",
        "",
    ),
    _m(
        "multi_head",
        "no_output_projection",
        "left out the output projection",
        "out = self.dropout(self.out_proj(merge_heads(context)))",
        "out = self.dropout(merge_heads(context))",
    ),
    _m(
        "multi_head",
        "query_projection_used_for_keys",
        "projected the keys with q_proj",
        "k = split_heads(self.k_proj(x), self.num_heads)",
        "k = split_heads(self.q_proj(x), self.num_heads)",
    ),
    _m(
        "multi_head",
        "head_count_not_checked",
        "did not check that d_model is divisible by num_heads",
        "        if d_model % num_heads != 0:\n",
        "        if False:\n",
    ),
    _m(
        "multi_head",
        "split_interleaved",
        "split the width into heads the wrong way round, so head h gets every H-th column",
        "    x = x.view(batch, length, num_heads, width // num_heads)  # (B, L, H, Dh)\n"
        "    return x.transpose(1, 2)  # (B, H, L, Dh)\n",
        "    x = x.view(batch, length, width // num_heads, num_heads)\n    return x.permute(0, 3, 1, 2)\n",
    ),
    _m(
        "multi_head",
        "merge_with_view_after_transpose",
        "merged the heads with .view after the transpose (fails: the memory is not contiguous)",
        "return x.reshape(batch, length, num_heads * head_width)",
        "return x.view(batch, length, num_heads * head_width)",
    ),
    _m(
        "multi_head",
        "split_by_head_width",
        "stored the head width as the number of heads, so split_heads cuts heads of width H",
        "self.num_heads = num_heads",
        "self.num_heads = d_model // num_heads",
    ),
    _m(
        "multi_head",
        "head_count_checked_with_assert",
        "checked the head count with an assert (AssertionError) instead of raising ValueError",
        "        if d_model % num_heads != 0:\n            raise ValueError(\n",
        "        assert d_model % num_heads == 0, (\n",
    ),
    _m(
        "multi_head",
        "head_count_error_names_no_numbers",
        "raised ValueError with a message that does not say which numbers are wrong",
        'f"d_model={d_model} is not divisible by num_heads={num_heads}: "',
        '"d_model is not divisible by num_heads: "',
    ),
    _m(
        "multi_head",
        "mask_not_passed_on",
        "did not pass the mask on to the attention",
        "q, k, v, mask, dropout_p=attention_dropout",
        "q, k, v, None, dropout_p=attention_dropout",
    ),
    _m(
        "multi_head",
        "attention_dropout_in_eval",
        "dropped attention weights in eval() too",
        "attention_dropout = self.dropout.p if self.training else 0.0",
        "attention_dropout = self.dropout.p",
    ),
    _m(
        "multi_head",
        "no_attention_dropout",
        "never dropped attention weights, only the output",
        "q, k, v, mask, dropout_p=attention_dropout",
        "q, k, v, mask",
    ),
    _m(
        "multi_head",
        "no_output_dropout",
        "dropped attention weights but not the output of out_proj",
        "out = self.dropout(self.out_proj(merge_heads(context)))",
        "out = self.out_proj(merge_heads(context))",
    ),
    # ---- feed_forward ----
    _m(
        "feed_forward",
        "tanh_gelu",
        "used the tanh approximation of GELU",
        "    phi = (x / math.sqrt(2.0)).erf_().add_(1.0).mul_(0.5)  # Phi(x), the shape of x\n"
        "    return phi.mul_(x)  # x * Phi(x)\n",
        "    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))\n",
    ),
    _m(
        "feed_forward",
        "sigmoid_gelu",
        "used the sigmoid approximation x * sigmoid(1.702 x) of GELU",
        "    phi = (x / math.sqrt(2.0)).erf_().add_(1.0).mul_(0.5)  # Phi(x), the shape of x\n"
        "    return phi.mul_(x)  # x * Phi(x)\n",
        "    return x * torch.sigmoid(1.702 * x)\n",
    ),
    _m(
        "feed_forward",
        "relu_always",
        "used ReLU whatever the activation argument says",
        'activations = {"gelu": gelu, "relu": torch.relu}',
        'activations = {"gelu": torch.relu, "relu": torch.relu}',
    ),
    _m(
        "feed_forward",
        "no_activation",
        "left out the activation between the two linear layers",
        "hidden = self.activation(self.linear1(x))",
        "hidden = self.linear1(x)",
    ),
    _m(
        "feed_forward",
        "gelu_without_half",
        "forgot the factor 1/2 in GELU",
        "(x / math.sqrt(2.0)).erf_().add_(1.0).mul_(0.5)",
        "(x / math.sqrt(2.0)).erf_().add_(1.0)",
    ),
    _m(
        "feed_forward",
        "gelu_erf_unscaled",
        "took erf(x) instead of erf(x / sqrt(2)) in GELU",
        "(x / math.sqrt(2.0)).erf_()",
        "torch.erf(x)",
    ),
    _m(
        "feed_forward",
        "linear_sizes_as_weight_shape",
        "built the linear layers as nn.Linear(out, in), the shape of their weights",
        "        self.linear1 = nn.Linear(d_model, d_ff)\n        self.linear2 = nn.Linear(d_ff, d_model)\n",
        "        self.linear1 = nn.Linear(d_ff, d_model)\n        self.linear2 = nn.Linear(d_model, d_ff)\n",
    ),
    _m(
        "feed_forward",
        "activation_after_second_linear",
        "applied the activation after linear2 instead of between the two layers",
        "        hidden = self.activation(self.linear1(x))  # (B, L, F)\n"
        "        return self.dropout(self.linear2(hidden))  # (B, L, D)\n",
        "        hidden = self.linear1(x)\n        return self.dropout(self.activation(self.linear2(hidden)))\n",
    ),
    _m(
        "feed_forward",
        "dropout_on_hidden",
        "applied dropout to the hidden layer instead of the output",
        "        hidden = self.activation(self.linear1(x))  # (B, L, F)\n"
        "        return self.dropout(self.linear2(hidden))  # (B, L, D)\n",
        "        hidden = self.dropout(self.activation(self.linear1(x)))\n        return self.linear2(hidden)\n",
    ),
    _m(
        "feed_forward",
        "dropout_on_in_eval_mode",
        "called F.dropout without training=self.training, so dropout stays on after .eval()",
        "return self.dropout(self.linear2(hidden))",
        "return nn.functional.dropout(self.linear2(hidden), p=self.dropout.p)",
    ),
    _m(
        "feed_forward",
        "dropout_ignored",
        "accepted the dropout argument but never applied it",
        "return self.dropout(self.linear2(hidden))",
        "return self.linear2(hidden)",
    ),
    _m(
        "feed_forward",
        "unknown_activation_becomes_gelu",
        "fell back to GELU for an unknown activation instead of raising ValueError",
        "        if activation not in activations:\n"
        "            raise ValueError(f\"activation must be 'gelu' or 'relu', not {activation!r}\")\n"
        "        self.activation = activations[activation]\n",
        "        self.activation = activations.get(activation, gelu)\n",
    ),
    _m(
        "feed_forward",
        "activation_error_without_its_name",
        "raised ValueError for an unknown activation without saying which",
        "raise ValueError(f\"activation must be 'gelu' or 'relu', not {activation!r}\")",
        'raise ValueError("unknown activation")',
    ),
    # ---- layer_norm ----
    _m(
        "layer_norm",
        "unbiased_variance",
        "used the unbiased variance (divide by D - 1)",
        "variance = (centered**2).mean(dim=-1, keepdim=True)",
        "variance = x.var(dim=-1, keepdim=True)",
    ),
    _m(
        "layer_norm",
        "eps_outside_sqrt",
        "added eps outside the square root",
        "torch.rsqrt(variance + eps)",
        "(1 / (torch.sqrt(variance) + eps))",
    ),
    _m(
        "layer_norm",
        "eps_ignored",
        "ignored eps",
        "torch.rsqrt(variance + eps)",
        "torch.rsqrt(variance)",
    ),
    _m(
        "layer_norm",
        "normalized_over_all_axes",
        "took the mean and variance over every axis, not the last",
        "    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)\n"
        "    centered = x - mean  # (..., D)\n"
        "    variance = (centered**2).mean(dim=-1, keepdim=True)",
        "    mean = x.mean()\n    centered = x - mean  # (..., D)\n    variance = (centered**2).mean()",
    ),
    _m(
        "layer_norm",
        "no_scale_and_shift",
        "forgot the learned scale and shift",
        "return normalized * weight + bias",
        "return normalized",
    ),
    _m(
        "layer_norm",
        "mean_not_subtracted",
        "divided by the standard deviation without subtracting the mean",
        "normalized = centered * torch.rsqrt(variance + eps)",
        "normalized = x * torch.rsqrt(variance + eps)",
    ),
    _m(
        "layer_norm",
        "no_square_root",
        "divided by the variance instead of the standard deviation",
        "torch.rsqrt(variance + eps)",
        "(1 / (variance + eps))",
    ),
    _m(
        "layer_norm",
        "normalized_over_first_axis",
        "took the mean and variance over the first axis, as batch norm does, not the last",
        "    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)\n"
        "    centered = x - mean  # (..., D)\n"
        "    variance = (centered**2).mean(dim=-1, keepdim=True)",
        "    mean = x.mean(dim=0, keepdim=True)\n"
        "    centered = x - mean  # (..., D)\n"
        "    variance = (centered**2).mean(dim=0, keepdim=True)",
    ),
    _m(
        "layer_norm",
        "no_keepdim",
        "reduced without keepdim=True, so the statistics do not broadcast back over the rows",
        "    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)\n"
        "    centered = x - mean  # (..., D)\n"
        "    variance = (centered**2).mean(dim=-1, keepdim=True)",
        "    mean = x.mean(dim=-1)\n    centered = x - mean  # (..., D)\n    variance = (centered**2).mean(dim=-1)",
    ),
    _m(
        "layer_norm",
        "module_eps_ignored",
        "hard-coded eps in LayerNorm instead of keeping the argument",
        "self.eps = eps",
        "self.eps = 1e-5",
    ),
    _m(
        "layer_norm",
        "plain_tensor_parameters",
        "stored weight and bias as plain tensors, not nn.Parameter",
        "        self.weight = nn.Parameter(torch.ones(d_model))\n        self.bias = nn.Parameter(torch.zeros(d_model))\n",
        "        self.weight = torch.ones(d_model)\n        self.bias = torch.zeros(d_model)\n",
    ),
    _m(
        "layer_norm",
        "weight_and_bias_initialised_swapped",
        "initialised the weight to zeros and the bias to ones",
        "        self.weight = nn.Parameter(torch.ones(d_model))\n        self.bias = nn.Parameter(torch.zeros(d_model))\n",
        "        self.weight = nn.Parameter(torch.zeros(d_model))\n        self.bias = nn.Parameter(torch.ones(d_model))\n",
    ),
    _m(
        "layer_norm",
        "module_weight_and_bias_swapped",
        "passed bias as the scale and weight as the shift in LayerNorm.forward",
        "return layer_norm(x, self.weight, self.bias, self.eps)",
        "return layer_norm(x, self.bias, self.weight, self.eps)",
    ),
    # ---- positional ----
    _m(
        "positional",
        "sin_cos_swapped",
        "put the cosines in the even columns and the sines in the odd ones",
        "    table[:, 0::2] = torch.sin(angles)\n    table[:, 1::2] = torch.cos(angles[:, : d_model // 2])",
        "    table[:, 0::2] = torch.cos(angles)\n    table[:, 1::2] = torch.sin(angles[:, : d_model // 2])",
    ),
    _m(
        "positional",
        "exponent_off_by_two",
        "used 10000^(i / D) with i the pair index instead of 2i / D",
        "even_columns / d_model)",
        "even_columns / 2 / d_model)",
    ),
    _m(
        "positional",
        "positions_start_at_one",
        "numbered the positions from 1 instead of 0",
        "positions = torch.arange(length, device=input_ids.device)",
        "positions = torch.arange(1, length + 1, device=input_ids.device).clamp(max=self.max_len - 1)",
    ),
    _m(
        "positional",
        "token_types_ignored",
        "left out the token type embeddings",
        "summed = words + position_vectors + token_types",
        "summed = words + position_vectors",
    ),
    _m(
        "positional",
        "no_embedding_norm",
        "left out the layer norm after summing the embeddings",
        "return self.dropout(self.norm(summed))",
        "return self.dropout(summed)",
    ),
    _m(
        "positional",
        "length_not_checked",
        "did not check the length against max_len",
        "        if length > self.max_len:\n",
        "        if False:\n",
    ),
    _m(
        "positional",
        "frequencies_inverted",
        "multiplied the positions by 10000^(2i / D) instead of dividing by it",
        "torch.exp(-math.log(10000.0) * even_columns / d_model)",
        "torch.exp(math.log(10000.0) * even_columns / d_model)",
    ),
    _m(
        "positional",
        "odd_columns_own_exponent",
        "gave the cosine in column 2i + 1 the exponent (2i + 1) / D instead of sharing 2i / D with its sine",
        "table[:, 1::2] = torch.cos(angles[:, : d_model // 2])",
        "table[:, 1::2] = torch.cos(\n"
        "        positions * torch.exp(-math.log(10000.0) * torch.arange(1, d_model, 2) / d_model)\n"
        "    )",
    ),
    _m(
        "positional",
        "odd_width_not_handled",
        "wrote every cosine column without trimming, which breaks for an odd D",
        "torch.cos(angles[:, : d_model // 2])",
        "torch.cos(angles)",
    ),
    _m(
        "positional",
        "sinusoidal_table_as_parameter",
        "stored the sinusoidal table as a trainable parameter instead of a buffer",
        'self.register_buffer("position_embeddings", table)',
        "self.position_embeddings = nn.Parameter(table)",
    ),
    _m(
        "positional",
        "norm_eps_ignored",
        "built the norm with LayerNorm's default eps instead of the eps given",
        "self.norm = LayerNorm(d_model, eps=eps)",
        "self.norm = LayerNorm(d_model)",
    ),
    _m(
        "positional",
        "word_embeddings_scaled_by_sqrt_d",
        "multiplied the word embeddings by sqrt(D) as the original Transformer does; BERT does not",
        "words = self.word_embeddings(input_ids)  # (B, L, D)",
        "words = self.word_embeddings(input_ids) * math.sqrt(self.word_embeddings.embedding_dim)",
    ),
    _m(
        "positional",
        "length_from_batch_axis",
        "took the sequence length from the batch axis",
        "length = input_ids.size(1)",
        "length = input_ids.size(0)",
    ),
    _m(
        "positional",
        "length_check_off_by_one",
        "rejected a sequence of exactly max_len tokens",
        "        if length > self.max_len:\n",
        "        if length >= self.max_len:\n",
    ),
    _m(
        "positional",
        "dropout_ignored",
        "ignored the dropout argument",
        "self.dropout = nn.Dropout(dropout)",
        "self.dropout = nn.Dropout(0.0)",
    ),
    _m(
        "positional",
        "dropout_before_norm",
        "applied dropout to the sum before the norm instead of after it",
        "return self.dropout(self.norm(summed))",
        "return self.norm(self.dropout(summed))",
    ),
    # ---- encoder ----
    _m(
        "encoder",
        "no_attention_residual",
        "left out the residual around the attention",
        "x = self.norm1(x + attended)",
        "x = self.norm1(attended)",
    ),
    _m(
        "encoder",
        "no_feed_forward_residual",
        "left out the residual around the feed-forward network",
        "x = self.norm2(x + self.ffn(x))",
        "x = self.norm2(self.ffn(x))",
    ),
    _m(
        "encoder",
        "pre_norm_for_post_norm",
        "built a pre-norm layer where BERT is post-norm",
        "        if self.norm_first:\n",
        "        if True:\n",
    ),
    _m(
        "encoder",
        "norms_swapped_in_loading",
        "loaded BERT's two layer norms into the wrong places",
        '"norm1": "attention.output.LayerNorm"',
        '"norm1": "output.LayerNorm"',
    ),
    _m(
        "encoder",
        "query_key_swapped_in_loading",
        "loaded BERT's query weights into k_proj and key into q_proj",
        '"self_attn.q_proj": "attention.self.query",\n        "self_attn.k_proj": "attention.self.key",',
        '"self_attn.q_proj": "attention.self.key",\n        "self_attn.k_proj": "attention.self.query",',
    ),
    _m(
        "encoder",
        "padding_mask_on_queries",
        "applied the padding mask along the query axis instead of the keys",
        "mask = attention_mask.bool()[:, None, None, :]",
        "mask = attention_mask.bool()[:, None, :, None]",
    ),
    _m(
        "encoder",
        "attention_mask_ignored",
        "ignored the attention mask",
        "        if attention_mask is not None and not attention_mask.all():\n            # Hide",
        "        if False:\n            # Hide",
    ),
    _m(
        "encoder",
        "embeddings_missing_from_hidden_states",
        "left the embeddings out of hidden_states",
        "hidden_states, attentions = [x], []",
        "hidden_states, attentions = [], []",
    ),
    _m(
        "encoder",
        "mask_not_passed_to_attention",
        "did not pass the mask on to self_attn in the post-norm layer",
        "attended, weights = self.self_attn(x, mask)",
        "attended, weights = self.self_attn(x)",
    ),
    _m(
        "encoder",
        "pre_norm_attention_input_not_normalized",
        "gave self_attn the raw x instead of norm1(x) in the pre-norm layer",
        "self.self_attn(self.norm1(x), mask)",
        "self.self_attn(x, mask)",
    ),
    _m(
        "encoder",
        "same_norm_for_both_sub_layers",
        "used norm1 around the feed-forward network too",
        "x = self.norm2(x + self.ffn(x))",
        "x = self.norm1(x + self.ffn(x))",
    ),
    _m(
        "encoder",
        "eps_not_passed_to_norms",
        "built the layer norms without eps (LayerNorm's default 1e-5)",
        "        self.norm1 = LayerNorm(d_model, eps=eps)\n        self.norm2 = LayerNorm(d_model, eps=eps)\n",
        "        self.norm1 = LayerNorm(d_model)\n        self.norm2 = LayerNorm(d_model)\n",
    ),
    _m(
        "encoder",
        "dropout_not_passed_to_attention",
        "did not pass dropout on to the attention",
        "MultiHeadAttention(d_model, num_heads, dropout=dropout)",
        "MultiHeadAttention(d_model, num_heads)",
    ),
    _m(
        "encoder",
        "dropout_not_passed_to_feed_forward",
        "did not pass dropout on to the feed-forward network",
        "FeedForward(d_model, d_ff, activation=activation, dropout=dropout)",
        "FeedForward(d_model, d_ff, activation=activation)",
    ),
    _m(
        "encoder",
        "activation_not_passed_to_feed_forward",
        "did not pass the activation on to the feed-forward network (always GELU)",
        "FeedForward(d_model, d_ff, activation=activation, dropout=dropout)",
        "FeedForward(d_model, d_ff, dropout=dropout)",
    ),
    _m(
        "encoder",
        "unsupported_activation_accepted",
        "accepted any hidden_act, such as the tanh-approximated 'gelu_new'",
        'if bert_config.hidden_act not in ("gelu", "relu"):',
        "if False:",
    ),
    _m(
        "encoder",
        "eps_not_read_from_config",
        "did not read layer_norm_eps from the BertConfig",
        "            eps=bert_config.layer_norm_eps,\n",
        "",
    ),
    _m(
        "encoder",
        "biases_missing_from_weight_names",
        "listed only the weights, not the biases, in hf_weight_names",
        'for kind in ("weight", "bias"):',
        'for kind in ("weight",):',
    ),
    _m(
        "encoder",
        "shapes_not_checked_in_loading",
        "copied weights without comparing their shapes",
        "if weight.shape != ours[our_name].shape:",
        "if False:",
    ),
    _m(
        "encoder",
        "mode_not_kept_in_loading",
        "returned the new encoder in train mode whatever the model's mode",
        "return encoder.train(bert.training)",
        "return encoder",
    ),
    _m(
        "encoder",
        "token_types_not_passed",
        "did not pass token_type_ids on to the embeddings",
        "x = self.embeddings(input_ids, token_type_ids)",
        "x = self.embeddings(input_ids)",
    ),
    _m(
        "encoder",
        "one_layer_repeated",
        "filled the ModuleList with the same layer num_layers times",
        "            for _ in range(config.num_layers)\n        )\n",
        "            for _ in range(1)\n        )\n"
        "        self.layers = nn.ModuleList([self.layers[0]] * config.num_layers)\n",
    ),
    _m(
        "encoder",
        "key_mask_without_broadcast_axes",
        "passed the (B, L) attention_mask to the layers without reshaping it to (B, 1, 1, L)",
        "mask = attention_mask.bool()[:, None, None, :]",
        "mask = attention_mask.bool()",
    ),
    _m(
        "encoder",
        "bert_attribute_ignored",
        "did not unwrap a model whose .bert is the BertModel",
        'bert = getattr(bert_model, "bert", bert_model)',
        "bert = bert_model",
    ),
    _m(
        "encoder",
        "hidden_state_kept_before_the_layer",
        "kept each layer's input instead of its output in hidden_states",
        "            x, weights = layer(x, mask)  # (B, L, D), (B, H, L, L)\n            hidden_states.append(x)\n",
        "            hidden_states.append(x)\n            x, weights = layer(x, mask)  # (B, L, D), (B, H, L, L)\n",
    ),
)


# ---- the NumPy track (solutions/numpy/): the PyTorch track's most common mistakes, and NumPy's own ----


def _n(exercise, name, description, find, replace):
    return Mistake(exercise, name, description, find, replace, track="numpy")


CATALOGUE += (
    # ---- attention ----
    _n(
        "attention",
        "unscaled_scores",
        "forgot to divide the scores by sqrt(d)",
        "scores = q @ k.swapaxes(-1, -2) / math.sqrt(d)",
        "scores = q @ k.swapaxes(-1, -2)",
    ),
    _n(
        "attention",
        "softmax_over_queries",
        "ran the softmax over the queries axis instead of the keys",
        "    exponentials = np.exp(scores - scores.max(axis=-1, keepdims=True))  # (..., L_q, L_k)\n"
        "    weights = exponentials / exponentials.sum(axis=-1, keepdims=True)",
        "    exponentials = np.exp(scores - scores.max(axis=-2, keepdims=True))\n"
        "    weights = exponentials / exponentials.sum(axis=-2, keepdims=True)",
    ),
    _n(
        "attention",
        "inverted_mask",
        "hid the keys the mask allows instead of those it hides",
        "np.where(mask, scores, np.finfo(scores.dtype).min)",
        "np.where(~mask, scores, np.finfo(scores.dtype).min)",
    ),
    _n(
        "attention",
        "mask_with_minus_infinity",
        "filled hidden scores with -inf (NaN for a fully hidden row)",
        "np.finfo(scores.dtype).min)",
        "-np.inf)",
    ),
    _n(
        "attention",
        "mask_with_small_constant",
        "filled hidden scores with -1e4 instead of the dtype's minimum",
        "np.finfo(scores.dtype).min)",
        "-1e4)",
    ),
    _n(
        "attention",
        "softmax_without_the_max",
        "exponentiated the scores without subtracting each row's maximum first (overflow, then NaN)",
        "np.exp(scores - scores.max(axis=-1, keepdims=True))",
        "np.exp(scores)",
    ),
    # ---- multi_head ----
    _n(
        "multi_head",
        "split_without_transpose",
        "split the heads by reshaping straight to (B, H, L, Dh)",
        "    x = x.reshape(batch, length, num_heads, width // num_heads)  # (B, L, H, Dh)\n"
        "    return x.transpose(0, 2, 1, 3)  # (B, H, L, Dh)\n",
        "    return x.reshape(batch, num_heads, length, width // num_heads)\n",
    ),
    _n(
        "multi_head",
        "merge_without_transpose",
        "merged the heads by reshaping (B, H, L, Dh) straight to (B, L, D)",
        "    x = x.transpose(0, 2, 1, 3)  # (B, L, H, Dh)\n",
        "",
    ),
    _n(
        "multi_head",
        "query_projection_used_for_keys",
        "projected the keys with q_proj",
        "k = split_heads(self.k_proj(x), self.num_heads)",
        "k = split_heads(self.q_proj(x), self.num_heads)",
    ),
    _n(
        "multi_head",
        "linear_without_transpose",
        "multiplied by the (out, in) weight itself instead of its transpose in Linear",
        "return x @ self.weight.T + self.bias",
        "return x @ self.weight + self.bias",
    ),
    # ---- feed_forward ----
    _n(
        "feed_forward",
        "tanh_gelu",
        "used the tanh approximation of GELU",
        "return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))",
        "return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))",
    ),
    _n(
        "feed_forward",
        "erf_in_float64",
        "let np.vectorize(math.erf) return float64, so float32 in gives float64 out",
        "erf = np.vectorize(math.erf, otypes=[x.dtype])",
        "erf = np.vectorize(math.erf)",
    ),
    _n(
        "feed_forward",
        "no_activation",
        "left out the activation between the two linear layers",
        "hidden = self.activation(self.linear1(x))",
        "hidden = self.linear1(x)",
    ),
    # ---- layer_norm ----
    _n(
        "layer_norm",
        "unbiased_variance",
        "used the unbiased variance (ddof=1, divide by D - 1)",
        "x.var(axis=-1, keepdims=True)",
        "x.var(axis=-1, keepdims=True, ddof=1)",
    ),
    _n(
        "layer_norm",
        "eps_outside_sqrt",
        "added eps outside the square root",
        "np.sqrt(variance + eps)",
        "(np.sqrt(variance) + eps)",
    ),
    _n(
        "layer_norm",
        "no_keepdims",
        "reduced without keepdims=True, so the statistics do not broadcast back over the rows",
        "    mean = x.mean(axis=-1, keepdims=True)  # (..., 1)\n    variance = x.var(axis=-1, keepdims=True)",
        "    mean = x.mean(axis=-1)\n    variance = x.var(axis=-1)",
    ),
    _n(
        "layer_norm",
        "float64_parameters",
        "built weight and bias with np.ones and np.zeros without dtype=np.float32 (float64)",
        "        self.weight = np.ones(d_model, dtype=np.float32)\n"
        "        self.bias = np.zeros(d_model, dtype=np.float32)\n",
        "        self.weight = np.ones(d_model)\n        self.bias = np.zeros(d_model)\n",
    ),
    # ---- positional ----
    _n(
        "positional",
        "sin_cos_swapped",
        "put the cosines in the even columns and the sines in the odd ones",
        "    table[:, 0::2] = np.sin(angles)\n    table[:, 1::2] = np.cos(angles[:, : d_model // 2])",
        "    table[:, 0::2] = np.cos(angles)\n    table[:, 1::2] = np.sin(angles[:, : d_model // 2])",
    ),
    _n(
        "positional",
        "table_in_float64",
        "built the table with np.zeros without dtype=np.float32 (float64)",
        "table = np.zeros((max_len, d_model), dtype=np.float32)",
        "table = np.zeros((max_len, d_model))",
    ),
    _n(
        "positional",
        "positions_start_at_one",
        "numbered the positions from 1 instead of 0",
        "positions = np.arange(length)  # (L,)",
        "positions = np.arange(1, length + 1).clip(max=self.max_len - 1)",
    ),
    _n(
        "positional",
        "token_types_ignored",
        "left out the token type embeddings",
        "summed = words + position_vectors + token_types",
        "summed = words + position_vectors",
    ),
    # ---- encoder ----
    _n(
        "encoder",
        "no_attention_residual",
        "left out the residual around the attention",
        "x = self.norm1(x + attended)",
        "x = self.norm1(attended)",
    ),
    _n(
        "encoder",
        "pre_norm_for_post_norm",
        "built a pre-norm layer where BERT is post-norm",
        "        if self.norm_first:\n",
        "        if True:\n",
    ),
    _n(
        "encoder",
        "in_place_residual",
        "added the residual in place (x += ...), which also changes the layer's input, kept in hidden_states",
        "            x = self.norm1(x + attended)  # (B, L, D)\n",
        "            x += attended\n            x = self.norm1(x)\n",
    ),
    _n(
        "encoder",
        "query_key_swapped_in_loading",
        "loaded BERT's query weights into k_proj and key into q_proj",
        '"self_attn.q_proj": "attention.self.query",\n        "self_attn.k_proj": "attention.self.key",',
        '"self_attn.q_proj": "attention.self.key",\n        "self_attn.k_proj": "attention.self.query",',
    ),
    _n(
        "encoder",
        "padding_mask_on_queries",
        "applied the padding mask along the query axis instead of the keys",
        "mask = attention_mask.astype(bool)[:, None, None, :]",
        "mask = attention_mask.astype(bool)[:, None, :, None]",
    ),
)


def mistakes_for(exercise, track="torch"):
    return [mistake for mistake in CATALOGUE if mistake.exercise == exercise and mistake.track == track]
