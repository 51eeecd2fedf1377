"""What a graded check is, and the building blocks its probes and comparisons are made of.

A check has two halves. Its *probe* runs an implementation on inputs it makes itself
(seeded, so every process makes the same ones) and returns plain outputs: tensors,
strings, numbers. Its *comparison* (`Check.compare`) holds those outputs with the reference's and raises
`Mismatch` with the tests' own words (kata.core.compare) when they differ. The grader runs
the probe in a sandboxed child and the comparison in its own process; pytest runs both in
process (the check's twin test). The checks themselves, with their points, live with their
exercise in kata/course/.
"""

import contextvars
import functools
import random
import threading
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import torch
from torch import nn

from kata import SOLUTIONS
from kata.core import wire
from kata.core.compare import ONE_OP, WHOLE_MODEL, Mismatch, expect_close, expect_shape


@dataclass(frozen=True)
class Check:
    group: str  # an exercise of the course, or "capstone"
    slug: str  # stable identifier within the group
    title: str  # what a correct implementation does, for people
    points: float
    probe: Callable[[ModuleType], dict[str, object]]  # probe(module) -> dict of outputs
    # output key -> (what it is, likely mistake)
    hints: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)
    atol: float = ONE_OP
    needs_weights: bool = False  # needs the pretrained BERT weights
    # judge(actual, expected) for checks that are not "same as the reference"
    judge: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
    # The NumPy track is inference only: a check that needs train mode names the probe it has
    # instead (same points): the module accepts dropout=0.5 and, as in eval(), never applies it.
    inference_only_probe: Callable[[ModuleType], dict[str, object]] | None = None
    # The width of a query in the attention weights it compares, for what_the_numbers_show
    # (kata.core.compare) to name a scale of sqrt(d); an output's `{key}__input` is what it was given.
    d_head: int | None = None
    # A hidden check (the Gradescope zip's, kata/grader/hidden.py): the seed its probe's inputs are
    # drawn from (hidden_twin); None for the public checks, whose inputs are the ones in this repository.
    hidden_seed: int | None = None

    @property
    def name(self) -> str:
        return f"{self.group}/{self.slug}"

    @property
    def hidden(self) -> bool:
        return self.hidden_seed is not None

    def compare(self, actual: dict[str, Any], expected: dict[str, Any]) -> None:
        """Raise Mismatch unless `actual` (the learner's outputs) matches `expected` (the reference's)."""
        if self.judge is not None:
            return self.judge(actual, expected)
        for key, reference in expected.items():
            if key.endswith(("__where", "__input")):
                continue
            what, hint = self.hints.get(key, (key.replace("_", " "), None))
            if key not in actual:
                raise Mismatch(f"{what}: no output (the probe did not get this far)")
            if isinstance(reference, torch.Tensor):
                where = expected.get(f"{key}__where")
                given = expected.get(f"{key}__input")
                expect_close(
                    actual[key],
                    reference,
                    atol=self.atol,
                    what=what,
                    hint=hint,
                    where=where,
                    inputs={"its input": given} if isinstance(given, torch.Tensor) else None,
                    d_head=self.d_head,
                )
            elif actual[key] != reference:
                raise Mismatch(f"{what}: {describe_difference(actual[key], reference)}" + likely(hint))


def likely(hint: str | None) -> str:
    return f"\n  Where to look: {hint}" if hint else ""


def describe_difference(value: object, reference: object) -> str:
    if isinstance(value, list) and isinstance(reference, list):
        missing = [item for item in reference if item not in value]
        unexpected = [item for item in value if item not in reference]
        return f"missing {missing or 'nothing'}; unexpected {unexpected or 'nothing'}"
    return f"got {value!r}, expected {reference!r}"


def judge_error(
    *calls: tuple[str, Sequence[str], Sequence[str]],
) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """A judge for checks whose probe records what calls raised: each (prefix, error names, must mention),
    and a "working" output that the same code gives for a valid input."""

    def judge(actual: dict[str, Any], expected: dict[str, Any]) -> None:
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


def judge_dropout_in_train_only(
    what: dict[str, str], scaled: Collection[str]
) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """A judge for modules built with dropout=0.5: in eval() they match the reference; in
    train() about half of each `{key}_train` output is zero and, for the keys in `scaled`,
    the rest is the eval output doubled (dropout is the last thing applied)."""

    def judge(actual: dict[str, Any], expected: dict[str, Any]) -> None:
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


# ---- inputs: seeded, and moved by a hidden check's seed -----------------------------------
#
# Every seed a probe passes to randn, generator and fill_parameters goes through seeded(), and every
# size it declares with sized(): the public checks get the numbers written in the probe; a hidden
# check (hidden_twin, the Gradescope zip's) runs the same probe with its own seed added to each one
# and sizes drawn from the alternatives, so its inputs are ones no student has seen.

_hidden_seed: contextvars.ContextVar[int | None] = contextvars.ContextVar("kata_hidden_seed", default=None)


def hidden_seed() -> int | None:
    """The seed of the hidden check whose probe is running, or None in a public one."""
    return _hidden_seed.get()


def seeded(seed: int) -> int:
    """The seed a probe asked for: itself in a public check, moved by the hidden check's seed in a hidden one
    (the same offset for every seed of a probe, so inputs the probe makes equal stay equal)."""
    hidden = _hidden_seed.get()
    return seed if hidden is None else seed + hidden


def generator(seed: int) -> torch.Generator:
    """A torch generator seeded with seeded(seed)."""
    return torch.Generator().manual_seed(seeded(seed))


def sized(public: int, *hidden: int) -> int:
    """A size of a probe's input: `public` in the public check, one of `hidden` (chosen by the hidden
    check's seed) in a hidden one. Declare alternatives only where every one of them works in the probe."""
    seed = _hidden_seed.get()
    if seed is None or not hidden:
        return public
    return random.Random(f"{seed}:{public}:{hidden}").choice(hidden)


def run_hidden(
    probe: Callable[[ModuleType], dict[str, object]], seed: int, module: ModuleType
) -> dict[str, object]:
    """Run `probe` on `module` with the hidden seed `seed` in force (a hidden check's probe)."""
    token = _hidden_seed.set(seed)
    try:
        return probe(module)
    finally:
        _hidden_seed.reset(token)


HIDDEN_SUFFIX = " (hidden)"


def hidden_twin(check: Check, seed: int, points: float = 0.0) -> Check:
    """`check` on inputs drawn from `seed` (its values and, where the probe declares them, its sizes):
    named `<group>/<slug> (hidden)`, worth `points`. The Gradescope zip grades these (kata/grader/hidden.py)."""
    return replace(
        check,
        slug=check.slug + HIDDEN_SUFFIX,
        title=f"{check.title}, on inputs you have not seen",
        points=points,
        # The public check's words describe its own inputs; this one's are others of the same kind.
        hints={
            key: (f"{what} (so in the public check; here other inputs of its kind)", hint)
            for key, (what, hint) in check.hints.items()
        },
        probe=functools.partial(run_hidden, check.probe, seed),
        inference_only_probe=None,
        hidden_seed=seed,
    )


def randn(*shape: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=generator(seed), dtype=dtype)


def fill_parameters(module: nn.Module, seed: int) -> nn.Module:
    """Give every parameter a seeded value drawn from its name, so two modules with the
    documented parameter names get identical weights whatever order they were made in."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            drawn = torch.Generator().manual_seed(seeded(seed) + zlib.crc32(name.encode()))
            value = 0.3 * torch.randn(parameter.shape, generator=drawn)
            owner = name.split(".")[-2] if "." in name else ""
            if owner.startswith("norm") and name.endswith("weight"):
                value += 1.0  # layer-norm scales near one
            parameter.copy_(value)
    return module.eval()


def parameter_names(module: nn.Module) -> list[str]:
    """The structure part of an output: 'name (shape)' for every parameter, sorted."""
    return sorted(f"{name} {tuple(parameter.shape)}" for name, parameter in module.named_parameters())


def raised(prefix: str, description: str, call: Callable[[], object]) -> dict[str, str]:
    """Outputs describing what `call()` raised (or that it raised nothing)."""
    outputs = {f"{prefix}_call": description, f"{prefix}_raised": "nothing", f"{prefix}_message": ""}
    try:
        call()
    except NotImplementedError:
        raise
    except Exception as error:  # the judge decides whether this was the right error
        outputs.update({f"{prefix}_raised": type(error).__name__, f"{prefix}_message": str(error)[:300]})
    return outputs


def padding_mask(lengths: Sequence[int], length: int) -> torch.Tensor:
    """(B, 1, 1, L) boolean key mask from the real lengths of each row."""
    return (torch.arange(length) < torch.tensor(lengths)[:, None])[:, None, None, :]


# ---- probes, one per check ---------------------------------------------------------


def working(call: str, output: object) -> dict[str, object]:
    return {"working_call": call, "working": output}


def inference_only(check: Check) -> Check:
    """The NumPy track's check in place of `check`, which needs train mode: same exercise and points."""
    return replace(
        check,
        slug=f"{check.slug}_inference_only",
        title="accepts dropout=0.5 and, inference only, never applies it (as in eval())",
        probe=check.inference_only_probe,  # type: ignore[arg-type]  # for_track asks only when there is one
        hints={},
        judge=None,
        inference_only_probe=None,
    )


def for_track(checks: Iterable[Check], track: str) -> tuple[Check, ...]:
    """`checks` as the `track` runs them: on the NumPy track, each train-mode check replaced."""
    if track == "torch":
        return tuple(checks)
    return tuple(inference_only(c) if c.inference_only_probe is not None else c for c in checks)


# ---- running a check in process: its pytest twin, the grader's scores and diagnosis -----

_reference_cache: dict[tuple[str, int | None], dict[str, object]] = {}
# Several submissions may be graded at once, and loading modules is not thread-safe; a
# diagnosis re-enters it while it holds it.
reference_lock = threading.RLock()


def through_the_wire(outputs: dict[str, object]) -> dict[str, object]:
    """Outputs as the grader receives them from a child (kata.core.wire): the same in every path."""
    return {key: wire.decode(wire.encode(value)) for key, value in outputs.items()}


def reference_outputs(check: Check) -> dict[str, object]:
    """The PyTorch reference's outputs for `check` (both tracks are held to it), computed once."""
    from kata.core.loading import load, load_stack
    from kata.core.recorded import handout_mode, recorded_outputs

    if handout_mode():  # a student handout: the reference's outputs recorded when it was built
        return recorded_outputs(check.name)

    with reference_lock:
        key = (check.name, check.hidden_seed)  # a hidden check's inputs depend on its seed
        if key not in _reference_cache:
            if check.group == "capstone":
                module = load_stack(SOLUTIONS)
            else:
                module = load(check.group, SOLUTIONS)
            _reference_cache[key] = through_the_wire(check.probe(module))
        return _reference_cache[key]


def run_check(check: Check, module: ModuleType) -> None:
    """Run `check` on `module` in this process and raise `Mismatch` unless it passes.

    The same probe, encoding and comparison as the grader's, so the test and the grade agree."""
    check.compare(through_the_wire(check.probe(module)), reference_outputs(check))
