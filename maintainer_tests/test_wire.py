"""The wire format (kata/core/wire.py): what a child sends round-trips, and what it cannot send.

A child's records are untrusted: the submission runs in that process. `decode` must turn
anything malformed into a ValueError that says what is wrong (the grader scores it as an
unreadable output), never a crash, a huge allocation or a tensor torch does not expect.
"""

import base64
import math

import pytest
import torch

from kata.core import wire

pytestmark = pytest.mark.maintainer  # checks the kata's own grader, not the learner's code


def tensor_form(dtype="float32", shape=(2,), data=""):
    return {"__tensor__": {"dtype": dtype, "shape": list(shape), "data": data}}


@pytest.mark.parametrize("dtype", sorted(wire.DTYPES))
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (2, 3, 4)])
def test_every_supported_dtype_round_trips(dtype, shape):
    generator = torch.Generator().manual_seed(0)
    tensor = (torch.randn(shape, generator=generator) * 100).to(getattr(torch, dtype))
    decoded = wire.decode(wire.encode(tensor))
    assert isinstance(decoded, torch.Tensor)
    assert (decoded.dtype, decoded.shape) == (tensor.dtype, tensor.shape)
    assert torch.equal(decoded, tensor)


def test_non_finite_floats_round_trip_inside_tensors():
    tensor = torch.tensor([math.nan, math.inf, -math.inf, -0.0])
    decoded = wire.decode(wire.encode(tensor))
    assert decoded.isnan()[0] and decoded[1:3].tolist() == [math.inf, -math.inf]
    assert math.copysign(1, decoded[3].item()) == -1


def test_a_decoded_tensor_is_a_fresh_plain_tensor():
    class Sneaky(torch.Tensor):
        pass

    tensor = torch.arange(6.0).reshape(2, 3)
    decoded = wire.decode(wire.encode(tensor.as_subclass(Sneaky)))
    assert type(decoded) is torch.Tensor
    decoded += 1  # writable, and its own memory
    assert tensor[0, 0] == 0


def test_plain_values_round_trip_and_the_rest_is_named():
    assert wire.decode(wire.encode([1, 2.5, "x", None, True, (3, [4])])) == [
        1,
        2.5,
        "x",
        None,
        True,
        [3, [4]],
    ]
    assert wire.encode(math.nan) == "nan" and wire.encode(-math.inf) == "-inf"  # JSON has no NaN
    unreadable = wire.decode(wire.encode({"a": 1}))
    assert isinstance(unreadable, wire.Unreadable) and unreadable.type_name == "dict"
    assert repr(unreadable) == "<a dict>"
    complex_tensor = wire.decode(wire.encode(torch.zeros(2, dtype=torch.complex64)))
    assert complex_tensor.type_name == "tensor of dtype complex64"


def test_values_json_cannot_hold_decode_as_unreadable():
    for value in ({1, 2}, b"bytes", object(), 1j):
        decoded = wire.decode(value)
        assert isinstance(decoded, wire.Unreadable) and decoded.type_name == type(value).__name__
    assert wire.decode({"no": "marker"}).type_name == "object"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            tensor_form(shape=(3,), data=base64.b64encode(bytes(8)).decode()),
            "tensor data does not match its shape: 8 bytes for shape [3] of float32",
        ),  # fmt: skip
        (tensor_form(shape=(2**62, 2**62)), "tensor data does not match its shape"),
        (tensor_form(dtype="float8"), "tensor dtype 'float8' is none of float32, float64"),
        (tensor_form(dtype=["float32"]), "tensor dtype \"['float32']\" is none of"),
        (tensor_form(dtype="object"), "tensor dtype 'object' is none of"),
        (tensor_form(data="not base64!"), "tensor data is not base64"),
        (tensor_form(data="AAA"), "tensor data is not base64"),  # bad padding
        (tensor_form(data=12), "a tensor's data must be a base64 string"),
        (tensor_form(shape=(-2, -4)), "a tensor's shape must hold whole numbers of at least 0, not [-2, -4]"),
        (tensor_form(shape=(-1,), data=""), "whole numbers of at least 0"),
        (tensor_form(shape=(2.0,)), "whole numbers of at least 0"),
        (tensor_form(shape=("2",)), "whole numbers of at least 0"),
        (tensor_form(shape=(True,)), "whole numbers of at least 0"),
        (tensor_form(shape=(None,)), "whole numbers of at least 0"),
        (tensor_form(shape=([2],)), "whole numbers of at least 0"),
        (tensor_form(shape=(1,) * 65), "a tensor's shape must be a list of at most 64 sizes"),
        ({"__tensor__": {"dtype": "float32", "shape": 2, "data": ""}}, "shape must be a list"),
        (
            {"__tensor__": {"dtype": "float32", "data": ""}},
            "a tensor's form must be a dict with dtype, shape and data",
        ),  # fmt: skip
        ({"__tensor__": [1, 2, 3]}, "a tensor's form must be a dict"),
        ({"__tensor__": "float32"}, "a tensor's form must be a dict"),
        ({"__tensor__": None}, "a tensor's form must be a dict"),
        ([[tensor_form(dtype="float8")]], "tensor dtype 'float8'"),  # inside lists too
    ],
)
def test_malformed_tensors_raise_a_value_error_that_says_what_is_wrong(form, message):
    with pytest.raises(ValueError) as raised:
        wire.decode(form)
    assert message in str(raised.value)


def test_lists_nested_too_deeply_raise_a_value_error_not_a_recursion_error():
    value = []
    for _ in range(wire.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(ValueError, match=f"nested more than {wire.MAX_DEPTH} lists deep"):
        wire.decode(value)
    shallow = []
    for _ in range(wire.MAX_DEPTH):
        shallow = [shallow]
    assert wire.decode(shallow) == shallow


def test_a_bool_byte_other_than_0_or_1_is_true():
    form = tensor_form(dtype="bool", shape=(3,), data=base64.b64encode(bytes([0, 1, 7])).decode())
    decoded = wire.decode(form)
    assert decoded.dtype == torch.bool and decoded.tolist() == [False, True, True]
    assert decoded.view(torch.uint8).tolist() == [0, 1, 1]  # stored as torch stores a bool
