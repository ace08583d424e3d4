"""FullyConnectedNet ignores its seed: the dropout mask is drawn afresh on every call.

Shows with dropout on: two calls with the same params, data and seed give different losses.
"""

import numpy as np

LAYER = "FullyConnectedNet"
BROKEN = ("FullyConnectedNet",)
CATCHES = ('properties',)
DIAGNOSIS = 'not seeded'


def _softmax_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1.0
    return -log_p[np.arange(n), y].mean(), dscores / n


def _norm_forward(h, gamma, beta, axis, bn_param):
    if axis == 0 and bn_param["mode"] == "test":
        mu = bn_param.get("running_mean", np.zeros(h.shape[1]))
        var = bn_param.get("running_var", np.ones(h.shape[1]))
    else:
        mu, var = h.mean(axis=axis, keepdims=True), h.var(axis=axis, keepdims=True)
    xhat = (h - mu) / np.sqrt(var + 1e-5)
    return xhat * gamma + beta, (xhat, gamma, var, axis)


def _norm_backward(dout, cache):
    xhat, gamma, var, axis = cache
    dxhat = dout * gamma
    dh = (dxhat - dxhat.mean(axis=axis, keepdims=True)
          - xhat * (dxhat * xhat).mean(axis=axis, keepdims=True)) / np.sqrt(var + 1e-5)
    return dh, (dout * xhat).sum(axis=0), dout.sum(axis=0)


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization, self.reg = normalization, reg
        self.use_dropout = dropout != 1
        self.num_layers = 1 + len(hidden_dims)
        sizes = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = weight_scale * np.random.randn(sizes[i - 1], sizes[i])
            self.params[f"b{i}"] = np.zeros(sizes[i])
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(sizes[i])
                self.params[f"beta{i}"] = np.zeros(sizes[i])
        self.dropout_param = {"mode": "train", "p": dropout}
        # mistake: the seed is not kept in self.dropout_param
        self.bn_params = [{"mode": "train"} for _ in hidden_dims]

    def loss(self, X, y=None):
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        p, caches, h = self.params, [], X
        for i in range(1, self.num_layers):
            h = h @ p[f"W{i}"] + p[f"b{i}"]
            norm = None
            if self.normalization:
                axis = 0 if self.normalization == "batchnorm" else 1
                h, norm = _norm_forward(h, p[f"gamma{i}"], p[f"beta{i}"], axis,
                                        self.bn_params[i - 1])
            relu = h > 0
            h = h * relu
            mask = None
            if self.use_dropout and self.dropout_param["mode"] == "train":
                if "seed" in self.dropout_param:
                    np.random.seed(self.dropout_param["seed"])
                mask = (np.random.rand(*h.shape) < self.dropout_param["p"]) / self.dropout_param["p"]
                h = h * mask
            caches.append((h, norm, relu, mask))
        L = self.num_layers
        scores = h @ p[f"W{L}"] + p[f"b{L}"]
        if y is None:
            return scores
        loss, dout = _softmax_loss(scores, y)
        grads = {f"W{L}": h.T @ dout, f"b{L}": dout.sum(axis=0)}
        dout = dout @ p[f"W{L}"].T
        for i in range(L - 1, 0, -1):
            _, norm, relu, mask = caches[i - 1]
            if mask is not None:
                dout = dout * mask
            dout = dout * relu
            if norm is not None:
                dout, dgamma, dbeta = _norm_backward(dout, norm)
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
            below = caches[i - 2][0] if i > 1 else X
            grads[f"W{i}"], grads[f"b{i}"] = below.T @ dout, dout.sum(axis=0)
            dout = dout @ p[f"W{i}"].T
        for i in range(1, L + 1):
            loss += 0.5 * self.reg * np.sum(p[f"W{i}"] ** 2)
            grads[f"W{i}"] += self.reg * p[f"W{i}"]
        return loss, grads
