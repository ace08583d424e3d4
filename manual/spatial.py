"""Spatial batch normalisation and spatial group normalisation of images (N, C, H, W)."""

from typing import NamedTuple

import numpy as np

from .normalization import BatchnormCache, batchnorm_backward, batchnorm_forward

__all__ = [
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "spatial_groupnorm_forward",
    "spatial_groupnorm_backward",
]


class SpatialBatchnormCache(NamedTuple):
    """Values saved by `spatial_batchnorm_forward` for `spatial_batchnorm_backward`."""

    x_shape: tuple  # (N, C, H, W)
    bn: BatchnormCache  # batchnorm_forward's cache for the (N·H·W, C) matrix of pixels


class SpatialGroupnormCache(NamedTuple):
    """Values saved by `spatial_groupnorm_forward` for `spatial_groupnorm_backward`."""

    groups: int  # G
    xhat: np.ndarray  # (N, C, H, W) normalised input
    gamma: np.ndarray  # (1, C, 1, 1)
    inv_std: np.ndarray  # (N, G, 1) 1 / sqrt(group var + eps)


def _pixels(a):
    """(N, C, H, W) -> (N·H·W, C): one row per pixel, one column per channel."""
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _images(rows, shape):
    """Inverse of `_pixels`: (N·H·W, C) -> (N, C, H, W)."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Compute batch normalisation of images, per channel over the batch and the pixels.

    x: (N, C, H, W); gamma, beta: (C,); out: (N, C, H, W).
    bn_param: as for `batchnorm_forward` ('mode', optional 'eps', 'momentum', 'running_mean',
    'running_var' of shape (C,)); train mode writes the new running statistics back.
    out = batchnorm_forward(x as (N·H·W, C) rows, gamma, beta, bn_param), reshaped back.
    """
    out, bn_cache = batchnorm_forward(_pixels(x), gamma, beta, bn_param)
    return _images(out, x.shape), SpatialBatchnormCache(x_shape=x.shape, bn=bn_cache)


def spatial_batchnorm_backward(dout, cache):
    """Compute the gradients of spatial batch normalisation w.r.t. x, gamma and beta.

    dout: (N, C, H, W); returns dx: (N, C, H, W), dgamma: (C,), dbeta: (C,).

    With the pixels as rows (M = N·H·W of them per channel), this is batchnorm's backward:
      dx = (gamma / (M sqrt(var + eps))) * (M dout - dout.sum(0) - xhat * (dout * xhat).sum(0))
      dgamma = (dout * xhat).sum(0), dbeta = dout.sum(0)
    (test mode: dx = dout * gamma / sqrt(running_var + eps)); dx is reshaped back to images.
    """
    dx, dgamma, dbeta = batchnorm_backward(_pixels(dout), cache.bn)
    return _images(dx, cache.x_shape), dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Compute group normalisation: each sample's C/G consecutive channels × H × W together.

    x: (N, C, H, W); gamma, beta: (1, C, 1, 1); G divides C; out: (N, C, H, W).
    gn_param: dict with optional 'eps' (default 1e-5); other keys (e.g. 'mode') are ignored and
    nothing is written to it.
    With x viewed as (N, G, K), K = (C/G)·H·W: xhat = (x - mean_K) / sqrt(var_K + eps) (biased
    variance, the mean with one correction step as in `batchnorm_forward`),
    out = gamma * xhat + beta per channel.
    """
    eps = gn_param.get("eps", 1e-5)
    n, c, h, w = x.shape
    if c % G:
        raise ValueError(f"group norm: G = {G} does not divide C = {c}")
    groups = x.reshape(n, G, -1)
    mu = groups.mean(axis=2, keepdims=True)
    mu = mu + (groups - mu).mean(axis=2, keepdims=True)
    var = ((groups - mu) ** 2).mean(axis=2, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = ((groups - mu) / np.sqrt(var + eps)).reshape(x.shape)
    out = gamma * xhat + beta
    return out, SpatialGroupnormCache(groups=G, xhat=xhat, gamma=gamma, inv_std=inv_std)


def spatial_groupnorm_backward(dout, cache):
    """Compute the gradients of spatial group normalisation w.r.t. x, gamma and beta.

    dout: (N, C, H, W); returns dx: (N, C, H, W), dgamma, dbeta: gamma's shape (1, C, 1, 1).

    With g = dout * gamma and everything viewed as (N, G, K), K = (C/G)·H·W (layernorm's
    backward, per group):
      dx = (1 / (K sqrt(var + eps))) * (K g - g.sum(2) - xhat * (g * xhat).sum(2))
      dgamma = (dout * xhat).sum(axis=(0, 2, 3)), dbeta = dout.sum(axis=(0, 2, 3)), kept as
      gamma's shape.
    """
    xhat, gamma, inv_std = cache.xhat, cache.gamma, cache.inv_std
    n = dout.shape[0]
    g = (dout * gamma).reshape(n, cache.groups, -1)
    xg = xhat.reshape(n, cache.groups, -1)
    k = g.shape[2]
    dx = (inv_std / k) * (k * g - g.sum(axis=2, keepdims=True)
                          - xg * (g * xg).sum(axis=2, keepdims=True))
    dgamma = (dout * xhat).sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    return dx.reshape(dout.shape), dgamma, dbeta
