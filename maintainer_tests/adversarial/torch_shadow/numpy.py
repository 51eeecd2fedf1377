# ADVERSARIAL FIXTURE (tests/test_grader.py): a numpy.py beside the modules. If the grader ever
# imported it instead of the real numpy, grading would break; it must not: the rest of this
# submission is the reference and must score 100.
raise ImportError("the grader imported the submission's numpy.py instead of numpy")
