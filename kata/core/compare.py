"""Comparisons whose failures read like a teacher's note, not like "False is not true".

Every check raises `Mismatch` (an AssertionError) with one paragraph that names the
component, the shapes, the largest difference and where it is, the tolerance, and the
likely mistake when the caller knows one. When the wrong values have a recognisable
shape (an offset, a factor, the input handed back, weights flatter or sharper than the
reference's, weight on hidden keys), one more line says it in words: `what_the_numbers_show`.
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
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


def _fail(
    what: str, problem: str, hint: str | None, actual: object = None, shows: str | None = None
) -> NoReturn:
    message = f"{what}: {problem}"
    if shows:
        message += f"\n  What the numbers show: {shows}"
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
    inputs: Mapping[str, torch.Tensor] | None = None,
    d_head: int | None = None,
) -> None:
    """Check `actual` against `expected` (the reference, always second) element by element.

    Passes when |actual - expected| <= atol + rtol * |expected| everywhere `where`
    (a boolean tensor broadcastable to the shape) is True, or everywhere if it is None.
    Shape and dtype are checked first, then NaN and infinity, then values. It fails
    closed: where the reference is NaN or infinite, `actual` must be exactly that, and a
    difference that is not a number fails. A tolerance must be a finite number, at least 0.
    When values differ, `what_the_numbers_show` may add a line; `inputs` (what the
    component was given, by name) and `d_head` (the width of a query, for attention
    weights) let it say more.
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
            what_the_numbers_show(actual, expected, where=where, inputs=inputs, d_head=d_head, atol=atol),
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


# ---- what the numbers show: the shape of a failure, said in words ---------------------------
#
# Each pattern is a model of the wrong values with at most one number in it (an offset, a
# factor, a scale of the scores); it is said only when it fits every compared value to within
# the comparison's own tolerance (the weights' scale: their centred logarithms to 0.1%), and
# only one is said. A sentence that misleads is worse than none, so anything looser says nothing.

_WEIGHT_ROW_SUM = 1e-3  # how far from 1 a row of attention weights may sum
_LOG_FIT = 1e-3  # how far (relative) centred log-weights may stray from the fitted scale
_SMALLEST_LOGGED = 1e-30  # weights below this are not logged (float32's subnormals are inexact)


def what_the_numbers_show(
    actual: object,
    expected: object,
    *,
    where: torch.Tensor | None = None,
    inputs: Mapping[str, object] | None = None,
    d_head: int | None = None,
    atol: float = ONE_OP,
) -> str | None:
    """A sentence saying what shape the difference between `actual` and `expected` has, or None.

    Tried in this order, the first that fits is said (values compared where `where` is True):
      - the output is one of `inputs` (name, e.g. "its input" -> what the component was given) unchanged;
      - every value is 0;
      - the output is the reference with two axes of equal size swapped;
      - attention weights (each row of the reference sums to 1 over the last axis): the weight
        falls on the keys the reference gives exactly 0 (the mask looks inverted); the weights
        sum to 1 over the queries instead (the softmax's axis); the same ranking of the keys,
        flatter or sharper, that is softmax(scores * s): the scale s is fitted to the
        log-weights centred on each row, and sqrt(d_head) or d_head is named when s is one;
      - the reference times a factor, or plus a constant, everywhere.
    """
    try:
        got = torch.as_tensor(actual).detach().double()
        ref = torch.as_tensor(expected).detach().double()
        considered = torch.ones_like(ref, dtype=torch.bool)
        if where is not None:
            considered = considered & torch.broadcast_to(torch.as_tensor(where).to(torch.bool), ref.shape)
    except (TypeError, ValueError, RuntimeError):
        return None
    if got.shape != ref.shape:
        return None
    considered = considered & torch.isfinite(got) & torch.isfinite(ref)
    if int(considered.sum()) < 4:
        return None
    g, r = got[considered], ref[considered]
    tolerance = atol + 1e-5 * max(float(g.abs().max()), float(r.abs().max()))

    def fits(model: torch.Tensor) -> bool:
        return bool((g - model).abs().max() <= tolerance)

    for name, given in (inputs or {}).items():
        try:
            given64 = torch.as_tensor(given).detach().double()
        except (TypeError, ValueError, RuntimeError):
            continue
        if given64.shape == ref.shape and fits(given64[considered]):
            return f"it equals {name}, unchanged: is a step left out, its result not used, or the value kept before it?"
    if bool(g.abs().max() <= tolerance):
        return "every value is 0 where the reference's are not"
    if bool(considered.all()):
        for i in range(ref.dim()):
            for j in range(i + 1, ref.dim()):
                if ref.shape[i] == ref.shape[j] > 1 and fits(ref.transpose(i, j).reshape(-1)):
                    return (
                        f"it is the reference with axes {i} and {j} (both of size {ref.shape[i]}) swapped: "
                        "a transpose too many or too few?"
                    )
    weights = _what_the_weights_show(got, ref, considered, d_head)
    if weights is not None:
        return weights
    if float(r.max() - r.min()) <= tolerance:
        return None  # a constant reference: an offset and a factor would fit alike
    factor = float((g * r).sum() / (r * r).sum())
    if abs(factor - 1) > 1e-3 and fits(factor * r):
        if abs(factor + 1) <= 1e-3:
            return "it is the reference with its sign flipped"
        return f"it is the reference times {factor:.4g} everywhere{_named_factor(factor, d_head)}"
    offset = float((g - r).median())
    if abs(offset) > tolerance and fits(r + offset):
        return f"it is the reference plus {offset:.4g} everywhere: a constant offset"
    return None


def _named_factor(factor: float, d_head: int | None) -> str:
    """' = sqrt(d) with d = 6' when `factor` (or its inverse) is sqrt(d_head) or d_head, else ''."""
    if not d_head or d_head < 2:
        return ""
    n, inverse = (1 / factor, "1/") if abs(factor) < 1 else (factor, "")
    for name, value in (("sqrt(d)", math.sqrt(d_head)), ("d", float(d_head))):
        if abs(abs(n) / value - 1) < 0.01:
            return f" = {'-' if n < 0 else ''}{inverse}{name} with d = {d_head} (a query's width)"
    return ""


def _what_the_weights_show(
    got: torch.Tensor, ref: torch.Tensor, considered: torch.Tensor, d_head: int | None
) -> str | None:
    """The weights' part of what_the_numbers_show: None unless `ref` is rows of attention weights."""
    if ref.dim() < 2 or ref.shape[-1] < 2:
        return None
    rows = considered.any(-1)  # the queries compared
    if int(rows.sum()) == 0:
        return None
    got_rows, ref_rows = got[rows], ref[rows]  # (rows, L_k): whole rows, keys outside `where` too
    if not (torch.isfinite(got_rows).all() and torch.isfinite(ref_rows).all()):
        return None
    if bool((ref_rows < 0).any() or (got_rows < 0).any()):
        return None
    if bool(((ref_rows.sum(-1) - 1).abs() > _WEIGHT_ROW_SUM).any()):
        return None
    if bool(((got_rows.sum(-1) - 1).abs() > _WEIGHT_ROW_SUM).any()):
        if bool(rows.all()) and bool(((got.sum(-2) - 1).abs() <= _WEIGHT_ROW_SUM).all()):
            return (
                "the weights sum to 1 over the queries (axis -2), not over the keys (the last axis): "
                "is the softmax over the wrong axis?"
            )
        return None
    hidden = ref_rows == 0  # what the reference's mask hides gets exactly 0
    partly_hidden = hidden.any(-1) & ~hidden.all(-1)
    on_hidden = (got_rows * hidden).sum(-1)
    if bool(partly_hidden.any()) and float(on_hidden[partly_hidden].min()) > 0.9:
        share = float(on_hidden[partly_hidden].mean())
        shown = (
            f"the weight falls on the keys the reference hides (it gives them 0; here they get {share:.0%} of "
            "the weight of every row that hides any)"
        )
        # An inverted mask hides every key of a row the reference hides none of: uniform weights.
        # Without such a row, a fill not low enough (-1e4 against scores of -1e12) looks the same.
        nothing_hidden = ~hidden.any(-1)
        uniform = (got_rows[nothing_hidden] - 1 / ref.shape[-1]).abs().max() if nothing_hidden.any() else None
        if uniform is not None and float(uniform) <= 1e-6:
            return f"{shown}, and rows with nothing to hide are uniform: the mask looks inverted"
        if uniform is None:
            return f"{shown}: the mask looks inverted, or the hidden scores are not filled low enough"
        return None
    if float(on_hidden.max()) > 1e-6:
        return None  # weight where the mask hides: not a matter of scale
    # softmax(s * z) has log-weights s * z - logsumexp(s * z): centred on a row, s times the reference's.
    logged = (got_rows > _SMALLEST_LOGGED) & (ref_rows > _SMALLEST_LOGGED)
    counts = logged.sum(-1)
    kept = counts >= 2
    if int((counts[kept] - 1).sum()) < 8:  # too few degrees of freedom to tell a scale from chance
        return None
    logged, counts = logged[kept], counts[kept, None]
    log_got = torch.where(logged, got_rows[kept].clamp_min(_SMALLEST_LOGGED).log(), 0.0)
    log_ref = torch.where(logged, ref_rows[kept].clamp_min(_SMALLEST_LOGGED).log(), 0.0)
    centred_got = torch.where(logged, log_got - log_got.sum(-1, keepdim=True) / counts, 0.0)
    centred_ref = torch.where(logged, log_ref - log_ref.sum(-1, keepdim=True) / counts, 0.0)
    spread = float((centred_ref**2).sum())
    if spread < 1e-6:
        return None  # uniform reference rows: no scale to measure
    scale = float((centred_got * centred_ref).sum()) / spread
    residual = float((centred_got - scale * centred_ref).norm())
    if scale <= 0 or abs(scale - 1) < 0.02 or residual > _LOG_FIT * float(centred_got.norm()):
        return None
    entropy_got, entropy_ref = (
        float(-(torch.where(w > 0, w * w.clamp_min(1e-300).log(), 0.0)).sum(-1).mean())
        for w in (got_rows, ref_rows)
    )
    entropies = f"(mean entropy {entropy_got:.3g} nats, the reference's {entropy_ref:.3g})"
    named = _named_factor(scale, d_head)
    if scale < 1:
        question = (
            ": divided by sqrt(d) twice, or by d instead of sqrt(d)?"
            if "1/sqrt(d)" in named
            else (": divided by d as well as by sqrt(d)?" if "1/d" in named else "")
        )
        return (
            f"the weights are flatter than the reference's {entropies}: the scores look scaled by "
            f"1/{1 / scale:.3g}{named}{question}"
        )
    question = ": not divided by sqrt(d)?" if "sqrt(d)" in named else ""
    return (
        f"the weights are sharper than the reference's {entropies}: the scores look scaled by "
        f"{scale:.3g}{named}{question}"
    )
