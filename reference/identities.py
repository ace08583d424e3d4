"""Matrix-calculus identities as losses in JAX: scalar forward values only.

Nothing here is a derivative: bpcheck differentiates these with ``jax.vjp`` and compares the
result with the hand-derived gradients of ``manual/identities.py``.
"""

import jax.numpy as jnp

__all__ = ["frobenius_loss", "quadratic_norm_loss", "least_squares_loss"]


def frobenius_loss(W, X, V, U):
    """‖W X V − U‖²_F with W: (a, b), X: (b, c), V: (c, d), U: (a, d); returns a scalar."""
    return jnp.sum((W @ X @ V - U) ** 2)


def quadratic_norm_loss(A, x):
    """‖A x‖² with A: (m, d), x: (d,); returns a scalar."""
    return jnp.sum((A @ x) ** 2)


def least_squares_loss(W, x, y):
    """‖y − W x‖² with W: (m, d), x: (d,), y: (m,); returns a scalar."""
    return jnp.sum((y - W @ x) ** 2)
