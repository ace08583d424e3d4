"""dropout draws one mask for a single example, rand(*x.shape[1:]), and broadcasts it over the
batch: every example drops the same features.

x: (N, ...); dropout_param: p (keep probability), mode, optional seed. Output and gradient are
consistent with the mask used (x * mask / p), and the kept fraction is right on average; only
the masks' independence across the batch is wrong.
"""

import numpy as np

LAYER = "dropout"
BROKEN = ("dropout_forward",)
CATCHES = ("properties",)
DIAGNOSIS = "shared across the batch"


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        mask = (np.random.rand(*x.shape[1:]) < p) / p  # mistake: rand(*x.shape), one per entry
        return x * mask, (dropout_param, mask)
    return x.copy(), (dropout_param, None)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout.copy()
