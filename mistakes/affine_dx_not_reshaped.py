"""dx left flat: dout @ w.T is (N, D), not reshaped back to x's shape (N, d_1, ..., d_k).

Invisible when x is already 2-D; the cs231n affine layer takes image-shaped x.
"""

LAYER = "affine"
BROKEN = ("affine_backward",)
CATCHES = ("shapes", "vjp", "finite_differences")
DIAGNOSIS = "dx has shape"


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = dout @ w.T  # mistake: .reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
