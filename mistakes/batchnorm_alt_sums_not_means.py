"""batchnorm_backward_alt uses sums where the simplified formula has means:
dx = gamma * inv_std * (dout - dout.sum(0) - xhat * (dout * xhat).sum(0)), a missing 1/N on
the two projection terms.

x: (N, D); gamma, beta: (D,); dout: (N, D). Right only at N = 1 (and in test mode).
"""

import numpy as np

LAYER = "batchnorm_alt"
BROKEN = ("batchnorm_backward_alt",)
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
    return gamma * xhat + beta, (bn_param["mode"], xhat, inv_std, gamma)


def batchnorm_backward_alt(dout, cache):
    mode, xhat, inv_std, gamma = cache
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    if mode != "train":
        return dout * gamma * inv_std, dgamma, dbeta
    # mistake: the means dout.mean(axis=0) and (dout * xhat).mean(axis=0) are due
    dx = gamma * inv_std * (dout - dout.sum(axis=0) - xhat * (dout * xhat).sum(axis=0))
    return dx, dgamma, dbeta
