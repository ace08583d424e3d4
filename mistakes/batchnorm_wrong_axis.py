"""batchnorm backward reduces over the features (axis 1, layernorm's axis) instead of the batch:
the compact formula with sum(axis=1, keepdims=True), which broadcasts without complaint.

x: (N, D); gamma, beta: (D,); dout: (N, D).
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
    return gamma * xhat + beta, (bn_param["mode"], xhat, inv_std, gamma)


def batchnorm_backward(dout, cache):
    mode, xhat, inv_std, gamma = cache
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    if mode != "train":
        return dout * gamma * inv_std, dgamma, dbeta
    n = dout.shape[0]
    # mistake: axis=1 below; the batch statistics couple the rows, so the sums are over axis 0
    dx = (gamma * inv_std / n) * (n * dout - dout.sum(axis=1, keepdims=True)
                                  - xhat * (dout * xhat).sum(axis=1, keepdims=True))
    return dx, dgamma, dbeta
