"""Classification and regression losses in JAX: scalar forward values only."""

import jax
import jax.numpy as jnp

__all__ = [
    "cross_entropy_loss",
    "mse_loss",
    "softmax_loss",
    "svm_loss",
]


def softmax_loss(x, y):
    """Compute the mean softmax cross-entropy loss for integer labels.

    x: (N, C) logits; y: (N,) integer labels in [0, C); returns a scalar.
    loss = -(1/N) sum_i log_softmax(x)[i, y_i]
    """
    logp = jax.nn.log_softmax(x, axis=1)
    picked = jnp.take_along_axis(logp, jnp.asarray(y)[:, None], axis=1)
    return -jnp.mean(picked)


def cross_entropy_loss(x, t):
    """Compute the mean cross-entropy between softmax(x) and target distributions t.

    x: (N, C) logits; t: (N, C) target probabilities; returns a scalar.
    loss = -(1/N) sum(t * log_softmax(x))
    """
    logp = jax.nn.log_softmax(x, axis=1)
    return -jnp.sum(t * logp) / x.shape[0]


def svm_loss(x, y):
    """Compute the mean multiclass hinge (SVM) loss with margin 1.

    x: (N, C) scores; y: (N,) integer labels in [0, C); returns a scalar.
    loss = (1/N) sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1)
    """
    y = jnp.asarray(y)
    correct = jnp.take_along_axis(x, y[:, None], axis=1)
    margins = jax.nn.relu(x - correct + 1.0)
    not_label = jnp.arange(x.shape[1])[None, :] != y[:, None]
    return jnp.sum(jnp.where(not_label, margins, 0.0)) / x.shape[0]


def mse_loss(x, y):
    """Compute the squared error summed over features and averaged over the batch.

    x: (N, D) predictions; y: (N, D) targets; returns a scalar.
    loss = (1/N) sum_i ||x_i - y_i||^2
    """
    diff = x - y
    return jnp.sum(diff * diff) / x.shape[0]
