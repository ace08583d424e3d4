"""sigmoid's output computed in single precision and cast back to float64: right to float32's
~6e-8, not to float64's.

x: any shape. The cache keeps the float64 values, so the backward is right. Not a wrong
derivation: the forward fails the float64 tier with the precision-loss diagnosis.
"""

import numpy as np

LAYER = "sigmoid"
BROKEN = ("sigmoid_forward",)
CATCHES = ("forward",)
DIAGNOSIS = "a precision loss"


def sigmoid_forward(x):
    z = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return s.astype(np.float32).astype(np.float64), (x, s)  # mistake: float32 on the way out


def sigmoid_backward(dout, cache):
    x, s = cache
    return dout * s * (1.0 - s)
