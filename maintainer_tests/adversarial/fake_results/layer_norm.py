# ADVERSARIAL FIXTURE (tests/test_grader.py): with attention.py beside it. At import it forges, in
# the child's results.jsonl, an import error that is not even a mapping. The grader must not trip
# over it: layer_norm (not implemented here at all) loses its 10 points and nothing else happens.
import json
from pathlib import Path

job = json.loads(Path("job.json").read_text())
with open(job["results"], "a") as records:
    records.write(json.dumps({"event": "import_error", "error": "forged, and not a mapping"}) + "\n")
    records.write(json.dumps({"event": "import_error", "error": {"type": None}}) + "\n")


def layer_norm(x, weight, bias, eps):
    raise NotImplementedError


class LayerNorm:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError
