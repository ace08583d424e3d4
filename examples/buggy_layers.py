"""A cs231n-style layers.py with two classic mistakes, a convention and one layer of its own.

    bpcheck check examples/buggy_layers.py

affine_backward averages db over the batch, softmax_loss forgets to subtract the max before
exponentiating, relu_backward uses relu'(0) = 1 (a warning: JAX takes 0); `swish` is not in the
protocol, so the file brings its JAX twin (`swish_reference`) next to it. The three protocol
layers are copied from the catalogue: mistakes/affine_db_mean.py, mistakes/relu_derivative_1_at_0.py
and mistakes/softmax_loss_no_max_shift.py (tests/test_catalogue.py keeps the copies equal).
"""

import jax.numpy as jnp
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.mean(axis=0)  # mistake: the bias gradient sums over the batch
    return dx, dw, db


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache >= 0)  # relu'(0) = 1: a convention, not a mistake


def softmax_loss(x, y):
    n = x.shape[0]
    p = np.exp(x)  # mistake: overflows for large logits; subtract the row max first
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return loss, dx / n


def swish_forward(x):
    s = 1 / (1 + np.exp(-np.clip(x, -500, 500)))
    return x * s, (x, s)


def swish_backward(dout, cache):
    x, s = cache
    return dout * (s + x * s * (1 - s))


def swish_reference(x):
    return x / (1 + jnp.exp(-x))
