"""batchnorm backward uses the test-mode formula in train mode too: dx = dout * gamma / std,
without the terms through the batch mean and variance.

x: (N, D); gamma, beta: (D,); dout: (N, D). Right in test mode, where mean and variance are the
running statistics (constants); in train mode they depend on x.
"""

import numpy as np

LAYER = "batchnorm"
BROKEN = ("batchnorm_backward",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "dx differs from jax.vjp"


def batchnorm_forward(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    if bn_param["mode"] == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mu
        bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var
    else:
        mu, var = bn_param["running_mean"], bn_param["running_var"]
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def batchnorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    dx = dout * gamma * inv_std  # mistake: train mode needs the batch statistics' terms
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
