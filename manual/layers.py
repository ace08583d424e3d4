"""Affine (fully connected) layer: hand-derived forward and backward passes."""

from typing import NamedTuple

import numpy as np

__all__ = [
    "affine_backward",
    "affine_forward",
]


class AffineCache(NamedTuple):
    """Values saved by `affine_forward` for `affine_backward`."""

    x_shape: tuple  # original shape of x, (N, d_1, ..., d_k)
    x2d: np.ndarray  # x reshaped to (N, D)
    w: np.ndarray  # (D, M)


def affine_forward(x, w, b):
    """Compute the affine map out = x2d @ w + b.

    x: (N, d_1, ..., d_k), flattened to x2d: (N, D) with D = d_1 * ... * d_k
    w: (D, M)
    b: (M,)
    out: (N, M)
    """
    x2d = x.reshape(x.shape[0], -1)
    out = x2d @ w + b
    return out, AffineCache(x_shape=x.shape, x2d=x2d, w=w)


def affine_backward(dout, cache):
    """Compute the gradients of the affine layer w.r.t. x, w and b.

    dout: (N, M); returns dx: (N, d_1, ..., d_k), dw: (D, M), db: (M,)

    dx = (dout @ w.T).reshape(x.shape)
    dw = x2d.T @ dout
    db = dout.sum(axis=0)
    """
    dx = (dout @ cache.w.T).reshape(cache.x_shape)
    dw = cache.x2d.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def affine_param_grads(dout, cache):
    """Compute only the affine layer's parameter gradients, for a layer whose input needs none.

    dout: (N, M); returns dw: (D, M), db: (M,) — affine_backward's dw and db without its dx,
    whose (N, M)·(M, D) product is as costly as dw's (an MLP's first layer: X gets no gradient).

    dw = x2d.T @ dout
    db = dout.sum(axis=0)
    """
    return cache.x2d.T @ dout, dout.sum(axis=0)
