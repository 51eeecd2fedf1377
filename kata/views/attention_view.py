"""See what an encoder attends to: pictures of its attention on one sentence (or pair), offline.

    kata view "The cat sat on the mat." [--pair "It was asleep."]
        [--solutions | --submission DIR] [--layer N] [--head N] [--pad N] [--out DIR]

Tokenizes the text with the pretrained model's own tokenizer, runs the chosen
implementation's whole encoder (Encoder.from_hf, every module from that folder) and
Hugging Face's BertModel on the same tokens, and writes into DIR:

    layer{N}_heads_{encoder,bertmodel,difference}.png   every head of layer N
    layer{N}_head{M}_{encoder,bertmodel,difference}.png head M of layer N, large
    attention.html   every layer and head, as lines between tokens and as a heatmap

Layers and heads count from 0, as in `attentions[layer][:, head]`. Without --layer and
--head it shows the first place where the encoder disagrees with BertModel, or layer 0,
head 0 when they agree. An encoder that is not finished yet, or missing weights, end the
command with one clear paragraph and exit code 2, never a traceback.
"""

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from kata import EXERCISES, SOLUTIONS
from kata.cli import exercises_folder
from kata.core.compare import WHOLE_MODEL
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_OK
from kata.core.loading import ExerciseImportError, load_stack
from kata.core.paths import shown_path, where_raised
from kata.core.weights import INSTALL_HINT, load_pretrained, pretrained_source
from kata.views.attention_figures import attention_scale, difference_scale, head_figure, heads_figure, save
from kata.views.attention_page import page

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

PAGE = "attention.html"
TITLE_TEXT_WIDTH = 90  # characters of the text in a picture's title, so that it fits


class CannotShow(Exception):
    """A reason to stop with one clear paragraph instead of pictures."""


@dataclass
class Attention:
    """Both models' attention on one input: weights are (layers, H, L, L), rows are queries."""

    tokens: Sequence[str]
    encoder: np.ndarray
    bertmodel: np.ndarray

    @property
    def difference(self) -> np.ndarray:
        return self.encoder - self.bertmodel


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Draw the attention of your encoder (and of Hugging Face's BertModel) on a sentence."
    parser.add_argument("sentence", help="the text to encode")
    parser.add_argument("--pair", metavar="TEXT", help="a second sentence (token type 1), as in BERT's pairs")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--solutions", action="store_true", help="the reference solutions/")
    which.add_argument("--submission", metavar="DIR", type=folder_with_encoder, help="the six modules in DIR")
    parser.add_argument(
        "--layer", type=int, metavar="N", help="the layer to draw, from 0 (default: see below)"
    )
    parser.add_argument("--head", type=int, metavar="N", help="the head to draw large, from 0")
    parser.add_argument(
        "--pad", type=padding, default=0, metavar="N", help="append N padding tokens, to see the mask at work"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("attention_view"), metavar="DIR", help="default: ./attention_view"
    )
    parser.epilog = (
        "Without --layer and --head: the first head where the encoder disagrees with BertModel, "
        "else layer 0, head 0."
    )


def folder_with_encoder(text: str) -> Path:
    """--submission DIR: a folder with an encoder.py, as exercises/ is."""
    if not (Path(text) / "encoder.py").is_file():
        raise argparse.ArgumentTypeError(f"{text} has no encoder.py; point it at a folder like exercises/")
    return Path(text)


def padding(text: str) -> int:
    """--pad N: a number of tokens, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: a number of padding tokens, 0 or more")
    return int(text)


def implementation(args: argparse.Namespace) -> tuple[Path, str]:
    """(folder, how the pictures name it) for the implementation chosen on the command line."""
    if args.solutions:
        return SOLUTIONS, "the reference encoder (solutions/)"
    if args.submission:
        return args.submission.resolve(), f"the encoder in {shown_path(args.submission)}"
    return exercises_folder(), "your encoder (exercises/)"


def tokenize(
    tokenizer: "PreTrainedTokenizerBase", sentence: str, pair: str | None, pad: int
) -> dict[str, Any]:
    """A batch of one: input_ids, token_type_ids, attention_mask (1, L), with `pad` padding tokens at the end."""
    length = len(tokenizer(sentence, pair)["input_ids"])
    padding = {"padding": "max_length", "max_length": length + pad} if pad else {}
    return dict(tokenizer(sentence, pair, return_tensors="pt", **padding))


def run_both(folder: Path, name: str, args: argparse.Namespace) -> Attention:
    """Run the implementation in `folder` and BertModel on the command line's text."""
    if pretrained_source() is None:
        raise CannotShow(INSTALL_HINT)
    try:
        bert, tokenizer = load_pretrained()
    except OSError as error:
        raise CannotShow(
            f"could not load the pretrained weights from {pretrained_source()}: {error}"
        ) from None
    batch = tokenize(tokenizer, args.sentence, args.pair, args.pad)
    length, most = batch["input_ids"].shape[1], bert.config.max_position_embeddings
    if length > most:
        raise CannotShow(f"the text is {length} tokens long; the model takes at most {most}")
    with torch.no_grad():
        theirs = bert(**batch, output_attentions=True).attentions
        ours = run_learner_code(
            folder, name, lambda: load_stack(folder).Encoder.from_hf(bert).eval()(**batch)
        )
    expected = tuple(theirs[0].shape)
    attentions: Any = getattr(ours, "attentions", None)  # whatever the learner's Encoder returned
    shapes = [tuple(getattr(weights, "shape", ())) for weights in attentions or ()]
    if shapes != [expected] * len(theirs):
        raise CannotShow(
            f"{name} returned attentions of shapes {shapes or attentions!r}; expected {len(theirs)} "
            f"tensors of shape {expected} (one per layer, (B, H, L, L)). pytest tests/test_encoder.py "
            "says what is wrong"
        )
    return Attention(
        tokens=tokenizer.convert_ids_to_tokens(batch["input_ids"][0]),
        encoder=torch.stack([weights[0] for weights in attentions]).double().numpy(),
        bertmodel=torch.stack([weights[0] for weights in theirs]).double().numpy(),
    )


def encoder_attention(
    sentence: str, pair: str | None = None, folder: Path = EXERCISES
) -> tuple[Sequence[torch.Tensor], Sequence[str]]:
    """(attentions, tokens) of the encoder in `folder` on the text, for bertviz's head_view(attention, tokens).

    An Encoder's `attentions` (one (1, H, L, L) tensor per layer) are already what bertviz takes.
    """
    bert, tokenizer = load_pretrained()
    inputs = tokenize(tokenizer, sentence, pair, pad=0)
    with torch.no_grad():
        attentions = load_stack(folder).Encoder.from_hf(bert).eval()(**inputs).attentions
    return attentions, tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])


def run_learner_code(folder: Path, name: str, call: Callable[[], object]) -> object:
    """call(), with what goes wrong inside the implementation's own files said in one paragraph."""
    try:
        return call()
    except ExerciseImportError as error:
        raise CannotShow(f"{error}. Fix it, or add --solutions to see the reference.") from None
    except Exception as error:
        where = where_raised(error, folder)
        if where is None:
            raise  # not the implementation's fault: a real bug, keep its traceback
        if isinstance(error, NotImplementedError):
            raise CannotShow(
                f"{name} is not finished yet: {where} ({error}).\n"
                "The pictures need every exercise done; `pytest` and `python grader.py` show what is "
                "left. To see the reference's attention now, add --solutions."
            ) from None
        raise CannotShow(
            f"{name} raised {type(error).__name__} at {where}: {error}\n"
            "`pytest` finds the mistake with a clearer message."
        ) from None


def choose(args: argparse.Namespace, attention: Attention) -> tuple[int, int, str]:
    """(layer, head, why): the ones asked for, else the first disagreement, else (0, 0)."""
    layers, heads = attention.encoder.shape[:2]
    if args.layer is not None and not 0 <= args.layer < layers:
        raise CannotShow(f"--layer {args.layer}: the model has {layers} layers, 0 to {layers - 1}")
    if args.head is not None and not 0 <= args.head < heads:
        raise CannotShow(f"--head {args.head}: each layer has {heads} heads, 0 to {heads - 1}")
    worst = np.abs(attention.difference).max(axis=(2, 3))  # (layers, H); NaN where the encoder gave NaN
    disagreeing = ~(worst <= WHOLE_MODEL)
    layer = args.layer
    if layer is None:
        layer = int(np.argmax(disagreeing.any(axis=1))) if disagreeing.any() else 0
    head = args.head
    if head is None:
        head = int(np.argmax(np.nan_to_num(worst[layer], nan=np.inf))) if disagreeing[layer].any() else 0
    chosen = args.layer is not None and args.head is not None
    why = "as asked" if chosen else "the first that disagrees" if disagreeing.any() else "the default"
    return layer, head, why


def agreement_line(attention: Attention, name: str) -> str:
    worst = np.abs(attention.difference)
    if not np.isfinite(attention.encoder).all():
        return f"{name} gives NaN or infinite attention weights (magenta in the pictures)."
    largest = float(worst.max())
    if largest <= WHOLE_MODEL:
        return f"{name} agrees with BertModel everywhere (largest difference {largest:.1g})."
    layer, head = (int(i) for i in np.unravel_index(worst.argmax(), worst.shape)[:2])
    return (
        f"{name} disagrees with BertModel by up to {largest:.2g} (at layer {layer}, head {head}): "
        "the difference pictures show where."
    )


def write_pictures(
    out: Path, attention: Attention, layer: int, head: int, name: str, text: str
) -> list[tuple[str, str]]:
    """Write the six PNGs and the page into `out`; return [(file name, what it shows)]."""
    out.mkdir(parents=True, exist_ok=True)
    short_text = textwrap.shorten(text, TITLE_TEXT_WIDTH, placeholder=" ...")  # the page shows it whole
    sources = (
        ("encoder", name, attention.encoder),
        ("bertmodel", "Hugging Face's BertModel", attention.bertmodel),
        ("difference", f"{name} minus BertModel", attention.difference),
    )
    grids, larges = [], []
    for key, who, weights in sources:
        grid, large = weights[layer], weights[layer, head]
        if key == "difference":
            grid_scale, large_scale = (
                difference_scale(grid, WHOLE_MODEL),
                difference_scale(large, WHOLE_MODEL),
            )
            notes = [f"up to {largest(one_head)}" for one_head in grid]
            grid_who = f"{who} (largest |difference| {largest(grid)}; tolerance {WHOLE_MODEL:g})"
            large_who = f"{who} (largest |difference| {largest(large)})"
        else:
            grid_scale = large_scale = attention_scale()
            notes, grid_who, large_who = None, who, who
        file = f"layer{layer}_heads_{key}.png"
        figure = heads_figure(
            grid, attention.tokens, f"Layer {layer}, every head: {grid_who}\n{short_text}", grid_scale, notes
        )
        save(figure, out / file)
        grids.append((file, f"every head of layer {layer}: {who}"))
        file = f"layer{layer}_head{head}_{key}.png"
        title = f"Layer {layer}, head {head}: {large_who}\n{short_text}"
        save(
            head_figure(large, attention.tokens, title, large_scale, show_values=key != "difference"),
            out / file,
        )
        larges.append((file, f"layer {layer}, head {head}, large: {who}"))
    html = page(
        attention.tokens,
        [
            (who, "difference" if key == "difference" else "attention", weights)
            for key, who, weights in sources
        ],
        title=f"Attention: {name}",
        subtitle=text,
        layer=layer,
        head=head,
        tolerance=WHOLE_MODEL,
    )
    (out / PAGE).write_text(html, encoding="utf-8")
    return [*grids, *larges, (PAGE, "every layer and head, as lines and as a heatmap: open it in a browser")]


def largest(difference: np.ndarray) -> str:
    """The largest |difference|, for a title; NaN when the encoder gave NaN."""
    value = np.abs(difference).max()
    return "NaN" if np.isnan(value) else f"{value:.2g}"


def run(args: argparse.Namespace) -> int:
    """Draw the pictures: EXIT_OK, or EXIT_CANNOT_RUN with one paragraph saying why not."""
    folder, name = implementation(args)
    text = (
        f'"{args.sentence}"'
        + (f' + "{args.pair}"' if args.pair else "")
        + (f" + {args.pad} [PAD]" if args.pad else "")
    )
    try:
        seen = run_both(folder, name, args)
        layer, head, why = choose(args, seen)
    except CannotShow as reason:
        print(f"kata view: {reason}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    written = write_pictures(args.out, seen, layer, head, name, text)
    print(f"Layer {layer}, head {head} ({why}; choose with --layer and --head). Wrote to {args.out}/:")
    for file, what in written:
        print(f"  {file:<28} {what}")
    print(agreement_line(seen, name[0].upper() + name[1:]))
    return EXIT_OK
