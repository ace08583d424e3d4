"""Batch and layer normalisation in JAX: forward values only (no state updates)."""

import jax.numpy as jnp

__all__ = [
    "batchnorm",
    "layernorm",
]


def batchnorm(x, gamma, beta, bn_param):
    """Compute batch normalisation gamma * xhat + beta, per feature over the batch.

    x: (N, D); gamma: (D,); beta: (D,); out: (N, D).
    bn_param: dict with 'mode' ('train' or 'test') and optional 'eps' (1e-5),
    'running_mean' / 'running_var' (D,) (zeros if absent; used in test mode).
    Train mode uses the batch mean and biased variance; bn_param is never modified. The mean
    gets one correction step, mu + mean(x - mu) (exactly the mean in exact arithmetic, within
    about an ulp of it in floating point), so that a nearly-constant batch's x - mu is accurate.
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    x = jnp.asarray(x)
    if mode == "train":
        mu = jnp.mean(x, axis=0)
        mu = mu + jnp.mean(x - mu, axis=0)
        var = jnp.mean((x - mu) ** 2, axis=0)
    elif mode == "test":
        d = x.shape[1]
        mu = jnp.asarray(bn_param.get("running_mean", jnp.zeros(d, dtype=x.dtype)))
        var = jnp.asarray(bn_param.get("running_var", jnp.zeros(d, dtype=x.dtype)))
    else:
        raise ValueError(f"invalid batchnorm mode {mode!r}; expected 'train' or 'test'")
    xhat = (x - mu) / jnp.sqrt(var + eps)
    return gamma * xhat + beta


def layernorm(x, gamma, beta, ln_param):
    """Compute layer normalisation gamma * xhat + beta, per row over its D features.

    x: (N, D); gamma: (D,); beta: (D,); out: (N, D).
    ln_param: dict with optional 'eps' (default 1e-5).
    xhat = (x - x.mean(1)) / sqrt(x.var(1) + eps)  (biased variance)
    """
    eps = ln_param.get("eps", 1e-5)
    x = jnp.asarray(x)
    mu = jnp.mean(x, axis=1, keepdims=True)
    mu = mu + jnp.mean(x - mu, axis=1, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=1, keepdims=True)
    xhat = (x - mu) / jnp.sqrt(var + eps)
    return gamma * xhat + beta
