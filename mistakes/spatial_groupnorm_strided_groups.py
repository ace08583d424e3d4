"""group norm splits the channels in the wrong order: x.reshape(N, C // G, G, H, W) puts channels
g, g + G, g + 2G, … in group g, where cs231n's groups are C/G consecutive channels.

x: (N, C, H, W); gamma, beta: (1, C, 1, 1). Right only when G = 1 or G = C (one group, or one
channel per group). The backward is the consistent derivative of the wrong forward.
"""

import numpy as np

LAYER = "spatial_groupnorm"
BROKEN = ("spatial_groupnorm_forward", "spatial_groupnorm_backward")
CATCHES = ("forward", "vjp", "finite_differences")
DIAGNOSIS = "consecutive channels"


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    n, c, h, w = x.shape
    xg = x.reshape(n, c // G, G, h, w)  # mistake: x.reshape(n, G, c // G, h, w)
    axes = (1, 3, 4)
    inv_std = 1.0 / np.sqrt(xg.var(axis=axes, keepdims=True) + eps)
    xhat = ((xg - xg.mean(axis=axes, keepdims=True)) * inv_std).reshape(x.shape)
    return gamma * xhat + beta, (G, xhat, inv_std, gamma)


def spatial_groupnorm_backward(dout, cache):
    G, xhat, inv_std, gamma = cache
    n, c, h, w = dout.shape
    axes = (1, 3, 4)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3), keepdims=True)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    g = (dout * gamma).reshape(n, c // G, G, h, w)
    xg = xhat.reshape(g.shape)
    k = (c // G) * h * w
    dx = (inv_std / k) * (k * g - g.sum(axis=axes, keepdims=True)
                          - xg * (g * xg).sum(axis=axes, keepdims=True))
    return dx.reshape(dout.shape), dgamma, dbeta
