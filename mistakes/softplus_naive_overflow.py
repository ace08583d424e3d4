"""softplus computed as written on paper, log(1 + exp(x)): exp overflows for x above ~709.

x: any shape. Right for everyday inputs; inf (and an overflow warning) for large ones, where the
stable form max(x, 0) + log1p(exp(-|x|)) is finite.
"""

import numpy as np

LAYER = "softplus"
BROKEN = ("softplus_forward",)
CATCHES = ("forward",)
DIAGNOSIS = "overflow"


def softplus_forward(x):
    z = np.exp(-np.abs(x))
    sig = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return np.log(1.0 + np.exp(x)), sig  # mistake: np.maximum(x, 0) + np.log1p(z)


def softplus_backward(dout, cache):
    return dout * cache
