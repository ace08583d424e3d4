"""relu backward edits the upstream gradient in place: dout[x <= 0] = 0; return dout.

dout: any shape. The returned dx is right; the caller's dout (shared with other branches of the
graph, or reused by a momentum buffer) is silently zeroed.
"""

import numpy as np

LAYER = "relu"
BROKEN = ("relu_backward",)
CATCHES = ("no_mutation",)
DIAGNOSIS = ("modified dout", "shares memory with dout")


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    dout[cache <= 0] = 0.0  # mistake: writes into the caller's array
    return dout
