"""dropout backward draws a fresh mask instead of reusing the forward's: the gradient flows
through entries the forward dropped, and misses some it kept.

x: any shape; dropout_param: p (keep probability), mode, optional seed. The forward is right;
train mode's dx is dout times a mask unrelated to the output's.
"""

import numpy as np

LAYER = "dropout"
BROKEN = ("dropout_backward",)
CATCHES = ("vjp", "finite_differences", "linearity")
DIAGNOSIS = "the forward's mask"


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        return x * mask, (dropout_param, mask)
    return x.copy(), (dropout_param, None)


def dropout_backward(dout, cache):
    dropout_param, _ = cache
    if dropout_param["mode"] == "train":
        p = dropout_param["p"]
        mask = (np.random.rand(*dout.shape) < p) / p  # mistake: the cached mask is due
        return dout * mask
    return dout.copy()
