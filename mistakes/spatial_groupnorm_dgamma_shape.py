"""group norm returns dgamma and dbeta of shape (C,), where gamma's shape (1, C, 1, 1) is due.

x: (N, C, H, W); gamma, beta: (1, C, 1, 1). The values are right; the shapes are not: a solver's
in-place `gamma -= lr * dgamma` raises (the result would be (1, C, 1, C)), and
`gamma = gamma - lr * dgamma` silently turns gamma into a (1, C, 1, C) array.
"""

import numpy as np

LAYER = "spatial_groupnorm"
BROKEN = ("spatial_groupnorm_backward",)
CATCHES = ("shapes", "vjp", "finite_differences")
DIAGNOSIS = "gamma's shape"


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    n, c, h, w = x.shape
    xg = x.reshape(n, G, -1)
    inv_std = 1.0 / np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    xhat = ((xg - xg.mean(axis=2, keepdims=True)) * inv_std).reshape(x.shape)
    return gamma * xhat + beta, (G, xhat, inv_std, gamma)


def spatial_groupnorm_backward(dout, cache):
    G, xhat, inv_std, gamma = cache
    n = dout.shape[0]
    dgamma = (dout * xhat).sum(axis=(0, 2, 3))  # mistake: keepdims=True, (1, C, 1, 1)
    dbeta = dout.sum(axis=(0, 2, 3))  # mistake: likewise
    g = (dout * gamma).reshape(n, G, -1)
    xg = xhat.reshape(n, G, -1)
    k = g.shape[2]
    dx = (inv_std / k) * (k * g - g.sum(axis=2, keepdims=True)
                          - xg * (g * xg).sum(axis=2, keepdims=True))
    return dx.reshape(dout.shape), dgamma, dbeta
