"""leaky relu backward returns the local derivative alone: the upstream gradient is not
multiplied in (dx = where(x > 0, 1, alpha) instead of dout * that)."""

import numpy as np

LAYER = "leaky_relu"
BROKEN = ("leaky_relu_backward",)
CATCHES = ("vjp", "finite_differences", "linearity")
DIAGNOSIS = "upstream gradient"


def leaky_relu_forward(x, alpha=0.01):
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    x, alpha = cache
    return np.where(x > 0, 1.0, alpha)  # mistake: dout * np.where(x > 0, 1.0, alpha)
