"""The Transformer Encoder Kata in plain NumPy: the same six modules, no framework at all.

Same public names, signatures and shapes as the PyTorch track one folder up, on
np.ndarray (float32 by default; float64 works too), inference only. Modules import
each other with relative imports only, so this folder works from any path.

What this track repeats from the PyTorch track on purpose (EncoderConfig, the code of
hf_weight_names, the equations and shape contracts of the docstrings) is marked where it
stands, with a comment such as `# Same as solutions/encoder.py: EncoderConfig`;
maintainer_tests/test_copies.py checks that each marked copy is still the same as its
original, and documents the markers.
"""
