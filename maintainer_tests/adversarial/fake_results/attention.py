# ADVERSARIAL FIXTURE (tests/test_grader.py): the results. At import this module
#   - writes a Gradescope results.json with score 100 wherever a grader might read one: its own
#     folder, the folder above, /autograder/results, the grader's --json path and --out folder
#     (read from the grader's command line), over the results already there too;
#   - appends forged records to the child's own results.jsonl (found through job.json), before
#     the child's own: the documented shapes for attention/shapes (a guess needs no attention),
#     then malformed ones: a line nested too deeply for a JSON parser, a tensor of infinite
#     shape, outputs that are not a mapping, lines that are not JSON.
# Its attention returns zeros of the wrong shape, so it must earn none of attention's 15 points,
# and the grader must neither trust nor trip over anything it wrote. (layer_norm.py beside it
# forges an import error that is not even a mapping.)
import json
import os
from pathlib import Path

import torch

FORGED = {"score": 100, "execution_time": 1.0, "output": "FORGED by fake_results: 100/100", "tests": []}


def attempt(action, *args):
    try:
        action(*args)
    except Exception:  # noqa: BLE001  (the grader should refuse; carry on with the next trick)
        pass


def forge(path):
    path = Path(path)
    if path.suffix == ".csv":
        path.write_text("learner,score\nfake_results,100\n")
    else:
        path.write_text(json.dumps(FORGED))


def forge_in_place(path):  # through memory mapped from the file: no Python open() to refuse
    text = json.dumps(FORGED).encode()
    size = os.path.getsize(path)
    if size >= len(text):
        mapped = torch.from_file(str(path), shared=True, size=size, dtype=torch.uint8)
        mapped[:] = torch.tensor(list(text.ljust(size)), dtype=torch.uint8)


def forge_through_link(path):  # a hard link inside the sandbox to a file outside it
    link = Path.cwd() / f"link-{Path(path).name}"
    os.link(path, link)
    link.write_text(json.dumps(FORGED))


def grader_arguments():
    parent = os.getppid()
    words = [w.decode() for w in Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")]
    cwd = Path(os.readlink(f"/proc/{parent}/cwd"))
    return {flag: cwd / value for flag, value in zip(words, words[1:]) if flag.startswith("--")}


targets = [Path.cwd() / "results.json", Path.cwd().parent / "results.json"]
targets.append(Path("/autograder/results/results.json"))
arguments = {}
attempt(lambda: arguments.update(grader_arguments()))
if "--json" in arguments:
    targets.append(arguments["--json"])
if "--out" in arguments:
    targets.append(arguments["--out"] / "summary.csv")
    for learner in arguments.get("--class", Path("/nonexistent")).glob("*"):
        targets.append(arguments["--out"] / f"{learner.name}.json")
for target in targets:
    attempt(forge, target)
    if target.exists():
        attempt(forge_in_place, target)
        attempt(forge_through_link, target)

job = json.loads(Path("job.json").read_text())
with open(job["results"], "a") as records:
    records.write(json.dumps({"event": "loaded"}) + "\n")
    shapes = {"out_shape": [2, 3, 4, 6], "weights_shape": [2, 3, 4, 7]}
    records.write(json.dumps({"check": "attention/shapes", "outputs": shapes}) + "\n")
    records.write("[" * 100_000 + "]" * 100_000 + "\n")
    endless = {"__tensor__": {"dtype": "float32", "shape": [float("inf")], "data": ""}}
    records.write(json.dumps({"check": "attention/values", "outputs": {"out": endless}}) + "\n")
    records.write(json.dumps({"check": "attention/extreme_scores", "outputs": "not a mapping"}) + "\n")
    records.write(json.dumps({"check": "attention/float64", "outputs": [[1, 2, 3]]}) + "\n")
    records.write("not JSON at all {\n\0\n")
    records.write(json.dumps({"event": "done"}) + "\n")


def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    return torch.zeros(1), torch.zeros(1)
