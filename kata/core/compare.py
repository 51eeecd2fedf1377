"""Comparisons whose failures read like a teacher's note, not like "False is not true".

Every check raises `Mismatch` (an AssertionError) with one paragraph that names the
component, the shapes, the largest difference and where it is, the tolerance, and the
likely mistake when the caller knows one.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import NoReturn

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

    def __init__(self, message: str, what: str | None = None, actual: object = None) -> None:
        super().__init__(message)
        self.what, self.actual = what, actual


def _format_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _fail(what: str, problem: str, hint: str | None, actual: object = None) -> NoReturn:
    message = f"{what}: {problem}"
    if hint:
        message += f"\n  Where to look: {hint}"
    raise Mismatch(message, what, actual)


def _tensor(actual: object, what: str, hint: str | None) -> torch.Tensor:
    if not isinstance(actual, torch.Tensor):
        got = getattr(actual, "type_name", type(actual).__name__)
        _fail(what, f"expected a tensor, got {got}", hint, got)
    return actual


def expect_tensor(actual: object, what: str, hint: str | None = None) -> None:
    """Check that `actual` is a tensor."""
    _tensor(actual, what, hint)


def expect_shape(actual: object, expected_shape: Iterable[int], what: str, hint: str | None = None) -> None:
    """Check that `actual` is a tensor of exactly `expected_shape`."""
    _shaped(actual, expected_shape, what, hint)


def _shaped(actual: object, expected_shape: Iterable[int], what: str, hint: str | None) -> torch.Tensor:
    tensor = _tensor(actual, what, hint)
    expected_shape = tuple(expected_shape)
    if tuple(tensor.shape) != expected_shape:
        _fail(
            what,
            f"shape is {_format_shape(tensor.shape)}, expected {_format_shape(expected_shape)}",
            hint,
            tensor,
        )
    return tensor


def expect_close(
    actual: object,
    expected: torch.Tensor,
    *,
    atol: float,
    rtol: float = 0.0,
    what: str,
    hint: str | None = None,
    where: torch.Tensor | None = None,
) -> None:
    """Check `actual` against `expected` (the reference, always second) element by element.

    Passes when |actual - expected| <= atol + rtol * |expected| everywhere `where`
    (a boolean tensor broadcastable to the shape) is True, or everywhere if it is None.
    Shape and dtype are checked first, then NaN and infinity, then values. It fails
    closed: where the reference is NaN or infinite, `actual` must be exactly that, and a
    difference that is not a number fails. A tolerance must be a finite number, at least 0.
    """
    if not all(math.isfinite(t) and t >= 0 for t in (atol, rtol)):
        raise ValueError(f"{what}: tolerances must be finite and at least 0, got atol={atol}, rtol={rtol}")
    actual = _shaped(actual, expected.shape, what, hint)
    if actual.dtype != expected.dtype:
        _fail(what, f"dtype is {actual.dtype}, expected {expected.dtype}", hint, actual)
    actual64, expected64 = actual.detach().double(), expected.detach().double()
    considered = torch.ones_like(actual64, dtype=torch.bool)
    if where is not None:
        considered = considered & where.to(torch.bool)
    finite = torch.isfinite(expected64)
    bad_numbers = ~torch.isfinite(actual64) & finite & considered
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
    # Where the reference is NaN or infinite, only the very same value will do.
    same = (actual64 == expected64) | (torch.isnan(actual64) & torch.isnan(expected64))
    unmatched = ~finite & ~same & considered
    if unmatched.any():
        index = _first_index(unmatched)
        count = int(unmatched.sum())
        _fail(
            what,
            f"expected {expected64[index].item():.6g} at index {index}, got {actual64[index].item():.6g}; "
            f"{count} value(s) differ where the reference is NaN or infinite",
            hint,
            actual,
        )
    considered = considered & finite
    difference = (actual64 - expected64).abs()
    excess = difference - (atol + rtol * expected64.abs())
    excess = excess.masked_fill(~considered, -math.inf)
    excess = torch.where(excess.isnan(), math.inf, excess)  # not a number: never close enough
    off = excess > 0
    if off.any():
        index = _first_index(excess == excess.max())
        total = int(considered.sum())
        tolerance = f"atol={atol:g}" + (f", rtol={rtol:g}" if rtol else "")
        _fail(
            what,
            f"values differ from the reference by up to {difference[index].item():.3g} "
            f"at index {index} (got {actual64[index].item():.6g}, expected "
            f"{expected64[index].item():.6g}; {tolerance}); {int(off.sum())} of {total} compared values "
            f"are off; shape {_format_shape(actual.shape)} is right",
            hint,
            actual,
        )


def expect_raises(
    error_type: type[Exception],
    call: Callable[[], object],
    *,
    what: str,
    mentions: Iterable[str] = (),
    hint: str | None = None,
) -> None:
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


def _first_index(flags: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i in flags.nonzero()[0])
