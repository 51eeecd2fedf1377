"""Comparisons whose failures read like a teacher's note, not like "False is not true".

Every check raises `Mismatch` (an AssertionError) with one paragraph that names the
component, the shapes, the largest difference and where it is, the tolerance, and the
likely mistake when the caller knows one.
"""

import math

import torch

# The kata's tolerances, each named for what it covers; every comparison states its own.
ONE_OP = 1e-5  # one operation in float32 (a softmax, a norm, a product)
WHOLE_MODEL = 5e-5  # a whole module stack in float32 (an encoder layer, the encoder, BERT)
FLOAT64 = 1e-12  # one operation in float64
SAME_MISTAKE = 1e-4  # two implementations of the same mistake differ only by rounding


class Mismatch(AssertionError):
    """The implementation under test returned something other than what it should.

    Keeps what was being checked and the value the implementation gave, so that a
    diagnosis can compare them with what known-wrong implementations give.
    """

    def __init__(self, message, what=None, actual=None):
        super().__init__(message)
        self.what, self.actual = what, actual


def _format_shape(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _fail(what, problem, hint, actual=None):
    message = f"{what}: {problem}"
    if hint:
        message += f"\n  Where to look: {hint}"
    raise Mismatch(message, what, actual)


def expect_tensor(actual, what, hint=None):
    if not isinstance(actual, torch.Tensor):
        got = getattr(actual, "type_name", type(actual).__name__)
        _fail(what, f"expected a tensor, got {got}", hint, got)


def expect_shape(actual, expected_shape, what, hint=None):
    """Check that `actual` is a tensor of exactly `expected_shape`."""
    expect_tensor(actual, what, hint)
    expected_shape = tuple(expected_shape)
    if tuple(actual.shape) != expected_shape:
        _fail(
            what,
            f"shape is {_format_shape(actual.shape)}, expected {_format_shape(expected_shape)}",
            hint,
            actual,
        )


def expect_close(actual, expected, *, atol, rtol=0.0, what, hint=None, where=None):
    """Check `actual` against `expected` (the reference, always second) element by element.

    Passes when |actual - expected| <= atol + rtol * |expected| everywhere `where`
    (a boolean tensor broadcastable to the shape) is True, or everywhere if it is None.
    Shape and dtype are checked first, then NaN and infinity, then values.
    """
    expect_shape(actual, expected.shape, what, hint)
    if actual.dtype != expected.dtype:
        _fail(what, f"dtype is {actual.dtype}, expected {expected.dtype}", hint, actual)
    actual64, expected64 = actual.detach().double(), expected.detach().double()
    considered = torch.ones_like(actual64, dtype=torch.bool)
    if where is not None:
        considered = considered & where.to(torch.bool)
    bad_numbers = ~torch.isfinite(actual64) & torch.isfinite(expected64) & considered
    if bad_numbers.any():
        index = _first_index(bad_numbers)
        count = int(bad_numbers.sum())
        _fail(
            what,
            f"{count} value(s) are NaN or infinite, the first at index {index} "
            f"(got {actual64[index].item()}, expected {expected64[index].item():.6g})",
            hint,
            actual,
        )
    difference = (actual64 - expected64).abs()
    excess = difference - (atol + rtol * expected64.abs())
    excess = excess.masked_fill(~considered, -math.inf)
    if excess.max() > 0:
        index = _first_index(excess == excess.max())
        off = int((excess > 0).sum())
        total = int(considered.sum())
        tolerance = f"atol={atol:g}" + (f", rtol={rtol:g}" if rtol else "")
        _fail(
            what,
            f"values differ from the reference by up to {difference[index].item():.3g} "
            f"at index {index} (got {actual64[index].item():.6g}, expected "
            f"{expected64[index].item():.6g}; {tolerance}); {off} of {total} compared values "
            f"are off; shape {_format_shape(actual.shape)} is right",
            hint,
            actual,
        )


def expect_raises(error_type, call, *, what, mentions=(), hint=None):
    """Check that `call()` raises `error_type` whose message contains every string in `mentions`."""
    try:
        call()
    except NotImplementedError:
        raise
    except error_type as error:
        missing = [text for text in mentions if text not in str(error)]
        if missing:
            _fail(
                what,
                f"raised {error_type.__name__}({str(error)!r}), but the message should "
                f"mention {', '.join(repr(text) for text in missing)}",
                hint,
                f"{error_type.__name__} without {missing}",
            )
    except Exception as error:
        _fail(
            what,
            f"expected {error_type.__name__}, got {type(error).__name__}: {error}",
            hint,
            type(error).__name__,
        )
    else:
        _fail(what, f"expected {error_type.__name__}, but nothing was raised", hint, "nothing raised")


def _first_index(flags):
    return tuple(int(i) for i in flags.nonzero()[0])
