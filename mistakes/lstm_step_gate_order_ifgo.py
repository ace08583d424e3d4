"""lstm step splits the gates in PyTorch's order i, f, g, o instead of cs231n's i, f, o, g: the
third block of a = x Wx + prev_h Wh + b is taken as the candidate g and the fourth as the output
gate o, in the forward and (consistently) in the backward.

x: (N, D); prev_h, prev_c: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,). The backward is right for
its own forward, so finite differences of this forward agree with it; the JAX twin does not.
"""

import numpy as np

LAYER = "lstm_step"
BROKEN = ("lstm_step_forward", "lstm_step_backward")
DIAGNOSIS = "gates in the order i, f, g, o"
CATCHES = ("forward", "vjp", "finite_differences")


def sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])  # mistake: o is block 3, g block 4
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    da = np.hstack((dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                    dc * i * (1 - g ** 2), dnext_h * tanh_c * o * (1 - o)))
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
