"""The stages of a BERT forward pass, recorded from our Encoder and from Hugging Face's BertModel.

A stage is what one sub-module hands on: the embeddings, then in each layer the
attention weights, the attention output (after out_proj, before the residual), the
first norm, the feed-forward output (after linear2, before the residual) and the second
norm. Forward hooks record each stage as the model runs, under the same name on both
sides, so two runs can be compared stage by stage.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

# kind -> (our sub-module in a layer, which element of its output, BertLayer's, which element)
LAYER_KINDS = {
    "attention weights": ("self_attn", 1, "attention.self", 1),
    "attention output": ("self_attn", 0, "attention.output.dense", None),
    "first norm": ("norm1", None, "attention.output.LayerNorm", None),
    "feed-forward": ("ffn", None, "output.dense", None),
    "second norm": ("norm2", None, "output.LayerNorm", None),
}


@dataclass(frozen=True)
class Stage:
    kind: str  # "embeddings" or a key of LAYER_KINDS
    layer: int | None = None  # None for the embeddings

    @property
    def name(self) -> str:
        return self.kind if self.layer is None else f"layer {self.layer} {self.kind}"

    def path(self, side: str) -> str:
        """The sub-module that computes this stage in our Encoder ("ours") or in a BertModel ("theirs")."""
        if self.layer is None:
            return "embeddings"
        ours, _, theirs, _ = LAYER_KINDS[self.kind]
        return f"layers.{self.layer}.{ours}" if side == "ours" else f"encoder.layer.{self.layer}.{theirs}"

    def part(self, side: str) -> int | None:
        """Which element of the sub-module's output is this stage (None: the output itself)."""
        if self.layer is None:
            return None
        _, ours, _, theirs = LAYER_KINDS[self.kind]
        return ours if side == "ours" else theirs


def stages(num_layers: int) -> list[Stage]:
    """Every stage, in the order the forward pass computes them."""
    return [Stage("embeddings")] + [Stage(kind, i) for i in range(num_layers) for kind in LAYER_KINDS]


class _Enough(Exception):
    """Raised by a hook once the last stage wanted is recorded: the rest of the pass is not needed."""


def record(
    model: torch.nn.Module,
    run: Callable[[], object],
    side: str,
    wanted: Sequence[Stage],
    last: Stage | None = None,
) -> tuple[dict[str, torch.Tensor | str], Exception | None]:
    """Run `run()` with forward hooks on `model`; return ({stage name: value}, the error `run` raised).

    A value is the stage's tensor, or a sentence saying why there is none (no such
    sub-module, never called, an output of the wrong kind); the stages after an error
    have none. Each sub-module's first call counts. With `last`, the pass stops as soon as
    that stage is recorded.
    """
    outputs, handles, missing = {}, [], {}
    paths = {stage.path(side) for stage in wanted}
    stop_at = last.path(side) if last else None
    for path in sorted(paths):
        try:
            module = model.get_submodule(path)
        except AttributeError:
            missing[path] = f"your Encoder has no sub-module {path}"
            continue

        def hook(module, inputs, output, path=path):
            if path not in outputs:
                outputs[path] = _copied(output)  # a later in-place `x += ...` must not change it
            if path == stop_at:
                raise _Enough

        handles.append(module.register_forward_hook(hook))
    error = None
    try:
        with torch.no_grad():
            run()
    except _Enough:
        pass
    except Exception as raised:  # the implementation under test may fail in any way
        error = raised
    finally:
        for handle in handles:
            handle.remove()
    values: dict[str, torch.Tensor | str] = {}
    for stage in wanted:
        path = stage.path(side)
        if path in missing:
            values[stage.name] = missing[path]
        elif path in outputs:
            values[stage.name] = _pick(outputs[path], stage.part(side), path)
        elif error is None:  # after an error, the stages not reached have no value
            values[stage.name] = f"{path} was never called"
        if stage == last:
            break
    return values, error


def _copied(output):
    if isinstance(output, torch.Tensor):
        return output.detach().clone()
    if isinstance(output, tuple):
        return tuple(_copied(item) for item in output)
    return output


def _pick(output, part, path):
    if part is not None:
        if not (isinstance(output, tuple) and len(output) == 2):
            return f"{path} returned {type(output).__name__}, expected a pair (out, weights)"
        output = output[part]
    if not isinstance(output, torch.Tensor):
        return f"{path} returned {type(output).__name__}, expected a tensor"
    return output
