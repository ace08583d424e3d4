"""Whole models: hand-derived losses and parameter gradients, one function per model.

Each ``<model>_loss(*params, data...) -> (loss, grads)`` runs the forward pass, the loss, and the
backward pass in matrix form, and returns the scalar loss with one gradient per parameter (in
argument order). Inputs are never modified and no gradient is a view of an input.

Shape letters: N examples (rows, except in the column model), D inputs, H hidden units, C outputs
(classes). ⊙ is the elementwise product.
"""

import numpy as np

from ._stable import exp_nonpos, ignore_underflow
from ._stable import sigmoid as _sigmoid
from .activations import relu_backward, relu_forward
from .layers import affine_backward, affine_forward
from .losses import softmax_loss

__all__ = [
    "linear_classifier_loss",
    "two_layer_net_loss",
    "column_two_layer_loss",
    "bias_free_three_layer_loss",
    "tanh_softmax_net_loss",
    "softmax_jacobian",
]


def _softmax_rows(z):
    """Compute (log p, p) with p = softmax(z) over the last axis, stably (max shifted out).

    z: (..., C); returns logp: (..., C), p: (..., C).
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    e = exp_nonpos(shifted)
    s = e.sum(axis=-1, keepdims=True)
    return shifted - np.log(s), e / s


@ignore_underflow
def linear_classifier_loss(W, b, X, y, reg):
    """Compute a softmax linear classifier's loss with L2 regularisation, and its gradients.

    W: (D, C) weights; b: (C,) biases; X: (N, D) inputs (rows are examples);
    y: (N,) integer labels in [0, C); reg: scalar L2 strength.
    Returns loss: scalar, (dW: (D, C), db: (C,)).

    Forward:
        F = X W + b                                   (N, C) scores
        P = softmax(F) row by row
        L = -(1/N) sum_i log P[i, y_i] + (1/2) reg sum(W ⊙ W)
    Backward (Y the one-hot matrix of y):
        dF = (P - Y) / N                              (N, C)
        dW = Xᵀ dF + reg W                            (D, C)
        db = dFᵀ 1  (column sums of dF)               (C,)
    """
    F = X @ W + b
    data_loss, dF = softmax_loss(F, y)
    loss = data_loss + 0.5 * reg * np.sum(W * W)
    dW = X.T @ dF + reg * W
    db = dF.sum(axis=0)
    return loss, (dW, db)


def two_layer_net_loss(W1, b1, W2, b2, X, y, reg):
    """Compute the loss of affine - relu - affine - softmax with L2 regularisation, and its gradients.

    W1: (D, H); b1: (H,); W2: (H, C); b2: (C,); X: (N, D); y: (N,) integer labels in [0, C);
    reg: scalar. Returns loss: scalar, (dW1: (D, H), db1: (H,), dW2: (H, C), db2: (C,)).

    Forward (the cs231n "sandwich" of layer functions):
        A = X W1 + b1                                 (N, H) affine_forward
        Hd = max(A, 0)                                (N, H) relu_forward
        F = Hd W2 + b2                                (N, C) affine_forward
        L = softmax_loss(F, y) + (1/2) reg (sum(W1 ⊙ W1) + sum(W2 ⊙ W2))
    Backward (the same layers in reverse):
        dF = (P - Y) / N                              softmax_loss
        dHd = dF W2ᵀ,  dW2 = Hdᵀ dF + reg W2,  db2 = dFᵀ 1        affine_backward
        dA = dHd ⊙ [A > 0]                            relu_backward (relu'(0) = 0)
        dW1 = Xᵀ dA + reg W1,  db1 = dAᵀ 1            affine_backward
    """
    a, affine1 = affine_forward(X, W1, b1)
    hidden, relu_cache = relu_forward(a)
    scores, affine2 = affine_forward(hidden, W2, b2)
    data_loss, dscores = softmax_loss(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

    dhidden, dW2, db2 = affine_backward(dscores, affine2)
    da = relu_backward(dhidden, relu_cache)
    _, dW1, db1 = affine_backward(da, affine1)
    return loss, (dW1 + reg * W1, db1, dW2 + reg * W2, db2)


_COLUMN_ACTIVATIONS = ("sigmoid", "tanh", "relu")


@ignore_underflow
def column_two_layer_loss(W1, b1, W2, b2, X, Y, activation):
    """Compute a two-layer regression net's squared-error cost in the COLUMN convention.

    Examples are the columns of X and Y.
    W1: (H, D); b1: (H, 1); W2: (C, H); b2: (C, 1); X: (D, N); Y: (C, N);
    activation: 'sigmoid', 'tanh' or 'relu'.
    Returns cost: scalar, (dW1: (H, D), db1: (H, 1), dW2: (C, H), db2: (C, 1)).

    Forward:
        X1 = X                                        (D, N)
        Z1 = W1 X1 + b1                               (H, N) (b1 broadcast over the columns)
        X2 = σ(Z1)                                    (H, N)
        F = W2 X2 + b2                                (C, N)
        C = (1/N) sum ‖F - Y‖²  (every entry squared, summed, divided by N)
    Backward:
        dF = 2 (F - Y) / N                            (C, N)
        dW2 = dF X2ᵀ                                  (C, H)
        db2 = dF 1  (row sums: summed over the columns)   (C, 1)
        dX2 = W2ᵀ dF                                  (H, N)
        dZ1 = dX2 ⊙ σ'(Z1)                            (H, N)
        dW1 = dZ1 X1ᵀ                                 (H, D)
        db1 = dZ1 1                                   (H, 1)
    with σ'(Z1) = X2 ⊙ (1 - X2) (sigmoid), 1 - X2 ⊙ X2 (tanh), [Z1 > 0] (relu, relu'(0) = 0).
    """
    if activation not in _COLUMN_ACTIVATIONS:
        raise ValueError(f"activation must be one of {_COLUMN_ACTIVATIONS}, got {activation!r}")
    n = X.shape[1]
    X1 = X
    Z1 = W1 @ X1 + b1
    if activation == "sigmoid":
        X2 = _sigmoid(Z1)
        slope = X2 * (1.0 - X2)
    elif activation == "tanh":
        X2 = np.tanh(Z1)
        slope = 1.0 - X2 * X2
    else:
        X2 = np.where(Z1 > 0, Z1, 0.0)
        slope = (Z1 > 0).astype(np.float64)
    F = W2 @ X2 + b2
    diff = F - Y
    cost = np.sum(diff * diff) / n

    dF = 2.0 * diff / n
    dW2 = dF @ X2.T
    db2 = dF.sum(axis=1, keepdims=True)
    dX2 = W2.T @ dF
    dZ1 = dX2 * slope
    dW1 = dZ1 @ X1.T
    db1 = dZ1.sum(axis=1, keepdims=True)
    return cost, (dW1, db1, dW2, db2)


def bias_free_three_layer_loss(w1, w2, w3, x, y):
    """Compute a bias-free tanh - tanh - identity net's squared error on a minibatch, and its gradients.

    ROW convention, a minibatch of M rows.
    w1: (D, H1); w2: (H1, H2); w3: (H2, K); x: (M, D); y: (M, K).
    Returns loss: scalar, (dw1: (D, H1), dw2: (H1, H2), dw3: (H2, K)).

    Forward:
        h1 = tanh(x w1)                               (M, H1)
        h2 = tanh(h1 w2)                              (M, H2)
        ŷ = h2 w3                                     (M, K) (identity output)
        L = (1/M) sum ‖ŷ - y‖²
    Backward (the factor δ3 is computed once and passed down):
        δ3 = 2 (ŷ - y) / M                            (M, K)
        dw3 = h2ᵀ δ3                                  (H2, K)
        δ2 = (δ3 w3ᵀ) ⊙ (1 - h2 ⊙ h2)                 (M, H2)
        dw2 = h1ᵀ δ2                                  (H1, H2)
        δ1 = (δ2 w2ᵀ) ⊙ (1 - h1 ⊙ h1)                 (M, H1)
        dw1 = xᵀ δ1                                   (D, H1)
    """
    m = x.shape[0]
    h1 = np.tanh(x @ w1)
    h2 = np.tanh(h1 @ w2)
    y_hat = h2 @ w3
    diff = y_hat - y
    loss = np.sum(diff * diff) / m

    delta3 = 2.0 * diff / m
    dw3 = h2.T @ delta3
    delta2 = (delta3 @ w3.T) * (1.0 - h2 * h2)
    dw2 = h1.T @ delta2
    delta1 = (delta2 @ w2.T) * (1.0 - h1 * h1)
    dw1 = x.T @ delta1
    return loss, (dw1, dw2, dw3)


@ignore_underflow
def tanh_softmax_net_loss(W1, b1, W2, b2, x, y):
    """Compute a tanh hidden layer + softmax classifier's cross-entropy with one-hot targets.

    W1: (D, H); b1: (H,); W2: (H, C); b2: (C,); x: (N, D); y: (N, C) one-hot rows.
    Returns loss: scalar, (dW1: (D, H), db1: (H,), dW2: (H, C), db2: (C,)).

    Forward:
        z1 = x W1 + b1                                (N, H)
        a1 = tanh(z1)                                 (N, H)
        z2 = a1 W2 + b2                               (N, C)
        ŷ = softmax(z2) row by row (max shifted out)  (N, C)
        L = -(1/N) sum_n log(ŷ_n) y_nᵀ                (log ŷ computed as log-softmax)
    Backward:
        dz2 = (ŷ - y) / N                             (N, C)
        dW2 = a1ᵀ dz2,  db2 = dz2ᵀ 1                  (H, C), (C,)
        da1 = dz2 W2ᵀ                                 (N, H)
        dz1 = da1 ⊙ (1 - a1 ⊙ a1)                     (N, H)
        dW1 = xᵀ dz1,  db1 = dz1ᵀ 1                   (D, H), (H,)
    """
    n = x.shape[0]
    a1 = np.tanh(x @ W1 + b1)
    z2 = a1 @ W2 + b2
    log_y_hat, y_hat = _softmax_rows(z2)
    loss = -np.sum(y * log_y_hat) / n

    dz2 = (y_hat - y) / n
    dW2 = a1.T @ dz2
    db2 = dz2.sum(axis=0)
    da1 = dz2 @ W2.T
    dz1 = da1 * (1.0 - a1 * a1)
    dW1 = x.T @ dz1
    db1 = dz1.sum(axis=0)
    return loss, (dW1, db1, dW2, db2)


@ignore_underflow
def softmax_jacobian(x):
    """Compute the Jacobian of the row-wise softmax, one (C, C) matrix per row.

    x: (N, C) logits; returns J: (N, C, C) with J[n] = ∂softmax(x_n)/∂x_n.

        p = softmax(x_n)  (max shifted out)
        J[n] = diag(p) - p pᵀ,   i.e. J[n, i, j] = p_i ([i = j] - p_j)
    """
    _, p = _softmax_rows(x)
    c = x.shape[-1]
    return p[..., :, None] * np.eye(c) - p[..., :, None] * p[..., None, :]
