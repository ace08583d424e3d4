"""Transposed dw on non-square weights, "fixed" by a reshape: (dout.T @ x).reshape(w.shape).

x: (N, D); w: (D, M); b: (M,); dout: (N, M).
The product is (M, D); reshaping it to (D, M) gives the right shape and scrambled values.
"""

LAYER = "affine"
BROKEN = ("affine_backward",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "transposed"


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    x2d = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = (dout.T @ x2d).reshape(w.shape)  # mistake: x2d.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
