"""relu forward clamps its input in place: np.maximum(x, 0, out=x).

x: any shape. The output is right; the caller's x (the previous layer's cached output) is not.
"""

import numpy as np

LAYER = "relu"
BROKEN = ("relu_forward",)
CATCHES = ("no_mutation",)
DIAGNOSIS = "modified its argument x in place"


def relu_forward(x):
    np.maximum(x, 0.0, out=x)  # mistake: overwrites the caller's x
    return x.copy(), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
