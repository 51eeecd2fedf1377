# ADVERSARIAL FIXTURE (maintainer_tests/test_grader.py): a folder 1,200 levels deep, and one
# without any permissions, in the child's own writable folder, at import. The grader's clean-up
# must remove them whatever they are (shutil.rmtree alone raises RecursionError on such a
# tree): the grader finishes, grades everything else exactly, and positional loses its 15.
import os

here = os.getcwd()
deep = os.path.join(here, "deep")
try:
    for _ in range(1200):
        os.mkdir(deep)
        deep = os.path.join(deep, "d")
except OSError:
    pass
try:
    os.mkdir(os.path.join(here, "locked"))
    with open(os.path.join(here, "locked", "inside"), "w") as inside:
        inside.write("x")
    os.chmod(os.path.join(here, "locked"), 0)
except OSError:
    pass


def sinusoidal_positional_encoding(max_len, d_model):
    raise RuntimeError("deep_tree: a tree to remove, and no positional encoding")


class Embeddings:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("deep_tree: a tree to remove, and no embeddings")
