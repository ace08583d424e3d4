"""Inverted dropout: hand-derived forward and backward passes (p is the keep probability)."""

from typing import NamedTuple

import numpy as np

__all__ = ["dropout_forward", "dropout_backward"]


class DropoutCache(NamedTuple):
    """Values saved by `dropout_forward` for `dropout_backward`."""

    mode: str  # 'train' or 'test'
    p: float  # keep probability
    mask: np.ndarray | None  # boolean, x's shape: the entries kept (None in test mode)


def dropout_forward(x, dropout_param):
    """Compute inverted dropout: keep each entry with probability p and scale it by 1/p.

    x: any shape; out: x's shape.
    dropout_param: dict with 'p' (the probability of KEEPING an entry), 'mode' ('train' or
    'test') and optional 'seed': when given, NumPy's global generator is seeded with it first, so
    the same seed gives the same mask. Train: mask = rand(*x.shape) < p, out = x * mask / p
    (E[out] = x, so test mode needs no rescaling). Test: out = x.
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "train":
        if "seed" in dropout_param:
            np.random.seed(dropout_param["seed"])
        mask = np.random.rand(*x.shape) < p
        return x * mask / p, DropoutCache(mode=mode, p=p, mask=mask)
    if mode == "test":
        return x.copy(), DropoutCache(mode=mode, p=p, mask=None)
    raise ValueError(f"invalid dropout mode {mode!r}; expected 'train' or 'test'")


def dropout_backward(dout, cache):
    """Compute the gradient of inverted dropout w.r.t. x.

    dout: x's shape; returns dx: x's shape.

    Train: out = x * mask / p is linear in x with a diagonal Jacobian, so dx = dout * mask / p
    (the forward's own mask). Test: out = x, so dx = dout (a copy, never dout itself).
    """
    if cache.mode == "train":
        return dout * cache.mask / cache.p
    return dout.copy()
