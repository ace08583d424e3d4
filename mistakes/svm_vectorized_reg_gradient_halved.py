"""svm_loss_vectorized regularises its loss with reg·ΣW² but adds only reg·W to dW (the gradient of
reg·ΣW² is 2·reg·W).

Shows whenever reg > 0: dW is off by reg·W; the loss is right.
"""

import numpy as np

LAYER = "svm_loss_vectorized"
BROKEN = ("svm_loss_vectorized",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "half the gradient of the loss's"


def svm_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(n), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n + reg * np.sum(W * W)
    counts = (margins > 0).astype(float)
    counts[np.arange(n), y] = -counts.sum(axis=1)
    dW = X.T.dot(counts) / n + reg * W  # mistake: 2 * reg * W
    return loss, dW
