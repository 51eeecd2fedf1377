"""The exit codes of every kata command (`kata ...` and `python grader.py`), one name each."""

# The question was answered yes: every point graded is earned, every stage matches BERT's,
# the pictures were drawn, exercises/ is up to date, every benchmarked command ran.
EXIT_OK = 0
# It ran and the answer is not yet: points missing, a stage differs, exercises/ is out of
# date, a benchmarked command failed.
EXIT_NOT_YET = 1
# It could not run: a usage error (argparse exits with 2 as well), an unfinished exercise
# the command needs, missing weights, or a failure of the kata itself.
EXIT_CANNOT_RUN = 2
# Stopped by Ctrl-C (SIGINT), as a shell reports it: 128 + the signal's number.
EXIT_INTERRUPTED = 130
