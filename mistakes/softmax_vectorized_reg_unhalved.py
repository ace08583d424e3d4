"""softmax_loss_vectorized regularises with reg·ΣW² (and 2·reg·W in dW): a year's convention, not
a mistake; the models' L2 is 0.5·reg·ΣW².

Consistent loss and gradient: bpcheck judges dW as the gradient of this loss and names the factor.
"""

import numpy as np

LAYER = "softmax_loss_vectorized"
BROKEN = ("softmax_loss_vectorized",)
CATCHES = ()
WARNS = ("properties",)
DIAGNOSIS = "no 0.5"


def softmax_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    scores = X.dot(W)
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).mean() + reg * np.sum(W * W)
    probs[np.arange(n), y] -= 1
    dW = X.T.dot(probs) / n + 2 * reg * W
    return loss, dW
