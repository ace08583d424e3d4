"""softmax loss without the max shift: exp(x) overflows for logits above ~709.

x: (N, C) logits; y: (N,) labels. Right for everyday logits, inf/NaN (and an overflow warning)
for large ones.
"""

import numpy as np

LAYER = "softmax_loss"
BROKEN = ("softmax_loss",)
CATCHES = ("forward", "vjp")
DIAGNOSIS = "overflow"


def softmax_loss(x, y):
    n = x.shape[0]
    p = np.exp(x)  # mistake: overflows for large logits; subtract the row max first
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return loss, dx / n
