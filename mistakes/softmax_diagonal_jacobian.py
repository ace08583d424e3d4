"""softmax backward keeps only the diagonal of the Jacobian: dout * p * (1 - p), dropping the
-p_j p_k terms (the full product is p * (dout - sum(dout * p))).

x, p, dout: (..., C), softmax over the last axis.
"""

import numpy as np

LAYER = "softmax"
BROKEN = ("softmax_backward",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "diagonal of the jacobian"


def softmax_forward(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return p, p


def softmax_backward(dout, cache):
    p = cache
    return dout * p * (1.0 - p)  # mistake: p * (dout - (dout * p).sum(-1, keepdims=True))
