"""The course's linear classifiers (``classifiers/linear_svm.py``, ``classifiers/softmax.py``) and
the older two-layer network (``classifiers/neural_net.py``), in their own API.

Linear classifiers: ``<name>(W, X, y, reg) -> (loss, dW)``; W (D, C), X (N, D), y (N,) labels in
[0, C). The data loss is averaged over N; the regularisation here is 0.5 · reg · ΣW² (some
years use reg · ΣW²: bpcheck accepts either and says which). Naive and vectorised versions
compute the same thing, one with loops over examples and classes, one with array operations.
"""

import numpy as np

from ._stable import ignore_underflow
from .losses import _log_softmax_rows
from .layer_utils import affine_relu_backward, affine_relu_forward
from .layers import affine_backward, affine_forward
from .losses import softmax_loss

__all__ = [
    "svm_loss_naive",
    "svm_loss_vectorized",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "neural_net_TwoLayerNet",
]


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss with loops: (1/N) Σ_i Σ_{j≠y_i} max(0, s_ij - s_iy_i + 1) + 0.5 reg ΣW².

    W: (D, C); X: (N, D); y: (N,); returns (loss, dW) with dW (D, C):
    dW[:, j] += x_i for each positive margin j, dW[:, y_i] -= x_i for each; then / N + reg W.
    """
    num_train, num_classes = X.shape[0], W.shape[1]
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(num_train):
        scores = X[i] @ W
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1.0
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / num_train + 0.5 * reg * np.sum(W * W)
    return loss, dW / num_train + reg * W


def svm_loss_vectorized(W, X, y, reg):
    """The SVM loss of ``svm_loss_naive`` without loops.

    W: (D, C); X: (N, D); y: (N,); returns (loss, dW): dW = Xᵀ G / N + reg W, where
    G = pos - onehot(y) · Σ_j pos_ij and pos marks the positive margins.
    """
    n = X.shape[0]
    rows = np.arange(n)
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / n + 0.5 * reg * np.sum(W * W)
    g = (margins > 0).astype(W.dtype)
    g[rows, y] -= g.sum(axis=1)
    return loss, X.T @ g / n + reg * W


@ignore_underflow
def softmax_loss_naive(W, X, y, reg):
    """Softmax cross-entropy with loops: -(1/N) Σ_i log softmax(x_i W)[y_i] + 0.5 reg ΣW².

    W: (D, C); X: (N, D); y: (N,); returns (loss, dW): dW[:, j] += x_i (p_ij - [j = y_i]),
    then / N + reg W. Each row is shifted by its maximum before exp.
    """
    num_train, num_classes = X.shape[0], W.shape[1]
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(num_train):
        scores = X[i] @ W
        shifted = scores - scores.max()
        log_norm = np.log(np.sum(np.exp(shifted)))
        loss -= shifted[y[i]] - log_norm
        for j in range(num_classes):
            p = np.exp(shifted[j] - log_norm)
            dW[:, j] += (p - (j == y[i])) * X[i]
    loss = loss / num_train + 0.5 * reg * np.sum(W * W)
    return loss, dW / num_train + reg * W


@ignore_underflow
def softmax_loss_vectorized(W, X, y, reg):
    """The softmax loss of ``softmax_loss_naive`` without loops.

    W: (D, C); X: (N, D); y: (N,); returns (loss, dW): dW = Xᵀ (P - onehot(y)) / N + reg W,
    P the row-wise softmax of X W.
    """
    n = X.shape[0]
    logp, p = _log_softmax_rows(X @ W)
    loss = -logp[np.arange(n), y].sum() / n + 0.5 * reg * np.sum(W * W)
    p = p.copy()
    p[np.arange(n), y] -= 1.0
    return loss, X.T @ p / n + reg * W


class neural_net_TwoLayerNet:
    """The older API's ``TwoLayerNet`` (``classifiers/neural_net.py``; registry name
    ``neural_net_TwoLayerNet``): affine - relu - affine - softmax, L2 = 0.5 · reg · (ΣW1² + ΣW2²).

    ``__init__(input_size, hidden_size, output_size, std)``; ``params``: W1 (D, H), b1 (H,),
    W2 (H, C), b2 (C,). ``loss(X, y=None, reg=0.0)``: scores (N, C) without y, else
    ``(loss, grads)`` with grads keyed as params.
    """

    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        rng = np.random.default_rng(0)
        self.params = {
            "W1": std * rng.standard_normal((input_size, hidden_size)),
            "b1": np.zeros(hidden_size),
            "W2": std * rng.standard_normal((hidden_size, output_size)),
            "b2": np.zeros(output_size),
        }

    def loss(self, X, y=None, reg=0.0):
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, scores_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores
        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + 0.5 * reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        dhidden, dW2, db2 = affine_backward(dscores, scores_cache)
        _, dW1, db1 = affine_relu_backward(dhidden, hidden_cache)
        grads = {"W1": dW1 + reg * p["W1"], "b1": db1, "W2": dW2 + reg * p["W2"], "b2": db2}
        return loss, grads
