"""Matrix-calculus identities as losses: hand-derived values and gradients (NumPy only).

Each function is ``<name>_loss(*args) -> (loss, grads)``: loss a 0-d float, grads one array per
differentiable argument, in argument order (a single array when there is one). The gradients are
the textbook identities in matrix form; ``reference/identities.py`` states only the losses and
bpcheck compares these against ``jax.vjp`` of them.

Shapes: a matrix ``(rows, cols)``; a vector ``(k,)`` is a column in the formulas.
"""

import numpy as np

__all__ = ["frobenius_loss", "quadratic_norm_loss", "least_squares_loss"]


def frobenius_loss(W, X, V, U):
    """Squared Frobenius norm of a triple-product residual, and its gradients.

    W: (a, b); X: (b, c); V: (c, d); U: (a, d) (a target, no gradient).
    loss: scalar; dW: (a, b); dX: (b, c); dV: (c, d).

    R = W X V − U,  f = ‖R‖²_F = tr(Rᵀ R)
    df = 2 tr(Rᵀ dR),  dR = dW X V + W dX V + W X dV, so (tr(Aᵀ B) = ⟨A, B⟩)
    dW = 2 R (X V)ᵀ
    dX = 2 Wᵀ R Vᵀ
    dV = 2 (W X)ᵀ R
    """
    XV = X @ V
    WX = W @ X
    R = WX @ V - U
    loss = np.sum(R * R)
    dW = 2.0 * R @ XV.T
    dX = 2.0 * W.T @ R @ V.T
    dV = 2.0 * WX.T @ R
    return loss, (dW, dX, dV)


def quadratic_norm_loss(A, x):
    """Squared norm of a linear map, and its gradient in x (A gets none).

    A: (m, d); x: (d,).
    loss: scalar; dx: (d,).

    f = ‖A x‖² = xᵀ Aᵀ A x
    dx = 2 Aᵀ A x          (not 2 A x, not 2 A Aᵀ x: the Hessian is 2 Aᵀ A, (d, d))
    """
    Ax = A @ x
    loss = Ax @ Ax
    dx = 2.0 * A.T @ Ax
    return loss, dx


def least_squares_loss(W, x, y):
    """Squared residual of a linear model, and its gradients in W and x (y gets none).

    W: (m, d); x: (d,); y: (m,).
    loss: scalar; dW: (m, d); dx: (d,).

    r = y − W x,  f = ‖r‖² = rᵀ r,  df = 2 rᵀ dr = −2 rᵀ (dW x + W dx)
    dW = −2 r xᵀ           (an outer product, (m, 1)·(1, d); not −2 x rᵀ, which is (d, m))
    dx = −2 Wᵀ r
    """
    r = y - W @ x
    loss = r @ r
    dW = -2.0 * np.outer(r, x)
    dx = -2.0 * W.T @ r
    return loss, (dW, dx)
