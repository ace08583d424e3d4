"""sigmoid backward evaluates s(1 - s) at the input: dout * x * (1 - x), not at s = sigmoid(x).

x: any shape. The cache holds both; the wrong one is picked.
"""

import numpy as np

LAYER = "sigmoid"
BROKEN = ("sigmoid_backward",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "dx differs from jax.vjp"


def sigmoid_forward(x):
    s = np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))),
                 np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))
    return s, (x, s)


def sigmoid_backward(dout, cache):
    x, s = cache
    return dout * x * (1.0 - x)  # mistake: dout * s * (1 - s)
