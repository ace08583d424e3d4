"""Elementwise activations: hand-derived forward and backward passes.

Every function accepts arrays of any shape; outputs have the input's shape.
"""

from typing import NamedTuple

import numpy as np

from ._stable import ignore_underflow
from ._stable import sigmoid as _stable_sigmoid
from ._stable import softplus as _stable_softplus

__all__ = [
    "elu_backward",
    "elu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softplus_backward",
    "softplus_forward",
    "tanh_backward",
    "tanh_forward",
]


class ReluCache(NamedTuple):
    """Values saved by `relu_forward` for `relu_backward`."""

    mask: np.ndarray  # boolean, x > 0


class LeakyReluCache(NamedTuple):
    """Values saved by `leaky_relu_forward` for `leaky_relu_backward`."""

    mask: np.ndarray  # boolean, x > 0
    alpha: float


class EluCache(NamedTuple):
    """Values saved by `elu_forward` for `elu_backward`."""

    mask: np.ndarray  # boolean, x > 0
    out: np.ndarray  # elu(x)
    alpha: float


class SigmoidCache(NamedTuple):
    """Values saved by `sigmoid_forward` for `sigmoid_backward`."""

    out: np.ndarray  # s = sigmoid(x)


class TanhCache(NamedTuple):
    """Values saved by `tanh_forward` for `tanh_backward`."""

    out: np.ndarray  # tanh(x)


class SoftplusCache(NamedTuple):
    """Values saved by `softplus_forward` for `softplus_backward`."""

    sig: np.ndarray  # sigmoid(x), the derivative of softplus



def relu_forward(x):
    """Compute the rectified linear unit out = max(x, 0).

    x: any shape; out: same shape as x.
    """
    mask = x > 0
    out = np.maximum(x, 0)
    return out, ReluCache(mask=mask)


def relu_backward(dout, cache):
    """Compute the gradient of relu w.r.t. x (relu'(0) = 0).

    dout: same shape as x; returns dx: same shape as x.

    dx = dout * (x > 0)
    """
    return dout * cache.mask


def leaky_relu_forward(x, alpha=0.01):
    """Compute the leaky relu out = x if x > 0 else alpha * x.

    x: any shape; alpha: scalar; out: same shape as x.
    """
    mask = x > 0
    out = np.where(mask, x, alpha * x)
    return out, LeakyReluCache(mask=mask, alpha=alpha)


def leaky_relu_backward(dout, cache):
    """Compute the gradient of leaky relu w.r.t. x (derivative alpha at x = 0).

    dout: same shape as x; returns dx: same shape as x.

    dx = where(x > 0, dout, alpha * dout)
    """
    return np.where(cache.mask, dout, cache.alpha * dout)


def elu_forward(x, alpha=1.0):
    """Compute the exponential linear unit out = x if x > 0 else alpha * (exp(x) - 1).

    x: any shape; alpha: scalar > 0; out: same shape as x. The exponential only ever sees
    min(x, 0), so large positive x cannot overflow.
    """
    mask = x > 0
    out = np.where(mask, x, alpha * np.expm1(np.minimum(x, 0)))
    return out, EluCache(mask=mask, out=out, alpha=alpha)


def elu_backward(dout, cache):
    """Compute the gradient of elu w.r.t. x (derivative alpha at x = 0, the left one).

    dout: same shape as x; returns dx: same shape as x.

    dx = where(x > 0, dout, dout * (out + alpha))   since d/dx alpha (e^x - 1) = out + alpha
    """
    return np.where(cache.mask, dout, dout * (cache.out + cache.alpha))


def sigmoid_forward(x):
    """Compute the logistic sigmoid out = 1 / (1 + exp(-x)), stably.

    x: any shape; out: same shape as x.
    """
    out = _stable_sigmoid(x)
    return out, SigmoidCache(out=out)


@ignore_underflow
def sigmoid_backward(dout, cache):
    """Compute the gradient of sigmoid w.r.t. x.

    dout: same shape as x; returns dx: same shape as x.

    dx = dout * s * (1 - s),  s = sigmoid(x)
    """
    s = cache.out
    return dout * s * (1.0 - s)


def tanh_forward(x):
    """Compute the hyperbolic tangent out = tanh(x).

    x: any shape; out: same shape as x.
    """
    out = np.tanh(x)
    return out, TanhCache(out=out)


def tanh_backward(dout, cache):
    """Compute the gradient of tanh w.r.t. x.

    dout: same shape as x; returns dx: same shape as x.

    dx = dout * (1 - out**2),  out = tanh(x)
    """
    out = cache.out
    return dout * ((1.0 - out) * (1.0 + out))  # factored form: accurate near |out| = 1


def softplus_forward(x):
    """Compute the softplus out = log(1 + exp(x)), stably.

    x: any shape; out: same shape as x.
    """
    out = _stable_softplus(x)
    return out, SoftplusCache(sig=_stable_sigmoid(x))


@ignore_underflow
def softplus_backward(dout, cache):
    """Compute the gradient of softplus w.r.t. x.

    dout: same shape as x; returns dx: same shape as x.

    dx = dout * sigmoid(x)
    """
    return dout * cache.sig
