"""elu forward evaluates exp on every entry, as np.where computes both branches: exp(x) overflows
for x above ~709 even though that branch is not taken there (use exp(min(x, 0))).

x: any shape; alpha: scalar.
"""

import numpy as np

LAYER = "elu"
BROKEN = ("elu_forward",)
CATCHES = ("forward",)
DIAGNOSIS = "overflow"


def elu_forward(x, alpha=1.0):
    out = np.where(x > 0, x, alpha * (np.exp(x) - 1.0))  # mistake: np.exp(np.minimum(x, 0))
    return out, (x, out, alpha)


def elu_backward(dout, cache):
    x, out, alpha = cache
    return dout * np.where(x > 0, 1.0, out + alpha)
