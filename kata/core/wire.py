"""How a child process reports outputs to the grader: JSON with tensors as raw numbers.

No pickle, so nothing a submission returns can run code in the grader. What decodes is
plain data: a torch.Tensor made fresh from bytes, a number, a string, a list, or an
`Unreadable` marker that says what the submission returned instead.
"""

import base64
import binascii
import math

import numpy as np
import torch

DTYPES: dict[str, type[np.generic]] = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "int64": np.int64,
    "int32": np.int32,
    "bool": np.bool_,
}

MAX_DIMS = 64  # NumPy's own limit; a longer shape is nonsense, and its product could take long
MAX_DEPTH = 100  # lists inside lists: far more than any probe returns, far less than Python's stack


class Unreadable:
    """Stands for an output that was not a tensor or plain value (its type name is kept)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<a {self.type_name}>"


def encode(value: object) -> object:
    """A JSON-able form of a probe's output (runs in the child)."""
    if isinstance(value, torch.Tensor):
        tensor = torch.Tensor.as_subclass(value, torch.Tensor).detach().cpu().contiguous()
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype not in DTYPES:
            return {"__unreadable__": f"tensor of dtype {dtype}"}
        data = base64.b64encode(tensor.numpy().tobytes()).decode("ascii")
        return {"__tensor__": {"dtype": dtype, "shape": list(tensor.shape), "data": data}}
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return {"__unreadable__": type(value).__name__}


def decode(value: object) -> object:
    """The plain value back from its JSON form (runs in the grader); never trusts the sizes it is told.

    Raises ValueError, saying what is wrong, for a malformed tensor or lists nested too deeply.
    """
    return _decode(value, 0)


def _decode(value, depth):
    if depth > MAX_DEPTH:
        raise ValueError(f"an output nested more than {MAX_DEPTH} lists deep")
    if isinstance(value, dict):
        if "__tensor__" in value:
            return _tensor(value["__tensor__"])
        return Unreadable(str(value.get("__unreadable__", "object")))
    if isinstance(value, list):
        return [_decode(item, depth + 1) for item in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return Unreadable(type(value).__name__)


def _tensor(spec):
    if not isinstance(spec, dict) or not {"dtype", "shape", "data"} <= spec.keys():
        raise ValueError("a tensor's form must be a dict with dtype, shape and data")
    name, shape, text = spec["dtype"], spec["shape"], spec["data"]
    if not isinstance(name, str) or name not in DTYPES:
        raise ValueError(f"tensor dtype {str(name)[:40]!r} is none of {', '.join(DTYPES)}")
    if not isinstance(shape, list) or len(shape) > MAX_DIMS:
        raise ValueError(f"a tensor's shape must be a list of at most {MAX_DIMS} sizes")
    if not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"a tensor's shape must hold whole numbers of at least 0, not {str(shape)[:80]}")
    if not isinstance(text, str):
        raise ValueError("a tensor's data must be a base64 string")
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError(f"tensor data is not base64 ({error})") from None
    dtype = np.dtype(DTYPES[name])
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise ValueError(
            f"tensor data does not match its shape: {len(data)} bytes for shape {shape} of {name}"
        )
    flat = np.frombuffer(data, dtype=np.uint8 if name == "bool" else dtype)
    # A bool is one byte that must be 0 or 1: any other byte would make a bool torch does not expect.
    return torch.from_numpy((flat != 0 if name == "bool" else flat.copy()).reshape(shape))
