"""Where does my BERT diverge? Your encoder and Hugging Face's BertModel, side by side.

    kata diverge "The cat sat on the mat."
    kata diverge "The cat sat on the mat." --pair "It was asleep."
    kata diverge "..." --solutions          (or --submission DIR)

Both models get the same pretrained weights and your sentence. Every stage (the
embeddings, then in each layer the attention weights, the attention output, the first
norm, the feed-forward output and the second norm) is compared on the real tokens. The
table stops at the first stage that differs, says what that stage computes and where to
look, and names the known mistake (kata/course/) that gives exactly your numbers
when there is one.

Exit code: 0 when every stage matches, 1 at a divergence, 2 when the comparison cannot
run (an unfinished exercise, a file that does not import, no weights, a usage error).
"""

import argparse
import copy
import functools
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from kata import COURSE, SOLUTIONS, course
from kata.cli import exercises_folder, source_options
from kata.core.compare import SAME_MISTAKE, WHOLE_MODEL, Mismatch, expect_close
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_NOT_YET, EXIT_OK
from kata.core.loading import ExerciseImportError, load_stack
from kata.core.mistakes import applicable
from kata.core.paths import shown_path, where_raised
from kata.core.weights import INSTALL_HINT, load_pretrained, pretrained_source
from kata.course import mistakes_for
from kata.feedback.diagnosis import Match, explain, variant_folder
from kata.feedback.stages import Stage, record, stages
from kata.grader.grading import find_submission

if TYPE_CHECKING:
    from transformers import BertConfig, BertModel, PreTrainedTokenizerBase


# A stage matches within a whole model's tolerance in float32, as the tests allow, plus a
# relative part for the stages before a norm, whose values grow past 30 on long sentences.
TOLERANCE, RELATIVE_TOLERANCE = WHOLE_MODEL, 1e-5

# The exercises whose known mistakes can first show at each kind of stage. encoder.py is
# always a suspect: it wires every stage together and loads every weight.
SUSPECTS = {
    "embeddings": ("positional", "layer_norm", "encoder"),
    "attention weights": ("attention", "multi_head", "encoder"),
    "attention output": ("attention", "multi_head", "encoder"),
    "first norm": ("layer_norm", "encoder"),
    "feed-forward": ("feed_forward", "encoder"),
    "second norm": ("layer_norm", "encoder"),
}


class CannotRun(Exception):
    """The comparison cannot run at all; the message says why and what to do."""


@dataclass
class StageComparison:
    ok: bool
    line: str  # the table's result column
    count: str = ""  # how many values are off, when a tensor differs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("\n\n", 2)[2]  # what it compares, and the exit codes
    parser.add_argument("sentence", help="the sentence to run both models on")
    parser.add_argument(
        "--pair", metavar="SENTENCE", help="a second sentence (token type 1), as BERT's pairs"
    )
    source_options(parser, "compare")


def run(args: argparse.Namespace) -> int:
    """Compare the chosen encoder with BertModel: EXIT_OK when every stage matches, EXIT_NOT_YET at a
    divergence, EXIT_CANNOT_RUN when the comparison cannot run (the reason is printed)."""
    torch.set_num_threads(1)  # one sentence: more threads only add overhead, and spin on a busy machine
    try:
        return compare(folder_of(args), args.sentence, args.pair)
    except CannotRun as reason:
        print(reason)
        return EXIT_CANNOT_RUN


def folder_of(args: argparse.Namespace) -> Path:
    if args.solutions:
        return SOLUTIONS
    return find_submission(args.submission) if args.submission else exercises_folder()


# ---- running both models -------------------------------------------------------------


def encode(tokenizer: "PreTrainedTokenizerBase", sentence: str, pair: str | None = None) -> dict[str, Any]:
    """input_ids, token_type_ids, attention_mask, each (1, L), as BertModel takes them."""
    return dict(tokenizer(sentence, pair, truncation=True, return_tensors="pt"))


def run_bert(bert: "BertModel", inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every stage of Hugging Face's BertModel on `inputs`."""
    return _bert_stages(bert, _frozen(inputs))


@functools.cache
def _bert_stages(bert, inputs_key):
    inputs = _thawed(inputs_key)
    values, error = record(bert, lambda: bert(**inputs), "theirs", stages(bert.config.num_hidden_layers))
    if error is not None:
        raise error
    return values


def build_learners(folder: Path, bert: "BertModel") -> object:
    """The learner's Encoder, every module theirs, with the pretrained weights; raises CannotRun."""
    try:
        stack = load_stack(folder)
        return stack.Encoder.from_hf(bert)
    except ExerciseImportError as error:
        raise CannotRun(f"{error}\nFix that file first: the comparison runs your whole encoder.") from error
    except NotImplementedError as error:
        raise CannotRun(unfinished(error, folder)) from error
    except Exception as error:  # the learner's loading code may fail in any way
        raise CannotRun(
            f"Encoder.from_hf(BertModel) raised {type(error).__name__}: {error}\n"
            f"  at {place_of(error, folder)}\n"
            f"Loading the weights must work before the stages can be compared: pytest tests/test_encoder.py"
        ) from error


def unfinished(error: BaseException, folder: Path) -> str:
    where = place_of(error, folder)
    return (
        f"Not finished yet: {where} raises NotImplementedError ({error}).\n"
        f"The comparison runs your whole encoder, so it needs exercises 1 to {course.number(course.CAPSTONE_OF)}; "
        f"`python grader.py` shows which are done."
    )


def place_of(error: BaseException, folder: Path) -> str:
    """file:line where the learner's code in `folder` raised `error`; else the innermost frame
    (then the kata's own code raised it), to say where to look all the same."""
    return where_raised(error, folder) or where_raised(error) or "an unknown place"


# ---- comparing -----------------------------------------------------------------------


def considered(stage: Stage, attention_mask: torch.Tensor) -> torch.Tensor:
    """Where a stage's values count: real tokens only (for the weights, real query and key)."""
    real = attention_mask.bool()
    if stage.kind == "attention weights":
        return real[:, None, :, None] & real[:, None, None, :]  # (B, 1, L, L)
    return real[:, :, None]  # (B, L, 1)


def judge(
    stage: Stage, yours: torch.Tensor | str, theirs: torch.Tensor, where: torch.Tensor, tokens: Sequence[str]
) -> StageComparison:
    """Does the learner's stage match BERT's? The comparison says by how much and where, if not."""
    if isinstance(yours, str):
        return StageComparison(False, yours)
    try:
        expect_close(yours, theirs, atol=TOLERANCE, rtol=RELATIVE_TOLERANCE, what=stage.name, where=where)
    except Mismatch as mismatch:
        if yours.shape != theirs.shape or not torch.isfinite(yours).all():
            return StageComparison(False, str(mismatch).split(": ", 1)[1].split("\n")[0])
        difference = ((yours.double() - theirs.double()).abs() * where).nan_to_num(0.0)
        index = tuple(int(i) for i in (difference == difference.max()).nonzero()[0])
        allowed = TOLERANCE + RELATIVE_TOLERANCE * theirs.double().abs()
        off = int(((difference > allowed) & where.expand_as(difference)).sum())
        total = int(where.expand_as(difference).sum())
        return StageComparison(
            False,
            f"DIFFERS by {difference[index]:.3g} at {locate(stage, index, tokens)} "
            f"(yours {yours[index]:.6g}, BERT's {theirs[index]:.6g})",
            f"{off} of its {total} values on real tokens are off",
        )
    largest = ((yours.double() - theirs.double()).abs() * where).max()
    return StageComparison(True, f"OK (largest difference {largest:.1e})")


def locate(stage: Stage, index: tuple[int, ...], tokens: Sequence[str]) -> str:
    """An index into a stage's tensor, in words: which token, feature, head."""
    if stage.kind == "attention weights":
        _, head, query, key = index
        return f"head {head}, from {tokens[query]!r} (token {query}) to {tokens[key]!r} (token {key})"
    _, token, feature = index
    return f"token {token} {tokens[token]!r}, feature {feature}"


def agrees(value: object, theirs: torch.Tensor, where: torch.Tensor) -> bool:
    """Whether a stage's value matches BERT's to within the tolerance on real tokens."""
    try:
        expect_close(value, theirs, atol=TOLERANCE, rtol=RELATIVE_TOLERANCE, what="stage", where=where)
    except Mismatch:
        return False
    return True


def same_numbers(yours: object, theirs: object, where: torch.Tensor) -> bool:
    """Whether two wrong results are the same wrong result (up to rounding)."""
    if not (isinstance(yours, torch.Tensor) and isinstance(theirs, torch.Tensor)):
        return yours == theirs
    if yours.shape != theirs.shape:
        return False
    close = torch.isclose(
        yours.double(), theirs.double(), rtol=SAME_MISTAKE, atol=SAME_MISTAKE, equal_nan=True
    )
    return bool((close | ~where).all())


# ---- naming the mistake --------------------------------------------------------------


@functools.cache  # one per sentence and depth, shared by every mistake tried
def miniature(
    bert: "BertModel", inputs_key: tuple[tuple[str, tuple[int, ...]], ...], num_layers: int
) -> tuple["BertModel", dict[str, torch.Tensor]]:
    """The smallest BertModel that computes what `bert` does on one sentence in its first layers.

    Its vocabulary is only the sentence's tokens and it keeps only `num_layers` layers,
    so building an encoder from it takes milliseconds, not the full model's half second.
    (It keeps every position: a mistake such as numbering them from 1 reads past the
    sentence's length.) Returns (model, its inputs: the same sentence in the small
    vocabulary).
    """
    from transformers import BertModel

    inputs = _thawed(inputs_key)
    vocabulary, input_ids = torch.unique(inputs["input_ids"], return_inverse=True)
    config = copy.deepcopy(bert.config)
    config.vocab_size, config.num_hidden_layers = len(vocabulary), num_layers
    model = BertModel(config, add_pooling_layer=False).eval()
    kept = model.state_dict().keys()
    weights = {name: weight for name, weight in bert.state_dict().items() if name in kept}
    weights["embeddings.word_embeddings.weight"] = weights["embeddings.word_embeddings.weight"][vocabulary]
    model.load_state_dict(weights)
    return model, {**inputs, "input_ids": input_ids}


def diagnose(
    stage: Stage,
    yours: dict[str, torch.Tensor | str],
    bert: "BertModel",
    inputs: dict[str, torch.Tensor],
    theirs: dict[str, torch.Tensor],
) -> list[Match]:
    """The known mistakes (kata/course/) whose implementation first diverges at `stage` with
    the learner's numbers there, exact ones first and alone; [] when none does (we never guess).

    Each suspect mistake's encoder (the reference with that one mistake) runs on the same
    sentence, with the same pretrained weights, to the end of the layer of `stage`. A match is
    exact when the learner's numbers are the mistake's at every stage from `stage` to the end of
    that layer: two mistakes can agree at one stage (a left-out residual and a norm applied before
    the residual give the same first norm) and part after it. Agreeing at `stage` alone: "looks like".
    """
    num_layers = 0 if stage.layer is None else stage.layer + 1
    computed = stages(num_layers)
    wanted = computed[: computed.index(stage) + 1]
    after = computed[computed.index(stage) + 1 :]  # the rest of its layer: computed from it
    where = {s.name: considered(s, inputs["attention_mask"]) for s in computed}
    matches = []
    for exercise in SUSPECTS[stage.kind]:
        for mistake in applicable(mistakes_for(exercise)):  # a stale entry is skipped, with a warning
            values = _mistake_stages(mistake, bert, _frozen(inputs), num_layers)
            first = next(
                (s for s in wanted if not agrees(values.get(s.name), theirs[s.name], where[s.name])), None
            )
            if first == stage and same_numbers(yours[stage.name], values.get(stage.name), where[stage.name]):
                later = all(same_numbers(yours[s.name], values.get(s.name), where[s.name]) for s in after)
                matches.append(Match(mistake, exact=later))
    exact = [match for match in matches if match.exact]
    return exact or matches


def _frozen(inputs):
    """A batch of one sentence as a hashable key (see _thawed)."""
    return tuple((name, tuple(tensor[0].tolist())) for name, tensor in sorted(inputs.items()))


def _thawed(key):
    return {name: torch.tensor([values]) for name, values in key}


@functools.cache  # the tests diagnose several learners on one sentence: each mistake runs once
def _mistake_stages(mistake, bert, inputs_key, num_layers):
    """Every stage of the reference with `mistake` in it, on a miniature of `bert`; {} if it fails to load."""
    model, model_inputs = miniature(bert, inputs_key, num_layers)
    try:
        encoder = load_stack(variant_folder(mistake)).Encoder.from_hf(model).eval()
    except Exception:  # a mistake may break loading: then it is not the learner's
        return {}
    values, _ = record(encoder, lambda: encoder(**model_inputs), "ours", stages(num_layers))
    return values


# ---- the command ---------------------------------------------------------------------


def compare(folder: Path, sentence: str, pair: str | None = None) -> int:
    """Print the stage-by-stage comparison; return the exit code."""
    if pretrained_source() is None:
        raise CannotRun(INSTALL_HINT)
    bert, tokenizer = load_pretrained()
    inputs = encode(tokenizer, sentence, pair)
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    theirs = run_bert(bert, inputs)
    every_stage = stages(bert.config.num_hidden_layers)
    yours, error = learners_stages(folder, bert, inputs, every_stage)

    print(f"Your encoder ({shown_path(folder)}/) against Hugging Face's BertModel, same pretrained weights,")
    print(f"on {len(tokens)} tokens: {' '.join(tokens)}")
    print(
        f"A stage matches when it is within {TOLERANCE:g} + {RELATIVE_TOLERANCE:g} x |BERT's value| on every real token."
    )
    print(f"\n  {'stage':<28} result")
    for number, stage in enumerate(every_stage):
        where = considered(stage, inputs["attention_mask"])
        comparison = judge(stage, yours[stage.name], theirs[stage.name], where, tokens)
        print(f"  {stage.name:<28} {comparison.line}")
        if comparison.ok:
            continue
        later = len(every_stage) - number - 1
        if later:
            print(f"  ... {later} later stages not compared: each is computed from this one.")
        print(f"\nFirst difference: {stage.name}" + (f" ({comparison.count})." if comparison.count else "."))
        if error is not None and isinstance(yours[stage.name], str):
            print(paragraph(f"Your code raised {type(error).__name__}: {error}"))
        print(paragraph(explanation(stage, folder, bert.config)))
        if error is None or isinstance(yours[stage.name], torch.Tensor):
            diagnosis = explain(diagnose(stage, yours, bert, inputs, theirs))
            if diagnosis:
                print(paragraph(diagnosis.strip()))
        return EXIT_NOT_YET
    print("\nEvery stage matches: your encoder computes what BERT computes. Well done!")
    return EXIT_OK


def learners_stages(
    folder: Path, bert: "BertModel", inputs: dict[str, torch.Tensor], every_stage: Sequence[Stage]
) -> tuple[dict[str, torch.Tensor | str], Exception | None]:
    """({stage name: the learner's value, or what went wrong}, the error their forward raised)."""
    encoder = build_learners(folder, bert)
    if not isinstance(encoder, torch.nn.Module):  # the NumPy track: no sub-modules to hook
        raise CannotRun(
            "The comparison hooks into your encoder's sub-modules as it runs, so it needs the PyTorch "
            f"track: the Encoder in {shown_path(folder)}/ is not an nn.Module (is it the NumPy track's?)."
        )
    if encoder.training:
        print(
            "Note: Encoder.from_hf returned your encoder in training mode (dropout on); BertModel is in\n"
            "eval(), so yours is compared in eval() too. from_hf should return the encoder in the model's\n"
            f"mode: see {shown_path(folder / 'encoder.py')}.\n"
        )
        encoder.eval()
    yours, error = record(encoder, lambda: encoder(**inputs), "ours", every_stage)
    if isinstance(error, NotImplementedError):
        raise CannotRun(unfinished(error, folder))
    if error is not None:
        raised = f"not computed: your code raised {type(error).__name__} at {place_of(error, folder)}"
        for stage in every_stage:
            yours.setdefault(stage.name, raised)
    return yours, error


def explanation(stage: Stage, folder: Path, config: "BertConfig") -> str:
    """What `stage` computes and where to look, with this model's sizes and the learner's file names."""
    return course.diverge_explanation(stage.kind).format(
        layer=stage.layer,
        eps=config.layer_norm_eps,
        heads=config.num_attention_heads,
        head_width=config.hidden_size // config.num_attention_heads,
        width=config.hidden_size,
        **{name: shown_path(folder / f"{name}.py") for name in COURSE},
    )


def paragraph(text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)
