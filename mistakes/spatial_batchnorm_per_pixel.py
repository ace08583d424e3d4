"""spatial batchnorm normalises each (c, h, w) over the batch only (x.mean(axis=0)), as plain
batchnorm on (N, C·H·W) would, instead of each channel over the batch and its pixels.

x: (N, C, H, W); gamma, beta: (C,). Train mode is wrong whenever H·W > 1; test mode, which uses
the per-channel running statistics, is right. The backward is the consistent derivative of the
wrong forward.
"""

import numpy as np

LAYER = "spatial_batchnorm"
BROKEN = ("spatial_batchnorm_forward", "spatial_batchnorm_backward")
CATCHES = ("forward", "vjp", "finite_differences")
DIAGNOSIS = "per (c, h, w)"


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    c = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(c))
    running_var = bn_param.get("running_var", np.zeros(c))
    if mode == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)  # mistake: axis=(0, 2, 3), keepdims=True
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu.mean(axis=(1, 2))
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var.mean(axis=(1, 2))
    else:
        mu, var = running_mean[:, None, None], running_var[:, None, None]
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    g = gamma[:, None, None]
    return g * xhat + beta[:, None, None], (mode, xhat, inv_std, g)


def spatial_batchnorm_backward(dout, cache):
    mode, xhat, inv_std, g = cache
    dgamma, dbeta = (dout * xhat).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))
    if mode != "train":
        return dout * g * inv_std, dgamma, dbeta
    n = dout.shape[0]
    dx = (g * inv_std / n) * (n * dout - dout.sum(axis=0) - xhat * (dout * xhat).sum(axis=0))
    return dx, dgamma, dbeta
