"""sigmoid backward reuses the cached output as scratch: s *= 1 - s modifies the cache in place
(and, since the cache is the forward's output, the activation the next layer saw)."""

import numpy as np

LAYER = "sigmoid"
BROKEN = ("sigmoid_backward",)
CATCHES = ("no_mutation",)
DIAGNOSIS = "modified the cache"


def sigmoid_forward(x):
    z = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return s, s


def sigmoid_backward(dout, cache):
    s = cache
    s *= 1.0 - s  # mistake: in place, on the cache
    return dout * s
