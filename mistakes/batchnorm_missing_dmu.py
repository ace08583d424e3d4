"""batchnorm backward, staged through the graph, drops the path through the batch mean (dmu):
dx = dxhat / std + dvar * 2 (x - mu) / N, without + dmu / N.

x: (N, D); gamma, beta: (D,); dout: (N, D). Train mode only; test mode is right.
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
    return gamma * xhat + beta, (bn_param["mode"], x - mu, xhat, inv_std, gamma)


def batchnorm_backward(dout, cache):
    mode, xmu, xhat, inv_std, gamma = cache
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    dxhat = dout * gamma
    if mode != "train":
        return dxhat * inv_std, dgamma, dbeta
    n = dout.shape[0]
    dvar = (dxhat * xmu).sum(axis=0) * -0.5 * inv_std**3
    dx = dxhat * inv_std + dvar * 2.0 * xmu / n  # mistake: + dmu / n is missing
    return dx, dgamma, dbeta
