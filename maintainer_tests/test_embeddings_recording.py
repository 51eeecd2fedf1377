"""The recording of sentence-transformers' embeddings (kata/core/sentences.py) is what live
sentence-transformers computes today, and the search's queries are answered as the tests say.

Exercise 7's tests compare with the recording, so that a learner needs no sentence-transformers.
Marked `maintainer`: runs with `pytest --solutions` (the instructor's and CI's run), where
sentence-transformers is installed (the `dev` extra); without it these tests are skipped.
"""

import pytest
import torch

from kata import REPO
from kata.core import sentences
from kata.core.weights import INSTALL_HINT, pretrained_source
from kata.maintainer import record_embeddings

pytestmark = pytest.mark.maintainer

RERECORD = (
    "Run `python -m kata.maintainer.record_embeddings --record` and commit "
    f"{sentences.RECORDING.relative_to(REPO)}"
)
# Another CPU's kernels may round the last bits differently (see test_hf_recording.py): ten
# times below the tests' tolerance of 1e-5.
FLOAT_ATOL = 1e-6


@pytest.fixture(scope="module")
def live():
    pytest.importorskip("sentence_transformers", reason="sentence-transformers is in the dev extra")
    if sentences.sentence_model_folder(pretrained_source()) is None:
        pytest.skip(INSTALL_HINT)
    return record_embeddings.record_embeddings()


def test_the_recording_matches_live_sentence_transformers(live):
    recorded = sentences.load_recording()
    assert recorded.keys() == live.keys(), (
        f"the recording holds {sorted(recorded)}, the recorder {sorted(live)}. {RERECORD}"
    )
    assert recorded["fingerprint"] == live["fingerprint"], (
        f"the recording is of another model folder. {RERECORD}"
    )
    for key in ("sentences", "pipeline"):
        assert recorded[key] == live[key], f"recorded {key} {recorded[key]!r}, live {live[key]!r}. {RERECORD}"
    difference = (recorded["embeddings"] - live["embeddings"]).abs().max().item()
    assert recorded["embeddings"].dtype == live["embeddings"].dtype and difference <= FLOAT_ATOL, (
        f"the recorded embeddings differ from live sentence-transformers by up to {difference:.3g}. {RERECORD}"
    )


def test_sentence_transformers_answers_each_query_of_the_search_test_as_it_says(live):
    """The best line of each query in tests/test_embeddings.py is sentence-transformers' best too:
    the queries test the learner's encoder, not the kata's taste in answers."""
    from tests.test_embeddings import SEARCHES

    model = sentences.sentence_transformer(sentences.sentence_model_folder(pretrained_source()))
    lines = sentences.corpus_lines()
    with torch.no_grad():
        corpus = model.encode(lines, convert_to_tensor=True)
        queries = model.encode(list(SEARCHES), convert_to_tensor=True)
    wrong = []
    for query, embedded in zip(SEARCHES, queries, strict=True):
        (best, score), (_, second) = sentences.rank(embedded, corpus, top=2)
        if lines[best] != SEARCHES[query]:
            wrong.append(f"{query!r}: sentence-transformers' best is {lines[best]!r} ({score:.3f})")
        elif score - second < 0.03:
            wrong.append(f"{query!r}: its best line leads the next by only {score - second:.3f}")
    assert not wrong, "the search test's queries need another look:\n  " + "\n  ".join(wrong)
