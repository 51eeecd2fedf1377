# ADVERSARIAL FIXTURE (tests/test_grader.py): a segmentation fault inside a call. The interpreter
# dies by SIGSEGV at the first positional check; positional must lose its 15 points as "crashed"
# and the other exercises must be graded as usual.
import ctypes
import faulthandler

import torch

faulthandler.disable()  # no traceback, just the signal


def sinusoidal_positional_encoding(max_len, d_model):
    try:
        ctypes.string_at(0)  # read address 0
    except BaseException:  # noqa: BLE001  (the grader may forbid ctypes: crash another way)
        pass
    faulthandler._sigsegv()
    return torch.zeros(max_len, d_model)


class Embeddings(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        sinusoidal_positional_encoding(1, 1)
