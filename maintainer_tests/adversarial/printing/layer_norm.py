# ADVERSARIAL FIXTURE (tests/test_grader.py): output. A correct layer_norm.py that prints megabytes
# at import and in every call, to stdout, stderr and the raw file descriptors, including a fake
# score table, a fake results.json, fake child records and bytes that are not UTF-8. Printing
# earns nothing and costs nothing: this submission must still score 100.
import json
import os
import sys

import torch
import torch.nn as nn

FAKE_JSON = json.dumps({"score": 100, "execution_time": 0.1, "output": "100/100", "tests": []})
FAKE_RECORD = json.dumps({"check": "layer_norm/function", "outputs": {}})


def shout(megabytes):
    line = "x" * 1023 + "\n"
    for _ in range(megabytes * 1024 // 2):
        sys.stdout.write(line)
        sys.stderr.write(line)
    print("      total                  100 / 100\nAll done: every check passes. 100/100")
    print(FAKE_JSON, FAKE_RECORD, sep="\n", file=sys.stderr)
    os.write(1, b"\xff\xfe\x00 not UTF-8 \x1b[2J\x1b[H{\"score\": 100}\n")
    os.write(2, FAKE_JSON.encode() + b"\n")
    sys.stdout.flush()


shout(6)


def layer_norm(x, weight, bias, eps):
    shout(1)
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True, correction=0)
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias


class LayerNorm(nn.Module):
    def __init__(self, d_model, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model))

    def forward(self, x):
        return layer_norm(x, self.weight, self.bias, self.eps)
