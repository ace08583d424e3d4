"""sigmoid forward with the sign of the exponent flipped: 1 / (1 + exp(x)), which is sigmoid(-x).

x: any shape (clipped to +-500 so that only the sign is wrong). The backward's s (1 - s) is the
same for s and 1 - s, so it stays right on the wrong cache: only the forward is caught.
"""

import numpy as np

LAYER = "sigmoid"
BROKEN = ("sigmoid_forward",)
CATCHES = ("forward",)
DIAGNOSIS = "output differs from the JAX twin"


def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(np.clip(x, -500, 500)))  # mistake: np.exp(-x)
    return s, s


def sigmoid_backward(dout, cache):
    s = cache
    return dout * s * (1.0 - s)
