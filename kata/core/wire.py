"""How a child process reports outputs to the grader: JSON with tensors as raw numbers.

No pickle, so nothing a submission returns can run code in the grader. What decodes is
plain data: a torch.Tensor made fresh from bytes, a number, a string, a list, or an
`Unreadable` marker that says what the submission returned instead.
"""

import base64
import math

import numpy as np
import torch

DTYPES = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "int64": np.int64,
    "int32": np.int32,
    "bool": np.bool_,
}


class Unreadable:
    """Stands for an output that was not a tensor or plain value (its type name is kept)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name}>"


def encode(value):
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


def decode(value):
    """The plain value back from its JSON form (runs in the grader); never trusts the sizes it is told."""
    if isinstance(value, dict):
        if "__tensor__" in value:
            spec = value["__tensor__"]
            dtype = np.dtype(DTYPES[spec["dtype"]])
            shape = [int(n) for n in spec["shape"]]
            data = base64.b64decode(spec["data"], validate=True)
            if len(data) != math.prod(shape) * dtype.itemsize:
                raise ValueError("tensor data does not match its shape")
            return torch.from_numpy(np.frombuffer(data, dtype=dtype).reshape(shape).copy())
        return Unreadable(str(value.get("__unreadable__", "object")))
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return Unreadable(type(value).__name__)
