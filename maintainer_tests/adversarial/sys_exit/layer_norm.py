# ADVERSARIAL FIXTURE (tests/test_grader.py): sys.exit at import, with the success code 0.
# layer_norm must lose its 10 points as "crashed"; the other exercises are graded as usual.
import sys

print("layer_norm: 100/100, all done")
sys.exit(0)
