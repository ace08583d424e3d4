"""TwoLayerNet's loss regularised but its grads not: dW1 and dW2 lack reg·W.

Shows whenever reg > 0, on the weights' gradients only (the loss is right).
"""

import numpy as np

LAYER = "TwoLayerNet"
BROKEN = ("TwoLayerNet",)
CATCHES = ('vjp', 'finite_differences')
DIAGNOSIS = 'lacks the regularisation term'


def _softmax_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1.0
    return -log_p[np.arange(n), y].mean(), dscores / n


class TwoLayerNet:
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden = np.maximum(X @ W1 + b1, 0.0)
        scores = hidden @ W2 + b2
        if y is None:
            return scores
        loss, dscores = _softmax_loss(scores, y)
        dhidden = (dscores @ W2.T) * (hidden > 0)
        grads = {"W1": X.T @ dhidden, "b1": dhidden.sum(axis=0),
                 "W2": hidden.T @ dscores, "b2": dscores.sum(axis=0)}
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        # mistake: grads["W1"] += self.reg * W1 and grads["W2"] += self.reg * W2 are missing
        return loss, grads
