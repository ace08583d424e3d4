"""The course's model classes (``classifiers/fc_net.py``, ``classifiers/cnn.py``), composed from
this package's layers: ``TwoLayerNet``, ``FullyConnectedNet``, ``ThreeLayerConvNet``.

Each keeps its parameters in ``self.params`` (a dict of arrays) and has ``loss(X, y=None)``:
the scores (N, C) in test mode without y, else ``(loss, grads)`` in train mode, grads keyed
exactly as params. L2 regularisation is 0.5 · reg · ΣW² over the weights only (no biases, no
gamma or beta).
"""

import numpy as np

from .dropout import dropout_backward, dropout_forward
from .layer_utils import (
    affine_bn_relu_backward, affine_bn_relu_forward, affine_ln_relu_backward,
    affine_ln_relu_forward, affine_relu_backward, affine_relu_forward, conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from .layers import affine_backward, affine_forward
from .losses import softmax_loss

__all__ = ["TwoLayerNet", "FullyConnectedNet", "ThreeLayerConvNet"]


def _l2(params, names):
    return sum(np.sum(params[n] * params[n]) for n in names)


class TwoLayerNet:
    """affine - relu - affine - softmax (``fc_net.TwoLayerNet``).

    ``__init__(input_dim, hidden_dim, num_classes, weight_scale, reg)``; params W1 (D, H), b1 (H,),
    W2 (H, C), b2 (C,); L2 = 0.5 · reg · (ΣW1² + ΣW2²).
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        rng = np.random.default_rng(0)
        self.reg = reg
        self.params = {
            "W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, scores_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores
        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + 0.5 * self.reg * _l2(p, ("W1", "W2"))
        dhidden, dW2, db2 = affine_backward(dscores, scores_cache)
        _, dW1, db1 = affine_relu_backward(dhidden, hidden_cache)
        return loss, {"W1": dW1 + self.reg * p["W1"], "b1": db1,
                      "W2": dW2 + self.reg * p["W2"], "b2": db2}


class FullyConnectedNet:
    """{affine - [batchnorm | layernorm] - relu - [dropout]} x (L - 1) - affine - softmax.

    The 2018-20 constructor: ``dropout`` is the keep probability (1: no dropout),
    ``normalization`` None, 'batchnorm' or 'layernorm'. params W1..WL, b1..bL and, with
    normalization, gamma1..gamma(L-1), beta1..beta(L-1). ``self.bn_params`` (one dict per hidden
    layer) and ``self.dropout_param`` (with 'seed' when given) carry the mode, which ``loss`` sets:
    'train' with y, 'test' without.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization, self.reg, self.dtype = normalization, reg, dtype
        self.use_dropout = dropout != 1
        self.num_layers = 1 + len(hidden_dims)
        rng = np.random.default_rng(0)
        sizes = (input_dim, *hidden_dims, num_classes)
        self.params = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
            self.params[f"W{i}"] = weight_scale * rng.standard_normal((fan_in, fan_out))
            self.params[f"b{i}"] = np.zeros(fan_out)
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out)
                self.params[f"beta{i}"] = np.zeros(fan_out)
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        p, caches, out = self.params, [], X
        for i in range(1, self.num_layers):
            w, b = p[f"W{i}"], p[f"b{i}"]
            if self.normalization == "batchnorm":
                out, cache = affine_bn_relu_forward(out, w, b, p[f"gamma{i}"], p[f"beta{i}"],
                                                    self.bn_params[i - 1])
            elif self.normalization == "layernorm":
                out, cache = affine_ln_relu_forward(out, w, b, p[f"gamma{i}"], p[f"beta{i}"],
                                                    self.bn_params[i - 1])
            else:
                out, cache = affine_relu_forward(out, w, b)
            drop = None
            if self.use_dropout:
                out, drop = dropout_forward(out, self.dropout_param)
            caches.append((cache, drop))
        L = self.num_layers
        scores, last = affine_forward(out, p[f"W{L}"], p[f"b{L}"])
        if mode == "test":
            return scores
        loss, dout = softmax_loss(scores, y)
        loss += 0.5 * self.reg * _l2(p, [f"W{i}" for i in range(1, L + 1)])
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last)
        for i in range(L - 1, 0, -1):
            cache, drop = caches[i - 1]
            if drop is not None:
                dout = dropout_backward(dout, drop)
            if self.normalization == "batchnorm":
                dout, dw, db, dgamma, dbeta = affine_bn_relu_backward(dout, cache)
            elif self.normalization == "layernorm":
                dout, dw, db, dgamma, dbeta = affine_ln_relu_backward(dout, cache)
            else:
                dout, dw, db = affine_relu_backward(dout, cache)
            grads[f"W{i}"], grads[f"b{i}"] = dw, db
            if self.normalization:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        for i in range(1, L + 1):
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * p[f"W{i}"]
        return loss, grads


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax (``cnn.ThreeLayerConvNet``).

    ``__init__(input_dim=(C, H, W), num_filters, filter_size, hidden_dim, num_classes,
    weight_scale, reg, dtype)``; the convolution keeps H and W (stride 1, pad
    (filter_size - 1) // 2, an odd filter_size). params W1 (F, C, k, k), b1 (F,),
    W2 (F·H/2·W/2, hidden), b2, W3 (hidden, classes), b3; L2 = 0.5 · reg · (ΣW1² + ΣW2² + ΣW3²).
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        rng = np.random.default_rng(0)
        self.reg, self.dtype = reg, dtype
        shapes = {"W1": (num_filters, C, filter_size, filter_size), "b1": (num_filters,),
                  "W2": (num_filters * (H // 2) * (W // 2), hidden_dim), "b2": (hidden_dim,),
                  "W3": (hidden_dim, num_classes), "b3": (num_classes,)}
        self.params = {k: (weight_scale * rng.standard_normal(s) if k[0] == "W" else np.zeros(s)
                           ).astype(dtype) for k, s in shapes.items()}

    def loss(self, X, y=None):
        p = self.params
        conv_param = {"stride": 1, "pad": (p["W1"].shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        a1, cache1 = conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)
        a2, cache2 = affine_relu_forward(a1, p["W2"], p["b2"])
        scores, cache3 = affine_forward(a2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * _l2(p, ("W1", "W2", "W3"))
        da2, dW3, db3 = affine_backward(dscores, cache3)
        da1, dW2, db2 = affine_relu_backward(da2, cache2)
        _, dW1, db1 = conv_relu_pool_backward(da1, cache1)
        return loss, {"W1": dW1 + self.reg * p["W1"], "b1": db1, "W2": dW2 + self.reg * p["W2"],
                      "b2": db2, "W3": dW3 + self.reg * p["W3"], "b3": db3}
