"""lstm step backward adds the hidden state's contribution into the caller's array:
dnext_c += dnext_h ⊙ o ⊙ tanh'(next_c), then uses dnext_c as the total cell gradient.

x: (N, D); prev_h, prev_c: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,); dnext_h, dnext_c: (N, H).
Every returned gradient is right; the caller's dnext_c (in lstm_backward, the dprev_c that the
next step returned) is silently changed.
"""

import numpy as np

LAYER = "lstm_step"
BROKEN = ("lstm_step_backward",)
DIAGNOSIS = ("modified dnext_c", "modified dout")
CATCHES = ("no_mutation",)


def sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    dnext_c += dnext_h * o * (1 - tanh_c ** 2)  # mistake: dc = dnext_c + … (a new array)
    dc = dnext_c
    da = np.hstack((dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                    dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g ** 2)))
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
