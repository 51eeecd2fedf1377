# ADVERSARIAL FIXTURE (tests/test_grader.py): a module whose import raises (a missing dependency).
# Only positional.py is broken: it loses its 15 points and every other exercise is graded as usual.
import torch
import no_such_package_for_the_kata  # noqa: F401  (ModuleNotFoundError at import)


def sinusoidal_positional_encoding(max_len, d_model):
    return torch.zeros(max_len, d_model)
