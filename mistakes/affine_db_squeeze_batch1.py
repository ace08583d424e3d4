"""db from a squeezed dout: np.squeeze(dout).sum(axis=0) breaks at batch size 1.

x: (N, D); w: (D, M); b: (M,); dout: (N, M). Right for every N > 1 (atleast_1d even rescues
M = 1, where the squeeze leaves (N,) and the sum a scalar); at N = 1 the squeeze also removes the
batch axis, so db is (1,) where (M,) is due, or the sum raises when M = 1 too.
"""

import numpy as np

LAYER = "affine"
BROKEN = ("affine_backward",)
CATCHES = ("shapes", "vjp", "finite_differences", "batch")
DIAGNOSIS = "batch size 1"


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = np.atleast_1d(np.squeeze(dout).sum(axis=0))  # mistake: dout.sum(axis=0)
    return dx, dw, db
