"""layernorm dgamma summed over each row's features (axis 1) instead of the batch (axis 0):
(N,) where (D,) is due.

x: (N, D); gamma, beta: (D,); dout: (N, D).
"""

import numpy as np

LAYER = "layernorm"
BROKEN = ("layernorm_backward",)
CATCHES = ("shapes", "vjp", "finite_differences", "batch")
DIAGNOSIS = "wrong axis"


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=1, keepdims=True)) * inv_std
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def layernorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    d = dout.shape[1]
    g = dout * gamma
    dx = (inv_std / d) * (d * g - g.sum(axis=1, keepdims=True)
                          - xhat * (g * xhat).sum(axis=1, keepdims=True))
    dgamma = (dout * xhat).sum(axis=1)  # mistake: axis=0
    return dx, dgamma, dout.sum(axis=0)
