"""Affine (fully connected) layer in JAX: forward value only."""

import jax.numpy as jnp

__all__ = [
    "affine",
]


def affine(x, w, b):
    """Compute the affine map out = x.reshape(N, D) @ w + b.

    x: (N, d_1, ..., d_k) with D = d_1 * ... * d_k; w: (D, M); b: (M,)
    out: (N, M)
    """
    x = jnp.asarray(x)
    return x.reshape(x.shape[0], -1) @ w + b
