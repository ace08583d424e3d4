"""rnn backward does not carry the gradient back across timesteps: step t is fed dh[:, t] alone,
without the dprev_h that step t+1 sends back through its prev_h.

x: (N, T, D); h0: (N, H); Wx: (D, H); Wh: (H, H); b: (H,); dh: (N, T, H). Every gradient but
the last step's is wrong; with T = 1 the layer is right, so a one-shape check at T = 1 misses it.
"""

import numpy as np

LAYER = "rnn"
BROKEN = ("rnn_backward",)
DIAGNOSIS = "not accumulated across timesteps"
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
        prev_h = h[:, t - 1] if t > 0 else h0
        da = dh[:, t] * (1 - h[:, t] ** 2)  # mistake: (dh[:, t] + dprev_h) * (1 - h[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx += x[:, t].T @ da
        dWh += prev_h.T @ da
        db += da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
