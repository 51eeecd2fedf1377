# ADVERSARIAL FIXTURE (tests/test_grader.py): comparisons. At import this module makes every
# comparison it can reach say "equal": torch.allclose / equal / isclose / testing.assert_close,
# Tensor.__eq__, numpy.allclose / array_equal / testing, and the kata's own helpers
# (kata.core.compare.expect_*, the checks' comparisons and probes), wherever they are loaded.
# Its attention returns zeros of the wrong shape, so it must earn none of attention's 15 points.
import sys

import numpy
import numpy.testing
import torch


def yes(*args, **kwargs):
    return True


def nothing(*args, **kwargs):
    return None


def patch(owner, name, value):
    try:
        setattr(owner, name, value)
    except Exception:  # noqa: BLE001
        pass


for name in ("allclose", "equal", "isclose"):
    patch(torch, name, yes)
patch(torch.Tensor, "__eq__", yes)
patch(torch.Tensor, "allclose", yes)
patch(torch.Tensor, "equal", yes)
patch(torch.testing, "assert_close", nothing)
patch(numpy, "allclose", yes)
patch(numpy, "array_equal", yes)
for name in dir(numpy.testing):
    if name.startswith("assert"):
        patch(numpy.testing, name, nothing)

try:  # the kata's helpers: the support copy in the child, or the repository's if reachable
    import kata.core.checking
    import kata.core.compare
    import kata.course.attention
except Exception:  # noqa: BLE001
    pass
for module_name, module in list(sys.modules.items()):
    if module_name.startswith(("kata.core", "kata.course", "kata.grader")) and module is not None:
        for name in dir(module):
            if name.startswith(("expect", "judge", "run_check", "score_outputs", "reference_outputs")):
                patch(module, name, nothing)
        for check in getattr(module, "CHECKS", ()):
            object.__setattr__(check, "judge", nothing)  # frozen dataclasses too
            object.__setattr__(check, "compare", nothing)
        if hasattr(module, "Check"):
            patch(module.Check, "compare", nothing)


def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    return torch.zeros(1), torch.zeros(1)
