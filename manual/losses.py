"""Classification and regression losses: hand-derived values and gradients.

Each function returns (loss, dx): loss a 0-d float, dx with the shape of x.
"""

import numpy as np

from ._stable import ignore_underflow
from ._stable import exp_nonpos

__all__ = [
    "cross_entropy_loss",
    "mse_loss",
    "softmax_loss",
    "svm_loss",
]



def _log_softmax_rows(x):
    """Compute (log p, p) with p = softmax(x) over axis 1, stably.

    x: (N, C); returns logp: (N, C), p: (N, C).
    """
    z = x - x.max(axis=1, keepdims=True)
    e = exp_nonpos(z)
    s = e.sum(axis=1, keepdims=True)
    return z - np.log(s), e / s


@ignore_underflow
def softmax_loss(x, y):
    """Compute the mean softmax cross-entropy loss for integer labels and its gradient.

    x: (N, C) logits; y: (N,) integer labels in [0, C).
    loss: scalar; dx: (N, C).

    loss = -(1/N) sum_i log p[i, y_i],  p = softmax(x)
    dx = (p - onehot(y)) / N
    """
    n = x.shape[0]
    rows = np.arange(n)
    logp, p = _log_softmax_rows(x)
    loss = -logp[rows, y].sum() / n
    dx = p.copy()
    dx[rows, y] -= 1.0
    dx /= n
    return loss, dx


@ignore_underflow
def cross_entropy_loss(x, t):
    """Compute the mean cross-entropy between softmax(x) and targets t, and its gradient.

    x: (N, C) logits; t: (N, C) target probabilities (rows usually sum to 1).
    loss: scalar; dx: (N, C).

    loss = -(1/N) sum(t * log_softmax(x))
    dx = (p * t.sum(axis=1, keepdims=True) - t) / N,  p = softmax(x)
    """
    n = x.shape[0]
    logp, p = _log_softmax_rows(x)
    loss = -(t * logp).sum() / n
    dx = (p * t.sum(axis=1, keepdims=True) - t) / n
    return loss, dx


def svm_loss(x, y):
    """Compute the mean multiclass hinge (SVM) loss with margin 1 and its gradient.

    x: (N, C) scores; y: (N,) integer labels in [0, C).
    loss: scalar; dx: (N, C).

    margins[i, j] = max(0, x[i, j] - x[i, y_i] + 1) for j != y_i, 0 for j = y_i
    loss = margins.sum() / N
    dx = (pos - onehot(y) * pos.sum(axis=1, keepdims=True)) / N,
        pos = (margins > 0) as 0/1
    """
    n = x.shape[0]
    rows = np.arange(n)
    correct = x[rows, y][:, None]
    margins = np.maximum(0.0, x - correct + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / n
    pos = (margins > 0).astype(margins.dtype)
    dx = pos.copy()
    dx[rows, y] -= pos.sum(axis=1)
    dx /= n
    return loss, dx


def mse_loss(x, y):
    """Compute the sum-over-features, mean-over-batch squared error and its gradient.

    x: (N, D) predictions; y: (N, D) targets.
    loss: scalar; dx: (N, D).

    loss = (1/N) sum_i ||x_i - y_i||^2
    dx = 2 * (x - y) / N
    """
    n = x.shape[0]
    diff = x - y
    loss = (diff * diff).sum() / n
    dx = 2.0 * diff / n
    return loss, dx
