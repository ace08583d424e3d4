"""layernorm backward reduces over the batch (axis 0, batchnorm's axis) instead of each row's
features: sum(axis=0, keepdims=True) broadcasts to (N, D) without complaint.

x: (N, D); gamma, beta: (D,); dout: (N, D).
"""

import numpy as np

LAYER = "layernorm"
BROKEN = ("layernorm_backward",)
CATCHES = ("vjp", "finite_differences", "batch")
DIAGNOSIS = "dx differs from jax.vjp"


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=1, keepdims=True)) * inv_std
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def layernorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    d = dout.shape[1]
    g = dout * gamma
    # mistake: axis=0 below; each row is normalised over its own features, axis 1
    dx = (inv_std / d) * (d * g - g.sum(axis=0, keepdims=True)
                          - xhat * (g * xhat).sum(axis=0, keepdims=True))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
