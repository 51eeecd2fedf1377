# ADVERSARIAL FIXTURE (tests/test_grader.py): a module that does not even parse.
# Only positional.py is broken: it loses its 15 points and every other exercise is graded as usual.
import torch


def sinusoidal_positional_encoding(max_len, d_model)  # the colon is missing
    return torch.zeros(max_len, d_model)
