"""Private helpers for overflow-free exponentials (NumPy only).

Underflow is the mathematically correct outcome of exp(z) for very negative
z, so these helpers ignore the underflow flag locally (never globally) and
flush results below the smallest normal number to exactly 0, the same
flush-to-zero behaviour XLA (and hence JAX) has on CPU.
"""

import functools

import numpy as np


def ignore_underflow(func):
    """Wrap func so that it runs with NumPy's underflow flag ignored (locally).

    Tiny probabilities times O(1) numbers may underflow to 0 or to a subnormal;
    that is the correctly rounded result, not an error. Other flags (overflow,
    invalid, divide) keep the caller's settings.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        """Call func with the underflow flag ignored."""
        with np.errstate(under="ignore"):
            return func(*args, **kwargs)

    return wrapper


def exp_nonpos(z):
    """Compute exp(z) for z <= 0, flushing results below the smallest normal to 0.

    z: any shape, all entries <= 0; returns an array of the same shape and dtype.
    """
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    with np.errstate(under="ignore"):
        e = np.exp(z)
    return np.where(e < np.finfo(e.dtype).tiny, 0.0, e)


def sigmoid(x):
    """Compute sigmoid(x) = 1 / (1 + exp(-x)) without overflow.

    x: any shape; returns an array of the same shape.
    """
    x = np.asarray(x)
    z = exp_nonpos(-np.abs(x))  # in [0, 1]
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def softplus(x):
    """Compute softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), stably.

    x: any shape; returns an array of the same shape.
    """
    x = np.asarray(x)
    return np.maximum(x, 0) + np.log1p(exp_nonpos(-np.abs(x)))
