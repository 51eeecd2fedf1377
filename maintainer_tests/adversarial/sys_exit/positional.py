# ADVERSARIAL FIXTURE (tests/test_grader.py): sys.exit inside the calls, with the success code 0.
# Every positional check calls one of these; positional must lose its 15 points as "crashed",
# and the child must go on to the next check rather than stop.
import sys

import torch


def sinusoidal_positional_encoding(max_len, d_model):
    print("positional: 100/100, all done")
    sys.exit(0)


class Embeddings(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise SystemExit(0)
