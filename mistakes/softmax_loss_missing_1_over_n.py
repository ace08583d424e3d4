"""softmax loss: the loss is a mean over the batch but dx forgets the 1/N (dx = p - onehot(y)).

x: (N, C) logits; y: (N,) labels; dx: (N, C), N times too large.
"""

import numpy as np

LAYER = "softmax_loss"
BROKEN = ("softmax_loss",)
CATCHES = ("vjp", "finite_differences", "batch")
DIAGNOSIS = "missing 1/n"


def softmax_loss(x, y):
    n = x.shape[0]
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(n), y].mean()
    dx = np.exp(logp)
    dx[np.arange(n), y] -= 1.0
    return loss, dx  # mistake: dx / n
