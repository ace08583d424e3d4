"""Classic hand-derivation mistakes, planted into copies of manual/'s functions.

Each one is a realistic bug a student writes; tests/test_checker.py asserts that the checks named
beside it catch it. They are plain NumPy, in the protocol's signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import manual  # noqa: F401


@dataclass(frozen=True)
class Planted:
    name: str
    layer: str
    functions: dict[str, Callable]
    catches: tuple[str, ...]  # the checks that must flag it


def affine_backward_transposed_dw(dout, cache):
    dx, _, db = manual.affine_backward(dout, cache)
    return dx, (dout.T @ cache.x2d).reshape(cache.w.shape), db


def affine_backward_db_mean(dout, cache):
    dx, dw, _ = manual.affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=0)


def affine_backward_db_keepdims(dout, cache):
    dx, dw, _ = manual.affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=0, keepdims=True)


def affine_backward_squeezed(dout, cache):
    dx, dw, _ = manual.affine_backward(dout, cache)
    return dx, dw, np.squeeze(dout).sum(axis=0)  # (N, M) -> (M,) breaks when N = 1


def softmax_backward_diagonal_only(dout, cache):
    return dout * cache.p * (1 - cache.p)


def softmax_loss_without_1_over_n(x, y):
    loss, dx = manual.softmax_loss(x, y)
    return loss, dx * x.shape[0]


def mse_loss_without_2(x, y):
    loss, dx = manual.mse_loss(x, y)
    return loss, dx / 2


def relu_backward_edits_dout(dout, cache):
    dout[~cache.mask] = 0.0
    return dout


def relu_backward_returns_dout(dout, cache):
    return dout if cache.mask.all() else dout * cache.mask  # a "shortcut" that aliases dout


def relu_forward_edits_x(x):
    out, cache = manual.relu_forward(x)
    x[x < 0] = 0.0
    return out, cache


def batchnorm_backward_edits_cache(dout, cache):
    grads = manual.batchnorm_backward(dout, cache)
    cache.xhat[...] = 0.0
    return grads


def leaky_relu_backward_forgets_dout(dout, cache):
    return np.where(cache.mask, dout, cache.alpha)


def sigmoid_forward_wrong_sign(x):
    out, cache = manual.sigmoid_forward(x)
    return 1.0 / (1.0 + np.exp(np.clip(x, -500, 500))), cache


def batchnorm_backward_test_formula_in_train(dout, cache):
    _, dgamma, dbeta = manual.batchnorm_backward(dout, cache)
    return dout * cache.gamma * cache.inv_std, dgamma, dbeta


def elu_forward_overflows(x, alpha=1.0):
    out = np.where(x > 0, x, alpha * np.expm1(x))  # expm1 of large x overflows (untaken branch)
    return out, manual.elu_forward(x, alpha)[1]


def softmax_loss_without_max_shift(x, y):
    n = x.shape[0]
    e = np.exp(x)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return loss, dx / n


def layernorm_forward_without_eps(x, gamma, beta, ln_param):
    """Normalises by the bare standard deviation: off by ~ε/(2σ²) on every row (ε = 1e-5), and
    blowing up on a constant row."""
    out, cache = manual.layernorm_forward(x, gamma, beta, ln_param)
    centred = x - x.mean(axis=1, keepdims=True)
    return gamma * centred / np.sqrt(centred.var(axis=1, keepdims=True) + 1e-300) + beta, cache


def relu_backward_nan(dout, cache):
    """A gradient of NaNs (0/0 somewhere): every comparison with NaN is False, so a check that
    asks "is the gap too large?" would wave it through."""
    return np.full_like(dout, np.nan)


PLANTED: tuple[Planted, ...] = (
    Planted("transposed dw", "affine", {"affine_backward": affine_backward_transposed_dw},
            ("vjp", "finite_differences")),
    Planted("db as a mean over the batch", "affine", {"affine_backward": affine_backward_db_mean},
            ("vjp", "finite_differences", "batch")),
    Planted("db keeps a dimension, (1, M)", "affine",
            {"affine_backward": affine_backward_db_keepdims}, ("shapes", "vjp")),
    Planted("a squeeze that breaks N = 1", "affine", {"affine_backward": affine_backward_squeezed},
            ("shapes", "batch")),
    Planted("diagonal-only softmax Jacobian", "softmax",
            {"softmax_backward": softmax_backward_diagonal_only}, ("vjp", "finite_differences")),
    Planted("missing 1/N", "softmax_loss", {"softmax_loss": softmax_loss_without_1_over_n},
            ("vjp", "finite_differences", "batch")),
    Planted("missing factor 2", "mse_loss", {"mse_loss": mse_loss_without_2},
            ("vjp", "finite_differences")),
    Planted("a NaN gradient", "relu", {"relu_backward": relu_backward_nan},
            ("vjp", "finite_differences", "linearity")),
    Planted("in-place edit of dout", "relu", {"relu_backward": relu_backward_edits_dout},
            ("no_mutation",)),
    Planted("gradient aliases dout", "relu", {"relu_backward": relu_backward_returns_dout},
            ("no_mutation",)),
    Planted("in-place edit of the input", "relu", {"relu_forward": relu_forward_edits_x},
            ("no_mutation",)),
    Planted("in-place edit of the cache", "batchnorm",
            {"batchnorm_backward": batchnorm_backward_edits_cache}, ("no_mutation",)),
    Planted("upstream gradient not multiplied in", "leaky_relu",
            {"leaky_relu_backward": leaky_relu_backward_forgets_dout}, ("linearity", "vjp")),
    Planted("exp overflow in an untaken branch (a RuntimeWarning under pytest)", "elu",
            {"elu_forward": elu_forward_overflows}, ("forward",)),
    Planted("softmax without the max shift overflows at large logits", "softmax_loss",
            {"softmax_loss": softmax_loss_without_max_shift}, ("forward", "vjp")),
    Planted("layernorm without eps", "layernorm",
            {"layernorm_forward": layernorm_forward_without_eps}, ("forward",)),
    Planted("wrong forward", "sigmoid", {"sigmoid_forward": sigmoid_forward_wrong_sign},
            ("forward",)),
    Planted("batchnorm dx without the batch-statistics terms", "batchnorm",
            {"batchnorm_backward": batchnorm_backward_test_formula_in_train},
            ("vjp", "finite_differences")),
)
