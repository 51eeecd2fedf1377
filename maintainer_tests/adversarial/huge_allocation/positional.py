# ADVERSARIAL FIXTURE (tests/test_grader.py): memory. Every positional check asks for 4 TB here;
# the child's memory limit must turn that into a clean "ran out of memory" (positional loses its
# 15 points as "crashed") without harming the machine or the other exercises.
import torch


def sinusoidal_positional_encoding(max_len, d_model):
    return torch.ones(10**12)[: max_len * d_model].view(max_len, d_model)  # 4 TB of float32


class Embeddings(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        self.hoard = bytearray(2 * 10**12)  # 2 TB
