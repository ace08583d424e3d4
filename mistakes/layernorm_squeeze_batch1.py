"""layernorm caches the per-row scale squeezed to (N,) and re-expands it with [:, None] in the
backward: at N = 1 the squeeze leaves a 0-d array and the backward raises.

x: (N, D); gamma, beta: (D,); dout: (N, D).
"""

import numpy as np

LAYER = "layernorm"
BROKEN = ("layernorm_backward",)
CATCHES = ("shapes", "vjp", "finite_differences", "batch")
DIAGNOSIS = "batch size 1"


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=1, keepdims=True)) * inv_std
    return gamma * xhat + beta, (xhat, np.squeeze(inv_std), gamma)  # mistake: (N,) expected


def layernorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    inv_std = inv_std[:, None]  # fails when the squeeze also removed the batch axis (N = 1)
    d = dout.shape[1]
    g = dout * gamma
    dx = (inv_std / d) * (d * g - g.sum(axis=1, keepdims=True)
                          - xhat * (g * xhat).sum(axis=1, keepdims=True))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
