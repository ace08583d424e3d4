"""tanh backward with the derivative's sign flipped: dout * (t^2 - 1), not dout * (1 - t^2).

x, dout: any shape; t = tanh(x). Exactly -1 times the right gradient, at every size.
"""

import numpy as np

LAYER = "tanh"
BROKEN = ("tanh_backward",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "wrong sign"


def tanh_forward(x):
    t = np.tanh(x)
    return t, t


def tanh_backward(dout, cache):
    t = cache
    return dout * ((t - 1.0) * (1.0 + t))  # mistake: (1 - t) * (1 + t)
