"""The Transformer Encoder Kata in plain NumPy: the same six modules, no framework at all.

Same public names, signatures and shapes as the PyTorch track one folder up, on
np.ndarray (float32 by default; float64 works too), inference only. Modules import
each other with relative imports only, so this folder works from any path.
"""
