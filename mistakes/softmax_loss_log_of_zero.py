"""softmax loss takes log of a probability that underflowed: log(p[y]) with p[y] = 0 for a
confident wrong answer (logit gaps above ~745), where log-softmax stays finite.

x: (N, C) logits; y: (N,) labels. The max shift is there; the log-sum-exp form is not.
"""

import numpy as np

LAYER = "softmax_loss"
BROKEN = ("softmax_loss",)
CATCHES = ("forward", "vjp")
DIAGNOSIS = "log(0)"


def softmax_loss(x, y):
    n = x.shape[0]
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()  # mistake: use z - log(sum(exp(z)))
    dx = p.copy()
    dx[np.arange(n), y] -= 1.0
    return loss, dx / n
