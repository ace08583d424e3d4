"""rnn backward takes h0 as every step's previous hidden state: dWh accumulates h0ᵀ da_t where
h[:, t-1]ᵀ da_t is due (off by one step from t = 1 on).

x: (N, T, D); h0: (N, H); Wx: (D, H); Wh: (H, H); b: (H,); dh: (N, T, H). Only dWh is wrong,
and only for T ≥ 2 (at T = 1, h0 is the previous state).
"""

import numpy as np

LAYER = "rnn"
BROKEN = ("rnn_backward",)
DIAGNOSIS = "h0 used in place of h[t-1]"
CATCHES = ("vjp", "finite_differences")


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, Wh.shape[0]))
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
        h[:, t] = prev_h
    return h, (x, h0, h, Wx, Wh)


def rnn_backward(dh, cache):
    x, h0, h, Wx, Wh = cache
    N, T, _ = x.shape
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += h0.T @ da  # mistake: (h[:, t - 1] if t > 0 else h0).T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
