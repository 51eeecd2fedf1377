# ADVERSARIAL FIXTURE (tests/test_grader.py): the time limit. sinusoidal_positional_encoding never
# returns, and ignores the polite ways of being stopped (SIGTERM, SIGINT, exceptions). The child
# hangs at the first positional check; the grader must kill it after --timeout seconds, mark
# positional "timed out" and still grade every other exercise.
import signal

import torch

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)


def sinusoidal_positional_encoding(max_len, d_model):
    while True:
        try:
            while True:
                pass
        except BaseException:  # noqa: BLE001  (not even KeyboardInterrupt stops it)
            continue


class Embeddings(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise NotImplementedError  # the capstone builds Embeddings: let it fail fast, not hang
