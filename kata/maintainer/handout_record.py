"""What `kata handout OUT` records and generates so that the handout's tests need no solutions/.

- The foundation (OUT/kata/core/foundation/, and numpy/): the modules each exercise is tested on
  top of, in place of the reference's. Each is the stub of exercises/ with every region written
  by a call of the library function the exercise asks the learner to write (its shortcut:
  F.scaled_dot_product_attention, F.multi_head_attention_forward, F.gelu, F.layer_norm), so that
  copying one into exercises/ earns nothing (the grader scores a shortcut 0; the NumPy track's
  foundation runs on torch, which that track may not call). The sinusoidal table is the formula
  in float64 (the tests' own oracle, tests/test_positional.py). The encoder has no foundation:
  exercise 7 (optional, no points) runs on the learner's own encoder in a handout.
- The recording (OUT/kata/core/data/handout/reference.pt): the reference's outputs of every
  graded check of both tracks, as the grader receives them (kata.core.checking.through_the_wire).

Built from solutions/ and checked before it is written: the reference's exercise modules, each on
top of the foundation, pass every graded check against the recording.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from kata import COURSE, EXERCISES, SOLUTIONS, TRACKS, course, track_folder

# The modules of the foundation: each exercise's modules before it (the encoder has none: see above).
FOUNDATION_MODULES = ("attention", "multi_head", "feed_forward", "layer_norm", "positional")
NO_FOUNDATION = (
    "{what}: the handout's foundation has no {what} (only exercise 2's own tests call it: they call yours)"
)

TORCH = {
    "scaled_dot_product_attention": """
        # torch's own attention (exercise 1's shortcut): with the identity as the values, its
        # output is the attention weights themselves.
        additive = (
            None
            if mask is None
            else torch.zeros(mask.shape, dtype=q.dtype).masked_fill(mask.logical_not(), torch.finfo(q.dtype).min)
        )
        keys = k.shape[-2]
        batch_shape = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2])
        eye = torch.eye(keys, dtype=q.dtype).expand(*batch_shape, keys, keys)
        probabilities = F.scaled_dot_product_attention(q, k, eye, attn_mask=additive)
        probabilities = F.dropout(probabilities, p=dropout_p)
        return torch.matmul(probabilities, v), probabilities
    """,
    "split_heads": 'raise NotImplementedError(NO_FOUNDATION.format(what="split_heads"))',
    "merge_heads": 'raise NotImplementedError(NO_FOUNDATION.format(what="merge_heads"))',
    "MultiHeadAttention.__init__": """
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.num_heads = int(num_heads)
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            self.add_module(name, nn.Linear(d_model, d_model))
        self.add_module("dropout", nn.Dropout(dropout))
    """,
    "MultiHeadAttention.forward": """
        # torch's own multi-head attention (exercise 2's shortcut), on this module's four projections.
        size = x.shape
        heads = self.num_heads
        additive = None  # a float mask for torch: 0 where a key may be attended, the dtype's minimum where not
        if torch.is_tensor(mask):
            hidden = torch.broadcast_to(mask, (size[0], heads, size[1], size[1])).logical_not()
            additive = torch.zeros(hidden.shape, dtype=x.dtype).masked_fill(hidden, torch.finfo(x.dtype).min)
            additive = additive.flatten(0, 1)
        sequence_first = x.transpose(0, 1)
        biases = torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
        output, probabilities = F.multi_head_attention_forward(
            sequence_first, sequence_first, sequence_first, size[2], heads,
            None, biases, None, None, False, self.dropout.p,
            self.out_proj.weight, self.out_proj.bias,
            training=self.training, need_weights=True, attn_mask=additive,
            use_separate_proj_weight=True, q_proj_weight=self.q_proj.weight,
            k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight,
            average_attn_weights=False,
        )
        return output.transpose(0, 1), probabilities
    """,
    "gelu": "return F.gelu(x)  # torch's own (exercise 3's shortcut), the exact erf form",
    "FeedForward.__init__": """
        if activation not in ("gelu", "relu"):
            raise ValueError(f"activation={activation!r}: expected 'gelu' or 'relu'")
        self.add_module("linear1", nn.Linear(d_model, d_ff))
        self.add_module("linear2", nn.Linear(d_ff, d_model))
        self.add_module("dropout", nn.Dropout(dropout))
        self.activation_name = activation
    """,
    "FeedForward.forward": """
        inner = self.linear1(x)
        inner = F.gelu(inner) if self.activation_name == "gelu" else F.relu(inner)
        return F.dropout(self.linear2(inner), self.dropout.p, self.training)
    """,
    "layer_norm": "return F.layer_norm(x, x.shape[-1:], weight, bias, eps)  # torch's own (exercise 4's shortcut)",
    "LayerNorm.__init__": """
        self.eps = float(eps)
        self.register_parameter("weight", nn.Parameter(torch.ones(d_model)))
        self.register_parameter("bias", nn.Parameter(torch.zeros(d_model)))
    """,
    "LayerNorm.forward": "return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)",
    "sinusoidal_positional_encoding": """
        # The formula in float64, as tests/test_positional.py's oracle computes it.
        column = torch.arange(d_model)
        angle = torch.arange(max_len, dtype=torch.float64)[:, None] / torch.pow(
            10000.0, (column - column % 2).to(torch.float64) / d_model
        )
        return torch.where(column % 2 == 0, torch.sin(angle), torch.cos(angle)).to(torch.float32)
    """,
    "Embeddings.__init__": """
        if positional not in ("learned", "sinusoidal"):
            raise ValueError(f"positional={positional!r}: expected 'learned' or 'sinusoidal'")
        self.max_len = int(max_len)
        self.add_module("word_embeddings", nn.Embedding(vocab_size, d_model))
        if positional != "sinusoidal":
            self.add_module("position_embeddings", nn.Embedding(max_len, d_model))
        else:
            self.register_buffer(name="position_embeddings", tensor=sinusoidal_positional_encoding(max_len, d_model))
        self.add_module("token_type_embeddings", nn.Embedding(type_vocab_size, d_model))
        self.add_module("norm", LayerNorm(d_model, eps=eps))
        self.add_module("dropout", nn.Dropout(dropout))
    """,
    "Embeddings.forward": """
        count = input_ids.shape[-1]
        if count > self.max_len:
            raise ValueError(f"a sequence of {count} tokens is longer than max_len={self.max_len}")
        types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        table = self.position_embeddings
        table = table.weight if isinstance(table, nn.Embedding) else table
        total = self.word_embeddings(input_ids) + table[:count] + self.token_type_embeddings(types)
        return self.dropout(self.norm(total))
    """,
}

# The NumPy track: the same library calls, on tensors that share the arrays' memory.
NUMPY = {
    "scaled_dot_product_attention": """
        # torch's own attention (the NumPy track may not call torch: this is the handout's foundation).
        tq, tk, tv = (torch.from_numpy(np.ascontiguousarray(a)) for a in (q, k, v))
        hidden = None if mask is None else torch.from_numpy(np.ascontiguousarray(mask)).logical_not()
        additive = None
        if hidden is not None:
            additive = torch.zeros(hidden.shape, dtype=tq.dtype).masked_fill(hidden, torch.finfo(tq.dtype).min)
        keys = tk.shape[-2]
        batch_shape = torch.broadcast_shapes(tq.shape[:-2], tk.shape[:-2])
        eye = torch.eye(keys, dtype=tq.dtype).expand(*batch_shape, keys, keys)
        probabilities = F.scaled_dot_product_attention(tq, tk, eye, attn_mask=additive)
        return torch.matmul(probabilities, tv).numpy(), probabilities.numpy()
    """,
    "Linear.__init__": """
        limit = 1.0 / math.sqrt(in_features)
        generator = np.random.default_rng()
        self.weight = generator.uniform(-limit, limit, size=(out_features, in_features)).astype(np.float32)
        self.bias = generator.uniform(-limit, limit, size=(out_features,)).astype(np.float32)
    """,
    "Linear.forward": """
        value = np.asarray(x)
        weight, bias = (torch.from_numpy(a.astype(value.dtype)) for a in (self.weight, self.bias))
        return F.linear(torch.from_numpy(np.ascontiguousarray(value)), weight, bias).numpy()
    """,
    "split_heads": TORCH["split_heads"],
    "merge_heads": TORCH["merge_heads"],
    "MultiHeadAttention.__init__": """
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.num_heads = int(num_heads)
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self, name, Linear(d_model, d_model))
    """,
    "MultiHeadAttention.forward": """
        value = np.asarray(x)
        tensor = torch.from_numpy(np.ascontiguousarray(value))
        size = tensor.shape
        heads = self.num_heads

        def as_tensor(array):
            return torch.from_numpy(np.ascontiguousarray(array.astype(value.dtype)))

        allowed = None if mask is None else torch.from_numpy(np.ascontiguousarray(mask))
        additive = None
        if allowed is not None:
            hidden = torch.broadcast_to(allowed, (size[0], heads, size[1], size[1]))
            additive = torch.zeros(hidden.shape, dtype=tensor.dtype).masked_fill(
                hidden.logical_not(), torch.finfo(tensor.dtype).min
            ).flatten(0, 1)
        sequence_first = tensor.transpose(0, 1)
        biases = torch.cat([as_tensor(self.q_proj.bias), as_tensor(self.k_proj.bias), as_tensor(self.v_proj.bias)])
        output, probabilities = F.multi_head_attention_forward(
            sequence_first, sequence_first, sequence_first, size[2], heads,
            None, biases, None, None, False, 0.0,
            as_tensor(self.out_proj.weight), as_tensor(self.out_proj.bias),
            training=False, need_weights=True, attn_mask=additive,
            use_separate_proj_weight=True, q_proj_weight=as_tensor(self.q_proj.weight),
            k_proj_weight=as_tensor(self.k_proj.weight), v_proj_weight=as_tensor(self.v_proj.weight),
            average_attn_weights=False,
        )
        return output.transpose(0, 1).numpy(), probabilities.numpy()
    """,
    "gelu": "return F.gelu(torch.from_numpy(np.ascontiguousarray(x))).numpy()",
    "FeedForward.__init__": """
        if activation not in ("gelu", "relu"):
            raise ValueError(f"activation={activation!r}: expected 'gelu' or 'relu'")
        self.linear1, self.linear2 = Linear(d_model, d_ff), Linear(d_ff, d_model)
        self.activation_name = activation
    """,
    "FeedForward.forward": """
        inner = torch.from_numpy(np.ascontiguousarray(self.linear1(x)))
        inner = F.gelu(inner) if self.activation_name == "gelu" else F.relu(inner)
        return self.linear2(inner.numpy())
    """,
    "layer_norm": """
        value = np.asarray(x)
        scale, shift = (torch.from_numpy(np.asarray(a, dtype=value.dtype)) for a in (weight, bias))
        return F.layer_norm(torch.from_numpy(np.ascontiguousarray(value)), value.shape[-1:], scale, shift, eps).numpy()
    """,
    "LayerNorm.__init__": """
        self.eps = float(eps)
        self.weight = np.full(d_model, 1.0, dtype=np.float32)
        self.bias = np.full(d_model, 0.0, dtype=np.float32)
    """,
    "LayerNorm.forward": "return layer_norm(x, self.weight, self.bias, eps=self.eps)",
    "sinusoidal_positional_encoding": """
        column = np.arange(d_model)
        angle = np.arange(max_len, dtype=np.float64)[:, None] / np.power(10000.0, (column - column % 2) / d_model)
        return np.where(column % 2 == 0, np.sin(angle), np.cos(angle)).astype(np.float32)
    """,
    "Embedding.__init__": """
        generator = np.random.default_rng()
        self.weight = generator.standard_normal(size=(num_embeddings, embedding_dim)).astype(np.float32)
    """,
    "Embedding.forward": "return np.take(self.weight, np.asarray(ids), axis=0)",
    "Embeddings.__init__": """
        if positional not in ("learned", "sinusoidal"):
            raise ValueError(f"positional={positional!r}: expected 'learned' or 'sinusoidal'")
        self.max_len = int(max_len)
        self.word_embeddings = Embedding(num_embeddings=vocab_size, embedding_dim=d_model)
        if positional != "sinusoidal":
            self.position_embeddings = Embedding(num_embeddings=max_len, embedding_dim=d_model)
        else:
            self.position_embeddings = np.asarray(sinusoidal_positional_encoding(max_len, d_model))
        self.token_type_embeddings = Embedding(num_embeddings=type_vocab_size, embedding_dim=d_model)
        self.norm = LayerNorm(d_model, eps)
    """,
    "Embeddings.forward": """
        ids = np.asarray(input_ids)
        count = ids.shape[-1]
        if count > self.max_len:
            raise ValueError(f"a sequence of {count} tokens is longer than max_len={self.max_len}")
        types = np.zeros_like(ids) if token_type_ids is None else np.asarray(token_type_ids)
        table = self.position_embeddings
        table = table.weight if isinstance(table, Embedding) else table
        total = self.word_embeddings(ids) + table[:count] + self.token_type_embeddings(types)
        return self.norm(total)
    """,
}

BODIES = {"torch": TORCH, "numpy": NUMPY}
_RAISE = re.compile(r'^(\s*)raise NotImplementedError\("exercise \d+, \w+\.py: write ([\w.]+)"\)\n', re.M)
HEADER = (
    "# The handout's foundation (kata handout, kata/maintainer/handout_record.py): exercises/{name}\n"
    "# with each part the learner writes done by the library function the exercise forbids.\n"
    "# The tests run each exercise on top of these; copying one into exercises/ earns nothing.\n"
)
IMPORTS = "import torch\nimport torch.nn.functional as F  # the foundation's library calls\n"


def foundation_source(stub: str, name: str, track: str) -> str:
    """The foundation module `name` of `track` from its stub: every `raise NotImplementedError`
    of a region replaced by its body above."""
    bodies = BODIES[track]

    def body(match: re.Match[str]) -> str:
        indent, where = match.group(1), match.group(2)
        return textwrap.indent(textwrap.dedent(bodies[where]).strip() + "\n", indent)

    text = _RAISE.sub(body, stub)
    text = "".join(line for line in text.splitlines(keepends=True)[3:])  # the stub's header
    imports = IMPORTS + f"NO_FOUNDATION = {NO_FOUNDATION!r}\n"
    # After the module's docstring and its own imports' first line.
    first_import = re.search(r"(?m)^(import|from) ", text)
    assert first_import is not None
    at = first_import.start()
    return HEADER.format(name=f"{track}/{name}.py") + text[:at] + imports + text[at:]


def write_foundation(folder: Path) -> None:
    """The foundation of both tracks into `folder` (and folder/numpy)."""
    for track in TRACKS:
        target = track_folder(folder, track)
        target.mkdir(parents=True, exist_ok=True)
        (target / "__init__.py").write_text('"""The handout\'s foundation (see its modules)."""\n')
        for name in FOUNDATION_MODULES:
            stub = (track_folder(EXERCISES, track) / f"{name}.py").read_text()
            (target / f"{name}.py").write_text(foundation_source(stub, name, track))


def reference_recording() -> dict[str, dict[str, object]]:
    """{check name: the reference's outputs as the grader receives them} for every graded check of both tracks."""
    from kata.core.checking import reference_outputs

    return {check.name: reference_outputs(check) for track in TRACKS for check in course.checks(track)}


def verify(foundation: Path, recording: dict[str, dict[str, object]]) -> list[str]:
    """The reference's modules on top of `foundation` against the recording: a problem per failing check."""
    from kata.core.as_torch import as_torch
    from kata.core.checking import through_the_wire
    from kata.core.loading import load

    problems = []
    for track in TRACKS:
        for group in COURSE[1 : COURSE.index("positional") + 2]:  # the exercises built on the foundation
            module = load(group, track_folder(SOLUTIONS, track), reference=track_folder(foundation, track))
            face = as_torch(module) if track == "numpy" else module
            for check in course.group_checks(group, track):
                if check.needs_weights:
                    continue
                try:
                    check.compare(through_the_wire(check.probe(face)), recording[check.name])
                except Exception as error:  # noqa: BLE001  (any failure is the foundation's)
                    problems.append(
                        f"{track} {check.name} on the foundation: {type(error).__name__}: {error}"
                    )
    return problems


def record(out: Path) -> None:
    """Write the foundation and the recording into the handout `out`, after checking them."""
    import torch

    foundation = out / "kata" / "core" / "foundation"
    write_foundation(foundation)
    recording = reference_recording()
    problems = verify(foundation, recording)
    if problems:
        raise RuntimeError(
            "the handout's foundation does not reproduce the reference:\n  " + "\n  ".join(problems)
        )
    data = out / "kata" / "core" / "data" / "handout"
    data.mkdir(parents=True, exist_ok=True)
    torch.save(recording, data / "reference.pt")
