"""batchnorm backward uses the cached xhat as scratch space: xhat *= sum(dout * xhat) edits the
cache in place.

x: (N, D); gamma, beta: (D,); dout: (N, D). The gradients it returns are right (train mode; test
mode does not touch the cache); a second backward on the same cache — gradient accumulation, a
gradient check calling it twice — gets wrong ones.
"""

import numpy as np

LAYER = "batchnorm"
BROKEN = ("batchnorm_backward",)
CATCHES = ("no_mutation",)
DIAGNOSIS = "modified the cache"


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
    xhat *= dgamma  # mistake: in place, on the cache (xhat * dgamma is a new array)
    dx = (gamma * inv_std / n) * (n * dout - dbeta - xhat)
    return dx, dgamma, dbeta
