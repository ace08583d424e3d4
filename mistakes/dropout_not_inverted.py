"""dropout is not inverted: training keeps x * mask without dividing by p (and test mode is the
identity), so the expected training output is p · x, not x.

x: any shape; dropout_param: p (keep probability), mode, optional seed. Train mode's output and
gradient are p times too small; test mode is right.
"""

import numpy as np

LAYER = "dropout"
BROKEN = ("dropout_forward", "dropout_backward")
CATCHES = ("forward", "vjp", "finite_differences", "properties")
DIAGNOSIS = "not inverted"


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        mask = np.random.rand(*x.shape) < p  # mistake: (...) / p, inverted dropout
        return x * mask, (dropout_param, mask)
    return x.copy(), (dropout_param, None)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout.copy()
