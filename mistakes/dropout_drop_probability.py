"""dropout reads p as the probability of DROPPING an entry (the course's 2016–2017 convention)
where the keep probability is due: it keeps a fraction 1 − p and scales by 1/(1 − p).

x: any shape; dropout_param: p, mode, optional seed. A consistent, correct inverted dropout under
the other convention — identical at p = 0.5 only. bpcheck checks the keep convention by
default and should name the drop convention it recognises.
"""

import numpy as np

LAYER = "dropout"
BROKEN = ("dropout_forward", "dropout_backward")
CATCHES = ("forward", "vjp", "finite_differences", "properties")
DIAGNOSIS = "drop probability"


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        mask = (np.random.rand(*x.shape) >= p) / (1 - p)  # mistake: rand < p, then / p
        return x * mask, (dropout_param, mask)
    return x.copy(), (dropout_param, None)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout.copy()
