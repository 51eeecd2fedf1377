"""The capstone: the learner's whole encoder, every module their own, against pretrained BERT.

It is graded after the six exercises. It earns no points of its own by default (each of
its modules has already been graded once); give its check points here to change that.
"""

from ..core.checking import Check
from ..core.compare import WHOLE_MODEL
from .encoder import encoder_pretrained, model_hints

NAME = "capstone"

CHECKS = (
    Check(
        NAME,
        "whole_stack",
        "your whole encoder, every module yours, reproduces pretrained MiniLM",
        0,
        encoder_pretrained,
        model_hints(6, loaded=True),
        atol=WHOLE_MODEL,
        needs_weights=True,
    ),
)
