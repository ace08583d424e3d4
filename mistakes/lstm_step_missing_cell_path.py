"""lstm step backward drops the cell state's own path: dprev_c = f ⊙ (dnext_h ⊙ o ⊙ tanh'(next_c))
without f ⊙ dnext_c, the gradient that reaches prev_c straight through next_c = f ⊙ prev_c + i ⊙ g.

x: (N, D); prev_h, prev_c: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,); dnext_h, dnext_c: (N, H).
Only dprev_c is wrong, and only when dnext_c is not zero: a check that backpropagates dnext_h
alone (dnext_c = 0, as at the last step of a sequence) misses it.
"""

import numpy as np

LAYER = "lstm_step"
BROKEN = ("lstm_step_backward",)
DIAGNOSIS = "f ⊙ dnext_c"
CATCHES = ("vjp", "finite_differences")


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
    dc_from_h = dnext_h * o * (1 - tanh_c ** 2)
    dc = dnext_c + dc_from_h
    dprev_c = f * dc_from_h  # mistake: f * dc (f ⊙ dnext_c is missing)
    da = np.hstack((dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                    dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g ** 2)))
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)
