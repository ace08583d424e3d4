"""relu backward left as a stub that returns NaN: np.full_like(dout, np.nan), "to fill in later".

dout: any shape. Every comparison with NaN is False, so a check that only asks "is the gap too
large?" waves it through.
"""

import numpy as np

LAYER = "relu"
BROKEN = ("relu_backward",)
CATCHES = ("vjp", "finite_differences", "linearity")
DIAGNOSIS = "nan"


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    return np.full_like(dout, np.nan)  # mistake: the stub was never replaced
