"""The Transformer Encoder Kata, one module per exercise, in course order:
attention, multi_head, feed_forward, layer_norm, positional, encoder.

Modules import each other with relative imports only, so this folder works from any path.
"""
