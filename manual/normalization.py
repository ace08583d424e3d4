"""Batch and layer normalisation: hand-derived forward and backward passes."""

from typing import NamedTuple

import numpy as np

__all__ = [
    "batchnorm_backward",
    "batchnorm_forward",
    "layernorm_backward",
    "layernorm_forward",
]


class BatchnormCache(NamedTuple):
    """Values saved by `batchnorm_forward` for `batchnorm_backward`."""

    mode: str  # 'train' or 'test'
    xhat: np.ndarray  # (N, D) normalised input
    gamma: np.ndarray  # (D,)
    inv_std: np.ndarray  # (D,) 1 / sqrt(var + eps), batch var (train) or running var (test)


class LayernormCache(NamedTuple):
    """Values saved by `layernorm_forward` for `layernorm_backward`."""

    xhat: np.ndarray  # (N, D) normalised input
    gamma: np.ndarray  # (D,)
    inv_std: np.ndarray  # (N, 1) 1 / sqrt(row var + eps)


def batchnorm_forward(x, gamma, beta, bn_param):
    """Compute batch normalisation out = gamma * xhat + beta, per feature over the batch.

    x: (N, D); gamma: (D,); beta: (D,); out: (N, D).
    bn_param: dict with 'mode' ('train' or 'test'), optional 'eps' (1e-5),
    'momentum' (0.9), 'running_mean' and 'running_var' (D,) (zeros if absent).
    Train mode uses the batch mean and biased variance and replaces
    bn_param['running_mean'] / ['running_var'] with new arrays
    (momentum * running + (1 - momentum) * batch); test mode uses the running stats.
    The mean gets one correction step, mu + mean(x - mu), which brings it within about an ulp of
    the exact mean: on a nearly-constant batch x - mu then keeps the wobble's digits (a plain
    mean's own rounding cost up to 6e-11 of dgamma against JAX, beside ANALYTIC's 1e-10).
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))

    if mode == "train":
        mu = x.mean(axis=0)
        mu = mu + (x - mu).mean(axis=0)
        var = ((x - mu) ** 2).mean(axis=0)
        inv_std = 1.0 / np.sqrt(var + eps)
        xhat = (x - mu) / np.sqrt(var + eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        inv_std = 1.0 / np.sqrt(running_var + eps)
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
    else:
        raise ValueError(f"invalid batchnorm mode {mode!r}; expected 'train' or 'test'")

    out = gamma * xhat + beta
    return out, BatchnormCache(mode=mode, xhat=xhat, gamma=gamma, inv_std=inv_std)


def batchnorm_backward(dout, cache):
    """Compute the gradients of batch normalisation w.r.t. x, gamma and beta.

    dout: (N, D); returns dx: (N, D), dgamma: (D,), dbeta: (D,).

    train: dx = (gamma / (N * sqrt(var + eps)))
                * (N * dout - dout.sum(0) - xhat * (dout * xhat).sum(0))
    test:  dx = dout * gamma / sqrt(running_var + eps)
    dgamma = (dout * xhat).sum(0)
    dbeta = dout.sum(0)
    """
    xhat, gamma, inv_std = cache.xhat, cache.gamma, cache.inv_std
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if cache.mode == "train":
        n = dout.shape[0]
        dx = (gamma * inv_std / n) * (n * dout - dbeta - xhat * dgamma)
    else:
        dx = dout * (gamma * inv_std)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Compute layer normalisation out = gamma * xhat + beta, per row over its features.

    x: (N, D); gamma: (D,); beta: (D,); out: (N, D).
    ln_param: dict with optional 'eps' (default 1e-5); it is not modified.
    xhat = (x - x.mean(1)) / sqrt(x.var(1) + eps)  (biased variance), the mean with one
    correction step as in batchnorm_forward.
    """
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    mu = mu + (x - mu).mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) / np.sqrt(var + eps)
    out = gamma * xhat + beta
    return out, LayernormCache(xhat=xhat, gamma=gamma, inv_std=inv_std)


def layernorm_backward(dout, cache):
    """Compute the gradients of layer normalisation w.r.t. x, gamma and beta.

    dout: (N, D); returns dx: (N, D), dgamma: (D,), dbeta: (D,).

    g = dout * gamma
    dx = (1 / (D * sqrt(var + eps)))
         * (D * g - g.sum(1, keepdims=True) - xhat * (g * xhat).sum(1, keepdims=True))
    dgamma = (dout * xhat).sum(0)
    dbeta = dout.sum(0)
    """
    xhat, gamma, inv_std = cache.xhat, cache.gamma, cache.inv_std
    d = dout.shape[1]
    g = dout * gamma
    dx = (inv_std / d) * (
        d * g - g.sum(axis=1, keepdims=True) - xhat * (g * xhat).sum(axis=1, keepdims=True)
    )
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    return dx, dgamma, dbeta
