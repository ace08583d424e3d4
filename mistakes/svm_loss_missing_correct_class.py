"""multiclass SVM loss: dx leaves out the correct class's column (-(number of positive margins)
per row), the term students most often forget.

x: (N, C) scores; y: (N,) labels; dx: (N, C).
"""

import numpy as np

LAYER = "svm_loss"
BROKEN = ("svm_loss",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "dx differs from jax.vjp"


def svm_loss(x, y):
    n = x.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0.0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / n
    dx = (margins > 0).astype(float)  # mistake: then dx[rows, y] -= dx.sum(axis=1)
    return loss, dx / n
