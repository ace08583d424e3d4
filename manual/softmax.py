"""Softmax and log-softmax over the last axis: hand-derived forward and backward."""

from typing import NamedTuple

import numpy as np

from ._stable import ignore_underflow
from ._stable import exp_nonpos

__all__ = [
    "log_softmax_backward",
    "log_softmax_forward",
    "softmax_backward",
    "softmax_forward",
]



class SoftmaxCache(NamedTuple):
    """Values saved by `softmax_forward` for `softmax_backward`."""

    p: np.ndarray  # softmax(x), same shape as x


class LogSoftmaxCache(NamedTuple):
    """Values saved by `log_softmax_forward` for `log_softmax_backward`."""

    p: np.ndarray  # softmax(x), same shape as x


def _shifted(x):
    """Compute z = x - max(x) over the last axis, so that every z <= 0.

    x: (..., C); returns z: (..., C).
    """
    return x - x.max(axis=-1, keepdims=True)


@ignore_underflow
def softmax_forward(x):
    """Compute p = exp(x) / exp(x).sum(-1) over the last axis, stably.

    x: (..., C), any leading shape; out p: (..., C).
    """
    e = exp_nonpos(_shifted(x))
    p = e / e.sum(axis=-1, keepdims=True)
    return p, SoftmaxCache(p=p)


@ignore_underflow
def softmax_backward(dout, cache):
    """Compute the softmax Jacobian-vector product (full Jacobian, not its diagonal).

    dout: (..., C); returns dx: (..., C).

    dx = p * (dout - (dout * p).sum(axis=-1, keepdims=True))
    """
    p = cache.p
    return p * (dout - (dout * p).sum(axis=-1, keepdims=True))


@ignore_underflow
def log_softmax_forward(x):
    """Compute log p = x - logsumexp(x) over the last axis, stably.

    x: (..., C), any leading shape; out: (..., C).
    """
    z = _shifted(x)
    e = exp_nonpos(z)
    s = e.sum(axis=-1, keepdims=True)  # >= 1, the max term contributes exp(0)
    out = z - np.log(s)
    return out, LogSoftmaxCache(p=e / s)


@ignore_underflow
def log_softmax_backward(dout, cache):
    """Compute the gradient of log-softmax w.r.t. x.

    dout: (..., C); returns dx: (..., C).

    dx = dout - p * dout.sum(axis=-1, keepdims=True),  p = softmax(x)
    """
    return dout - cache.p * dout.sum(axis=-1, keepdims=True)
