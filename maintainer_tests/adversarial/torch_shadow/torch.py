# ADVERSARIAL FIXTURE (tests/test_grader.py): a torch.py beside the modules. If the grader ever
# imported it instead of the real torch, grading would break; it must not: the rest of this
# submission is the reference and must score 100.
raise ImportError("the grader imported the submission's torch.py instead of torch")
