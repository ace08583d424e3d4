"""rnn step backward computes dWh = daᵀ prev_h, the transpose of prev_hᵀ da: Wh is square (H, H),
so the shape is right and a shape check cannot see it.

x: (N, D); prev_h: (N, H); Wx: (D, H); Wh: (H, H); b: (H,); dnext_h: (N, H). dWx = xᵀ da is
right (D ≠ H would expose a transpose there by its shape).
"""

import numpy as np

LAYER = "rnn_step"
BROKEN = ("rnn_step_backward",)
DIAGNOSIS = "transposed"
CATCHES = ("vjp", "finite_differences")


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    dWh = da.T @ prev_h  # mistake: prev_h.T @ da
    return da @ Wx.T, da @ Wh.T, x.T @ da, dWh, da.sum(axis=0)
