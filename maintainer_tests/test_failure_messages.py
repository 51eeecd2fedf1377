"""What a failure says (README.md, "Reading a failure"), one test per promise, on tiny tensors.

"A failure says which component, the shapes, the largest difference and where, the
tolerance, and where to look": kata/core/compare.py's expect_close, expect_shape and
expect_raises. And a comparison fails closed: a NaN or an infinity never slips through.
"""

import math
import re

import pytest
import torch

from kata import REPO
from kata.core.compare import Mismatch, expect_close, expect_raises, expect_shape, expect_tensor
from kata.core.wire import Unreadable

pytestmark = pytest.mark.maintainer  # checks the kata's own messages, not the learner's code

inf, nan = math.inf, math.nan


def failure(check, *args, **kwargs):
    with pytest.raises(Mismatch) as raised:
        check(*args, **kwargs)
    return raised.value


def close_failure(actual, expected, atol=1e-5, **kwargs):
    return failure(
        expect_close, torch.tensor(actual), torch.tensor(expected), atol=atol, what="the output", **kwargs
    )


def test_the_readmes_example_is_what_a_failure_says():
    readme = (REPO / "README.md").read_text()
    example = re.search(r"```\n(attention weights without a mask: .*?)\n  Where to look", readme, re.DOTALL)
    assert example, "README.md's 'Reading a failure' example is gone: update this test with it"
    expected = torch.full((3, 5), 0.427445)
    actual = expected + torch.linspace(0.01, 0.2, 15).reshape(3, 5)
    actual[2, 3] = 0.683718
    mismatch = failure(expect_close, actual, expected, atol=1e-5, what="attention weights without a mask")
    assert str(mismatch) == " ".join(example[1].split("\n"))


def test_it_names_the_component_first():
    assert str(close_failure([1.0, 2.0], [1.0, 3.0])).startswith("the output: ")


def test_it_gives_the_largest_difference_where_it_is_and_both_values():
    message = str(close_failure([[0.5, 0.1], [0.3, 0.9]], [[0.4, 0.1], [0.3, 0.2]]))
    assert "values differ from the reference by up to 0.7 at index (1, 1) (got 0.9, expected 0.2;" in message


def test_it_gives_the_tolerance():
    assert "; atol=1e-05)" in str(close_failure([1.0], [2.0]))
    assert "; atol=0.001, rtol=0.01)" in str(close_failure([1.0], [2.0], atol=1e-3, rtol=0.01))


def test_it_counts_the_values_off_and_says_the_shape_is_right():
    message = str(close_failure([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[1.0, 2.5, 3.0], [4.0, 5.0, 7.0]]))
    assert message.endswith("; 2 of 6 compared values are off; shape (2, 3) is right")


def test_it_says_where_to_look_when_the_caller_knows():
    mismatch = close_failure([1.0], [2.0], hint="divide by sqrt(d)")
    assert str(mismatch).endswith("\n  Where to look: divide by sqrt(d)")
    assert "Where to look" not in str(close_failure([1.0], [2.0]))


def test_it_keeps_what_was_checked_and_the_value_given_for_the_diagnosis():
    mismatch = close_failure([1.0, 5.0], [1.0, 2.0])
    assert mismatch.what == "the output" and torch.equal(mismatch.actual, torch.tensor([1.0, 5.0]))


def test_a_wrong_shape_says_both_shapes():
    message = str(failure(expect_shape, torch.zeros(2, 3), (3, 2), what="scores"))
    assert message == "scores: shape is (2, 3), expected (3, 2)"
    message = str(failure(expect_close, torch.zeros(4), torch.zeros(4, 1), atol=1e-5, what="x"))
    assert message == "x: shape is (4,), expected (4, 1)"


def test_a_wrong_dtype_says_both_dtypes():
    message = str(
        failure(expect_close, torch.zeros(2, dtype=torch.float64), torch.zeros(2), atol=1e-5, what="x")
    )
    assert message == "x: dtype is torch.float64, expected torch.float32"


def test_something_else_than_a_tensor_is_named():
    assert str(failure(expect_tensor, [1.0, 2.0], what="out")) == "out: expected a tensor, got list"
    assert str(failure(expect_shape, (1, 2), (2,), what="out")) == "out: expected a tensor, got tuple"
    # What a child could not send is named as the child named it (kata/core/wire.py).
    message = str(failure(expect_close, Unreadable("generator"), torch.zeros(1), atol=1e-5, what="out"))
    assert message == "out: expected a tensor, got generator"


def test_nan_or_infinity_where_the_reference_has_a_number_is_counted_and_located():
    message = str(close_failure([1.0, nan, inf, 4.0], [1.0, 2.0, 3.0, 4.0]))
    assert (
        message == "the output: 2 value(s) are NaN or infinite, the first at index (1,) (got nan, expected 2)"
    )


def test_values_outside_where_are_not_compared():
    where = torch.tensor([True, False, True])
    expect_close(
        torch.tensor([1.0, 99.0, 3.0]), torch.tensor([1.0, 2.0, 3.0]), atol=1e-5, what="x", where=where
    )
    expect_close(
        torch.tensor([1.0, nan, 3.0]), torch.tensor([1.0, 2.0, 3.0]), atol=1e-5, what="x", where=where
    )
    message = str(close_failure([1.0, 99.0, 5.0], [1.0, 2.0, 3.0], where=where))
    assert message.endswith("; 1 of 2 compared values are off; shape (3,) is right")


# ---- failing closed: where the reference itself is NaN or infinite --------------------------


def test_an_infinite_reference_is_not_matched_by_a_number():
    # It used to pass: 0 * inf is NaN, and a NaN hid every other difference.
    message = str(close_failure([0.0, 5.0, -7.0], [inf, 1.0, 2.0]))
    assert message == (
        "the output: expected inf at index (0,), got 0; 1 value(s) differ where the reference is NaN or infinite"
    )


def test_an_infinity_must_have_the_references_sign():
    assert "expected -inf at index (1,), got inf" in str(close_failure([1.0, inf], [1.0, -inf]))


def test_a_nan_reference_is_matched_by_nan_only():
    assert "expected nan at index (0,), got 3" in str(close_failure([3.0, 1.0], [nan, 1.0]))
    assert "expected nan at index (1,), got inf" in str(close_failure([1.0, inf], [1.0, nan]))


def test_matching_nan_and_infinities_pass_and_the_rest_is_still_compared():
    expect_close(
        torch.tensor([nan, inf, -inf, 1.0]), torch.tensor([nan, inf, -inf, 1.0]), atol=1e-5, what="x"
    )
    message = str(close_failure([nan, inf, 5.0], [nan, inf, 2.0]))
    assert message.startswith("the output: values differ from the reference by up to 3 at index (2,)")
    assert "1 of 1 compared values are off" in message  # NaN and inf were matched, not compared


def test_a_difference_that_overflows_is_off():
    big = torch.finfo(torch.float64).max
    actual, expected = torch.tensor([big], dtype=torch.float64), torch.tensor([-big], dtype=torch.float64)
    message = str(failure(expect_close, actual, expected, atol=1e-5, what="x"))
    assert "by up to inf at index (0,)" in message


def test_a_tolerance_that_is_no_number_is_refused():
    for atol, rtol in ((nan, 0.0), (1e-5, nan), (inf, 0.0), (-1e-5, 0.0)):
        with pytest.raises(ValueError, match="x: tolerances must be finite and at least 0"):
            expect_close(torch.zeros(1), torch.zeros(1), atol=atol, rtol=rtol, what="x")


def test_empty_tensors_are_close():
    expect_close(torch.zeros(0, 3), torch.zeros(0, 3), atol=1e-5, what="x")


# ---- expect_raises ---------------------------------------------------------------------------


def raise_(error):
    def call():
        raise error

    return call


def test_expect_raises_passes_on_the_right_error_with_the_right_words():
    expect_raises(ValueError, raise_(ValueError("5 heads do not divide 32")), what="x", mentions=("5", "32"))


def test_expect_raises_says_when_nothing_was_raised():
    message = str(failure(expect_raises, ValueError, lambda: None, what="MultiHeadAttention(32, 5)"))
    assert message == "MultiHeadAttention(32, 5): expected ValueError, but nothing was raised"


def test_expect_raises_names_the_wrong_error():
    message = str(
        failure(expect_raises, ValueError, raise_(KeyError("k")), what="x", hint="check it yourself")
    )
    assert message == "x: expected ValueError, got KeyError: 'k'\n  Where to look: check it yourself"


def test_expect_raises_names_the_missing_words():
    message = str(
        failure(expect_raises, ValueError, raise_(ValueError("bad")), what="x", mentions=("heads", "bad"))
    )
    assert message == "x: raised ValueError('bad'), but the message should mention 'heads'"


def test_expect_raises_lets_not_implemented_through():
    with pytest.raises(NotImplementedError):
        expect_raises(ValueError, raise_(NotImplementedError("exercise 2")), what="x")
