"""relu backward masks with the cached output and >=: out >= 0 holds everywhere.

Caching out = max(x, 0) instead of x, the mask out > 0 would be right; out >= 0 lets every
entry through, so dx = dout.
"""

import numpy as np

LAYER = "relu"
BROKEN = ("relu_backward",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "dx differs from jax.vjp"


def relu_forward(x):
    out = np.maximum(x, 0.0)
    return out, out


def relu_backward(dout, cache):
    return dout * (cache >= 0)  # mistake: cache > 0 (or x > 0)
