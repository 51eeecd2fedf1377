"""The NumPy track behind the PyTorch track's API, so that the same tests and grader checks run on it.

Design. The tests and the grader's probes speak PyTorch: they pass tensors, build
modules, write weights with `parameter.copy_(...)` under `torch.no_grad()`, read
`named_parameters()`, call `.eval()`, check `isinstance(layer, nn.Linear)`. Rather than
keep a second copy of every test, `as_torch(module)` gives a NumPy-track module (as
kata.loading loads it) a PyTorch face, and leaves what it computes alone:

- A function becomes one that copies its tensor arguments into arrays, calls the NumPy
  function, and turns the arrays it returns into tensors of the same dtype (so a float64
  slip still shows).
- A class with a `forward` becomes an nn.Module class. Building one builds the NumPy
  object and puts a `ModuleView` in front of it: the NumPy object's sub-modules become
  sub-views (a list of them an nn.ModuleList), its float arrays named weight or bias
  become nn.Parameters and its other float arrays buffers, all *sharing memory* with the
  NumPy arrays (torch.from_numpy). A test that writes a parameter writes the NumPy
  model's own array: nothing is ever copied back and forth. Other attributes (eps,
  num_heads, config) are read through. Views of the track's `Linear` and `Embedding`
  are also nn.Linear and nn.Embedding, as the tests expect of q_proj or word_embeddings.
- Everything else (EncoderConfig, the dict hf_weight_names returns) passes through.

The NumPy track is inference only: a view starts in eval mode and refuses to run in
train mode, and the tests that need autograd or train mode are marked torch_only. Only
the tests and the grader's child import this module; the NumPy track never imports torch.
"""

import dataclasses
import functools
import inspect
import types
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

PARAMETER_NAMES = ("weight", "bias")  # the NumPy track's learned arrays; other arrays are fixed buffers
SHAREABLE_KINDS = "biuf"  # bool, int, unsigned, float: the array kinds torch can hold

# The NumPy track's stand-ins for torch layers, with the attributes the tests read off them.
TORCH_TWINS = {
    "Linear": (
        nn.Linear,
        {
            "in_features": property(lambda self: self.weight.shape[1]),
            "out_features": property(lambda self: self.weight.shape[0]),
        },
    ),
    "Embedding": (
        nn.Embedding,
        {
            "num_embeddings": property(lambda self: self.weight.shape[0]),
            "embedding_dim": property(lambda self: self.weight.shape[1]),
        },
    ),
}

_faces: dict[types.ModuleType, types.ModuleType] = {}  # NumPy-track module -> its PyTorch face
_view_classes: dict[type, type["ModuleView"]] = {}  # NumPy-track class -> its nn.Module class


def as_torch(module: types.ModuleType) -> types.ModuleType:
    """The NumPy-track `module` with the PyTorch track's API (see the design note above)."""
    if module not in _faces:
        face = types.ModuleType(module.__name__, module.__doc__)
        face.__file__ = module.__file__
        face.__wrapped__ = module  # type: ignore[attr-defined]  # inspect.unwrap follows it
        package = module.__name__.split(".")[0]
        for name, value in vars(module).items():
            defined_in_track = (getattr(value, "__module__", None) or "").split(".")[0] == package
            if defined_in_track and inspect.isclass(value) and callable(getattr(value, "forward", None)):
                value = view_class(value)
            elif defined_in_track and inspect.isfunction(value):
                value = torch_function(value)
            if not name.startswith("__"):
                setattr(face, name, value)
        _faces[module] = face
    return _faces[module]


def to_numpy(value: object) -> Any:
    """Tensors (also inside lists and tuples) copied into arrays, a view the NumPy object behind it
    (an Encoder handed to SentenceEncoder(encoder, pooling)); anything else as it is."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, ModuleView):
        return value.numpy_module
    if isinstance(value, list | tuple) and type(value) in (list, tuple):
        return type(value)(to_numpy(item) for item in value)
    return value


def to_torch(value: object) -> Any:
    """Arrays (also inside lists, tuples and dataclasses) as tensors, NumPy-track modules as views."""
    if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in SHAREABLE_KINDS:
        return torch.from_numpy(np.array(value))  # a copy the caller owns; a NumPy scalar becomes 0-d
    if isinstance(value, list | tuple) and type(value) in (list, tuple):
        return type(value)(to_torch(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_torch(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **fields)
    if is_numpy_module(value):
        return view_of(value, {})
    return value


def is_numpy_module(value: object) -> bool:
    return not isinstance(value, nn.Module | type) and callable(getattr(type(value), "forward", None))


def torch_function(function: Callable[..., object]) -> Callable[..., Any]:
    """`function` taking and returning tensors instead of arrays; same name, docstring and signature."""

    @functools.wraps(function)
    def with_tensors(*args: object, **kwargs: object) -> Any:
        return to_torch(function(*to_numpy(args), **{key: to_numpy(value) for key, value in kwargs.items()}))

    return with_tensors


class ModuleView(nn.Module):
    """An nn.Module in front of a NumPy-track module: the same sub-modules, parameters that share its arrays."""

    numpy_class: ClassVar[type | None] = None  # the NumPy-track class, set on each class view_class makes
    numpy_module: Any  # the NumPy-track object in front of which this view stands

    def __init__(self, *args: object, **kwargs: object) -> None:
        # Built as the class, e.g. multi_head.MultiHeadAttention(30, 5): the NumPy object is built first.
        numpy_args = to_numpy(args)
        numpy_kwargs = {key: to_numpy(value) for key, value in kwargs.items()}
        if self.numpy_class is None:
            raise TypeError("ModuleView is built through a class from view_class(), never directly")
        self._adopt(self.numpy_class(*numpy_args, **numpy_kwargs), {})

    def _adopt(self, numpy_module: object, views: dict[int, "ModuleView"]) -> None:
        """Mirror `numpy_module`; `views` maps id(NumPy object) -> its view, so a shared object gets one view."""
        nn.Module.__init__(self)
        views[id(numpy_module)] = self
        for name, value in vars(numpy_module).items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                shared = torch.from_numpy(value)  # the same memory: writing one writes the other
                if name in PARAMETER_NAMES:
                    self.register_parameter(name, nn.Parameter(shared))
                else:
                    self.register_buffer(name, shared)
            elif is_numpy_module(value):
                self.add_module(name, view_of(value, views))
            elif isinstance(value, list) and value and all(map(is_numpy_module, value)):
                self.add_module(name, nn.ModuleList(view_of(item, views) for item in value))
        self.numpy_module = numpy_module  # last: until now, reading through would shadow what is registered
        self.train(False)

    def forward(self, *args: object, **kwargs: object) -> Any:
        if any(module.training for module in self.modules()):
            raise RuntimeError(
                f"{type(self).__name__} is a NumPy-track module: inference only, it has no train mode "
                "(tests of dropout in training or of gradients run on the PyTorch track only)"
            )
        numpy_kwargs = {key: to_numpy(value) for key, value in kwargs.items()}
        return to_torch(self.numpy_module(*to_numpy(args), **numpy_kwargs))

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # parameters, buffers, sub-modules
        except AttributeError:
            numpy_module = self.__dict__.get("numpy_module")
            if numpy_module is None or not hasattr(numpy_module, name):
                raise
            return to_torch(getattr(numpy_module, name))  # eps, num_heads, config, ...

    def extra_repr(self) -> str:
        return f"NumPy {type(self.numpy_module).__qualname__}"


def view_class(numpy_class: type) -> type[ModuleView]:
    """The nn.Module class for a NumPy-track class: building it builds the NumPy object behind a view."""
    if numpy_class not in _view_classes:
        twin, attributes = TORCH_TWINS.get(numpy_class.__name__, (None, {}))
        namespace: dict[str, object] = {
            "numpy_class": numpy_class,
            "__doc__": numpy_class.__doc__,
            "__module__": numpy_class.__module__,
            "__qualname__": numpy_class.__qualname__,
            **attributes,
        }
        for name, member in vars(numpy_class).items():  # Encoder.from_hf and the like
            if isinstance(member, classmethod | staticmethod):
                namespace[name] = staticmethod(torch_function(getattr(numpy_class, name)))
        bases = (ModuleView, twin) if twin else (ModuleView,)
        _view_classes[numpy_class] = type(numpy_class.__name__, bases, namespace)
    return _view_classes[numpy_class]


def view_of(numpy_module: object, views: dict[int, ModuleView]) -> ModuleView:
    """The view of an existing NumPy-track module object (one per object within `views`)."""
    if id(numpy_module) not in views:
        cls = view_class(type(numpy_module))
        cls.__new__(cls)._adopt(numpy_module, views)
    return views[id(numpy_module)]
