"""Softmax and log-softmax over the last axis in JAX: forward values only."""

import jax

__all__ = [
    "log_softmax",
    "softmax",
]


def softmax(x):
    """Compute softmax(x) = exp(x) / exp(x).sum(-1) over the last axis.

    x: (..., C), any leading shape; out: (..., C).
    """
    return jax.nn.softmax(x, axis=-1)


def log_softmax(x):
    """Compute log_softmax(x) = x - logsumexp(x) over the last axis.

    x: (..., C), any leading shape; out: (..., C).
    """
    return jax.nn.log_softmax(x, axis=-1)
