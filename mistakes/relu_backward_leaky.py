"""relu backward lets 0.1 of the gradient through for x < 0 (leaky relu's derivative, pasted).

x, dout: any shape. Wrong wherever x < 0, and at x = 0 (where it takes relu'(0) = 1, a valid
convention on its own): a difference beyond the kink is a failure, not a warning.
"""

import numpy as np

LAYER = "relu"
BROKEN = ("relu_backward",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "dx differs from jax.vjp"


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    return np.where(cache >= 0, dout, 0.1 * dout)  # mistake: 0.0 where x < 0
