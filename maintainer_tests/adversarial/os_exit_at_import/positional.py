# ADVERSARIAL FIXTURE (tests/test_grader.py): os._exit(0) at import. The child process ends at
# once with the success code, before reporting anything, and no Python clean-up runs.
# positional must lose its 15 points as "crashed"; the other exercises are graded as usual.
import os

print("positional: 100/100, all done", flush=True)
os._exit(0)
