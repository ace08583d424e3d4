"""dropout draws its mask with randn (standard normal) instead of rand (uniform on [0, 1)):
randn(...) < p keeps a fraction Φ(p) of the entries (0.69 at p = 0.5), not p.

x: any shape; dropout_param: p (keep probability), mode, optional seed. Output and gradient are
consistent with the mask used and scaled by 1/p; only the kept fraction is wrong, so the
expected output is Φ(p)/p · x instead of x.
"""

import numpy as np

LAYER = "dropout"
BROKEN = ("dropout_forward",)
CATCHES = ("properties",)
DIAGNOSIS = "kept fraction"


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        mask = (np.random.randn(*x.shape) < p) / p  # mistake: np.random.rand
        return x * mask, (dropout_param, mask)
    return x.copy(), (dropout_param, None)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout.copy()
