"""relu backward with relu'(0) = 1 (mask x >= 0): a convention, not a mistake.

x, dout: any shape. relu is not differentiable at 0 and the course leaves the choice open;
bpcheck follows JAX (relu'(0) = 0) and warns, naming the convention, where the two differ.
"""

import numpy as np

LAYER = "relu"
BROKEN = ("relu_backward",)
CATCHES = ()
WARNS = ("vjp",)
DIAGNOSIS = "where relu is not differentiable"


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache >= 0)  # relu'(0) = 1: a convention, not a mistake
