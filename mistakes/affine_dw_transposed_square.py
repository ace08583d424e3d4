"""Transposed dw, written on square weights: dw = dout.T @ x (the shapes only line up when D = M).

x: (N, D) or (N, d_1, ..., d_k); w: (D, M); b: (M,); dout: (N, M).
Correct: dw = x2d.T @ dout, (D, M). Here: dout.T @ x2d, (M, D) — a wrong shape when D != M and
the transpose of the right values when D = M.
"""

LAYER = "affine"
BROKEN = ("affine_backward",)
CATCHES = ("shapes", "vjp", "finite_differences")
DIAGNOSIS = "transposed"


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    x2d = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = dout.T @ x2d  # mistake: x2d.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
