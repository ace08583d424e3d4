"""dropout scales at test time as well: inverted dropout already divides by p in training, and
the test-mode pass multiplies by p again (the old, non-inverted recipe's test step kept).

x: any shape; dropout_param: p (keep probability), mode, optional seed. Train mode is right;
test mode returns x * p and its backward dout * p, where the identity is due.
"""

import numpy as np

LAYER = "dropout"
BROKEN = ("dropout_forward", "dropout_backward")
CATCHES = ("forward", "vjp", "finite_differences")
DIAGNOSIS = "scaled at test time"


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        return x * mask, (dropout_param, mask)
    return x * p, (dropout_param, None)  # mistake: inverted dropout's test mode is the identity


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout * dropout_param["p"]  # mistake: dout (a copy)
