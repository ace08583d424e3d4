"""Elementwise activations in JAX: forward values only, any input shape."""

import jax
import jax.numpy as jnp

__all__ = [
    "elu",
    "leaky_relu",
    "relu",
    "sigmoid",
    "softplus",
    "tanh",
]


def relu(x):
    """Compute the rectified linear unit max(x, 0) (JAX derivative at 0 is 0).

    x: any shape; out: same shape as x.
    """
    return jax.nn.relu(x)


def leaky_relu(x, alpha=0.01):
    """Compute the leaky relu: x where x > 0, else alpha * x.

    x: any shape; alpha: scalar; out: same shape as x.
    """
    x = jnp.asarray(x)
    return jnp.where(x > 0, x, alpha * x)


def elu(x, alpha=1.0):
    """Compute the exponential linear unit: x where x > 0, else alpha * (exp(x) - 1).

    x: any shape; alpha: scalar; out: same shape as x. expm1 only sees the non-positive
    entries: an untaken where-branch that overflows would poison the gradient with 0 * inf = nan.
    The clamp is a where, not jnp.minimum(x, 0), whose derivative at the tie x = 0 is 1/2 and would
    make the derivative there alpha/2 instead of alpha (relu'(0) = 0 convention: the left side).
    """
    x = jnp.asarray(x)
    negative_part = jnp.where(x > 0, 0.0, x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(negative_part))


def sigmoid(x):
    """Compute the logistic sigmoid 1 / (1 + exp(-x)).

    x: any shape; out: same shape as x.
    """
    return jax.nn.sigmoid(x)


def tanh(x):
    """Compute the hyperbolic tangent tanh(x).

    x: any shape; out: same shape as x.
    """
    return jnp.tanh(x)


def softplus(x):
    """Compute the softplus log(1 + exp(x)).

    x: any shape; out: same shape as x.
    """
    return jax.nn.softplus(x)
