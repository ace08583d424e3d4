"""Spatial batch normalisation and group normalisation in JAX: forward values only."""

import jax.numpy as jnp

from .normalization import batchnorm

__all__ = ["spatial_batchnorm", "spatial_groupnorm"]


def spatial_batchnorm(x, gamma, beta, bn_param):
    """Compute batch normalisation of images, per channel over the batch and the pixels.

    x: (N, C, H, W); gamma, beta: (C,); bn_param as for `batchnorm` (its 'mode' static);
    out: (N, C, H, W). It is `batchnorm` of the (N·H·W, C) matrix of pixels, reshaped back.
    """
    x = jnp.asarray(x)
    n, c, h, w = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, c)
    out = batchnorm(rows, gamma, beta, bn_param)
    return out.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_groupnorm(x, gamma, beta, G, gn_param):
    """Compute group normalisation: each sample's C/G consecutive channels × H × W together.

    x: (N, C, H, W); gamma, beta: (1, C, 1, 1); G (int, static) divides C;
    gn_param: dict with optional 'eps' (default 1e-5), other keys ignored; out: (N, C, H, W).
    xhat = (x - mean) / sqrt(var + eps) over each (sample, group) (biased variance, the mean with
    one correction step as in `batchnorm`); out = gamma * xhat + beta.
    """
    eps = gn_param.get("eps", 1e-5)
    x = jnp.asarray(x)
    groups = x.reshape(x.shape[0], G, -1)
    mu = jnp.mean(groups, axis=2, keepdims=True)
    mu = mu + jnp.mean(groups - mu, axis=2, keepdims=True)
    var = jnp.mean((groups - mu) ** 2, axis=2, keepdims=True)
    xhat = ((groups - mu) / jnp.sqrt(var + eps)).reshape(x.shape)
    return gamma * xhat + beta
