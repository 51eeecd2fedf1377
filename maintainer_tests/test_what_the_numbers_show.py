"""What the numbers show (kata/core/compare.py, what_the_numbers_show): a failure's recognisable
shape said in words, and nothing said when the difference has none.

A sentence that misleads is worse than none, so most of these tests are negative: random
differences, near misses of every pattern, and weights that differ in more than their scale.
"""

import math

import pytest
import torch

from kata import SOLUTIONS, track_folder
from kata.core.compare import Mismatch, expect_close, what_the_numbers_show
from kata.core.loading import load
from kata.course import catalogue, group_checks

pytestmark = pytest.mark.maintainer  # checks the kata's own messages, not the learner's code


def randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def scores(seed=0):
    return randn(2, 3, 5, 7, seed=seed)  # (B, H, L_q, L_k)


def padding(keys_kept=(7, 4)):
    """(B, 1, 1, L_k) key mask: batch row 0 hides nothing, row 1 hides its last keys."""
    return (torch.arange(7) < torch.tensor(keys_kept)[:, None])[:, None, None, :]


def softmax(z, mask=None):
    if mask is not None:
        z = z.masked_fill(~mask, torch.finfo(z.dtype).min)
    return torch.softmax(z, dim=-1)


def shows(actual, expected, **kwargs):
    return what_the_numbers_show(actual, expected, **kwargs)


# ---- attention weights: the scale of the scores ---------------------------------------------


def test_scores_divided_twice_read_as_flatter_weights_and_scaled_twice():
    z = scores()
    said = shows(softmax(z / math.sqrt(6)), softmax(z), d_head=6)
    assert said.startswith("the weights are flatter than the reference's (mean entropy ")
    assert "the scores look scaled by 1/2.45 = 1/sqrt(d) with d = 6" in said
    assert said.endswith("divided by sqrt(d) twice, or by d instead of sqrt(d)?")


def test_unscaled_scores_read_as_sharper_weights():
    z = scores(1)
    said = shows(softmax(z * math.sqrt(5)), softmax(z), d_head=5)
    assert said.startswith("the weights are sharper than the reference's")
    assert said.endswith("scaled by 2.24 = sqrt(d) with d = 5 (a query's width): not divided by sqrt(d)?")


def test_a_scale_that_is_no_power_of_the_width_is_given_as_a_number_only():
    z = scores(2)
    assert shows(softmax(z * 3), softmax(z), d_head=6).endswith("the scores look scaled by 3")
    assert shows(softmax(z / 3), softmax(z)).endswith("the scores look scaled by 1/3")


def test_the_scale_is_fitted_on_the_keys_the_mask_lets_through():
    z, mask = scores(3), padding()
    said = shows(softmax(z / 4, mask), softmax(z, mask), d_head=16)
    assert "scaled by 1/4 = 1/sqrt(d) with d = 16" in said


def test_the_weights_of_a_float64_check_are_read_too():
    z = scores(4).double()
    assert "scaled by 1/2" in shows(softmax(z / 2), softmax(z))


# ---- attention weights: the mask and the axis ------------------------------------------------


def test_weight_on_the_hidden_keys_with_uniform_unmasked_rows_reads_as_an_inverted_mask():
    z, mask = scores(5), padding()
    said = shows(softmax(z, ~mask), softmax(z, mask))
    assert said == (
        "the weight falls on the keys the reference hides (it gives them 0; here they get 100% of the "
        "weight of every row that hides any), and rows with nothing to hide are uniform: the mask looks inverted"
    )


def test_without_a_row_that_hides_nothing_an_inverted_mask_is_not_told_from_a_weak_fill():
    z, mask = scores(6), padding((5, 3))
    assert shows(softmax(z, ~mask), softmax(z, mask)).endswith(
        ": the mask looks inverted, or the hidden scores are not filled low enough"
    )


def test_only_the_compared_rows_count_and_the_hidden_keys_outside_where_are_still_read():
    # As the encoder compares its attention maps: real queries, real keys only.
    z, mask = scores(7), padding()
    real = mask.expand(2, 3, 5, 7) & mask.transpose(-1, -2)[..., :5, :].expand(2, 3, 5, 7)
    assert shows(softmax(z, ~mask), softmax(z, mask), where=real).endswith("the mask looks inverted")


def test_softmax_over_the_queries_is_named():
    z = scores(8)
    assert shows(torch.softmax(z, dim=-2), softmax(z)) == (
        "the weights sum to 1 over the queries (axis -2), not over the keys (the last axis): "
        "is the softmax over the wrong axis?"
    )


# ---- any tensor: the input, zeros, axes, a factor, an offset --------------------------------


def test_the_input_handed_back_is_named_when_the_caller_gives_it():
    x, y = randn(3, 4, 5, seed=9), randn(3, 4, 5, seed=10)
    assert shows(x, y, inputs={"its input": x}) == (
        "it equals its input, unchanged: is a step left out, its result not used, or the value kept before it?"
    )
    assert shows(x, y) is None  # without the input: just a random difference


def test_zeros_a_factor_a_sign_and_an_offset():
    x = randn(3, 4, 5, seed=11)
    assert shows(torch.zeros_like(x), x) == "every value is 0 where the reference's are not"
    assert shows(x * 1.7, x) == "it is the reference times 1.7 everywhere"
    assert shows(x * math.sqrt(8), x, d_head=8) == (
        "it is the reference times 2.828 everywhere = sqrt(d) with d = 8 (a query's width)"
    )
    assert shows(-x, x) == "it is the reference with its sign flipped"
    assert shows(x + 0.25, x) == "it is the reference plus 0.25 everywhere: a constant offset"


def test_swapped_axes_are_named():
    x = randn(2, 4, 3, 4, seed=12)
    assert shows(x.transpose(1, 3), x) == (
        "it is the reference with axes 1 and 3 (both of size 4) swapped: a transpose too many or too few?"
    )


# ---- nothing to say: random differences and near misses --------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_a_random_difference_says_nothing(seed):
    x = randn(3, 4, 5, seed=100 + seed)
    assert shows(randn(3, 4, 5, seed=200 + seed), x) is None
    assert shows(x + 0.01 * randn(3, 4, 5, seed=300 + seed), x) is None  # close, but no pattern
    z = scores(400 + seed)
    assert shows(softmax(scores(500 + seed)), softmax(z), d_head=6) is None  # other weights altogether
    mask = padding()
    assert shows(softmax(scores(600 + seed), mask), softmax(z, mask), d_head=6) is None


def test_near_misses_of_each_pattern_say_nothing():
    x, noise = randn(4, 6, seed=13), 1e-3 * randn(4, 6, seed=14)
    assert shows(x + 0.5 + noise, x) is None  # an offset, but not a constant one
    assert shows(x * 2 + noise, x) is None  # a factor, but not exactly
    assert shows(x.T.contiguous().reshape(4, 6) + noise, x) is None
    z = scores(15)
    scaled = softmax(z / 2)
    assert shows((scaled + 1e-3 * softmax(scores(16))) / 1.001, softmax(z)) is None  # scale plus noise
    # Other scores on each row that happen to share the ranking: not a single scale.
    assert shows(softmax(z + 0.3 * scores(17)), softmax(z)) is None


def test_weights_that_ignore_the_mask_are_not_called_inverted_or_rescaled():
    z, mask = scores(18), padding()
    assert shows(softmax(z), softmax(z, mask)) is None


def test_a_constant_reference_too_few_values_or_other_shapes_say_nothing():
    assert shows(torch.full((3, 4), 2.0), torch.full((3, 4), 1.0)) is None  # factor or offset? cannot tell
    assert shows(torch.tensor([2.0, 4.0, 6.0]), torch.tensor([1.0, 2.0, 3.0])) is None  # 3 values
    assert shows(torch.zeros(3, 4), torch.ones(4, 3)) is None
    assert shows("not a tensor", torch.ones(4)) is None


def test_values_outside_where_do_not_count():
    x = randn(4, 5, seed=19)
    where = torch.ones(4, 5, dtype=torch.bool)
    where[0, 0] = False
    wrong = x + 0.5
    wrong[0, 0] = 99.0
    assert shows(wrong, x, where=where) == "it is the reference plus 0.5 everywhere: a constant offset"
    assert shows(wrong, x) is None


# ---- in the failure message -----------------------------------------------------------------


def message(actual, expected, **kwargs):
    with pytest.raises(Mismatch) as raised:
        expect_close(actual, expected, atol=1e-5, what="the output", **kwargs)
    return str(raised.value)


def test_the_message_says_it_on_a_line_of_its_own_before_where_to_look():
    x = randn(3, 4, seed=20)
    lines = message(x + 0.5, x, hint="look here").splitlines()
    assert lines[0].startswith("the output: values differ from the reference by up to 0.5")
    assert lines[1:] == [
        "  What the numbers show: it is the reference plus 0.5 everywhere: a constant offset",
        "  Where to look: look here",
    ]


def test_the_message_has_no_such_line_when_nothing_is_recognised():
    x = randn(3, 4, seed=21)
    assert "What the numbers show" not in message(randn(3, 4, seed=22), x)


def test_inputs_and_the_head_width_reach_the_sentence():
    x, z = randn(3, 4, seed=23), scores(24)
    assert "it equals its input" in message(x, randn(3, 4, seed=25), inputs={"its input": x})
    assert "divided by sqrt(d) twice" in message(softmax(z / math.sqrt(6)), softmax(z), d_head=6)


# ---- the catalogue's mistakes, as a learner sees them ---------------------------------------


def failures(exercise, name, track, tmp_path):
    """Each graded check's failure message for the catalogue's mistake `name`, on `track`, by slug."""
    from kata.core.as_torch import as_torch
    from kata.core.checking import run_check

    (mistake,) = [m for m in catalogue() if (m.exercise, m.name, m.track) == (exercise, name, track)]
    module = load(
        exercise, mistake.write_variant(tmp_path / "variant"), reference=track_folder(SOLUTIONS, track)
    )
    module = as_torch(module) if track == "numpy" else module
    said = {}
    for check in group_checks(exercise, track):
        try:
            run_check(check, module)
        except Mismatch as failure:
            said[check.slug] = str(failure)
    return said


@pytest.mark.parametrize("track", ["torch", "numpy"])
def test_scaling_twice_in_multi_head_says_the_weights_are_flatter_and_scaled_twice(track, tmp_path):
    first = failures("multi_head", "scores_scaled_twice", track, tmp_path)["values"]
    assert first.startswith("multi-head attention weights (B, H, L, L): values differ from the reference")
    assert (
        "\n  What the numbers show: the weights are flatter than the reference's (mean entropy 1.62 nats, "
        "the reference's 1.04): the scores look scaled by 1/2.45 = 1/sqrt(d) with d = 6 (a query's width): "
        "divided by sqrt(d) twice, or by d instead of sqrt(d)?\n"
    ) in first


@pytest.mark.parametrize("track", ["torch", "numpy"])
def test_an_inverted_key_mask_in_the_encoder_says_the_mask_looks_inverted(track, tmp_path):
    first = failures("encoder", "inverted_key_mask", track, tmp_path)["forward"]
    assert first.startswith("attentions[0] (layer 0's attention weights): values differ")
    assert "rows with nothing to hide are uniform: the mask looks inverted" in first
