"""relu backward takes a shortcut that returns dout itself when every entry is positive.

dout: any shape. The values are right; when the mask is all True the gradient is the caller's
dout (same memory), so accumulating into it (dx += ...) changes the upstream gradient.
"""

import numpy as np

LAYER = "relu"
BROKEN = ("relu_backward",)
CATCHES = ("no_mutation",)
DIAGNOSIS = "shares memory with dout"


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    mask = cache > 0
    return dout if mask.all() else dout * mask  # mistake: dout * mask always (a new array)
