"""db summed over the features instead of the batch: dout.sum(axis=1), one entry per example.

x: (N, D); w: (D, M); b: (M,); dout: (N, M). db is (N,) where (M,) is due — the right shape, and
wrong values, when N = M.
"""

LAYER = "affine"
BROKEN = ("affine_backward",)
CATCHES = ("shapes", "vjp", "finite_differences", "batch")
DIAGNOSIS = ("one entry per example", "db differs from jax.vjp")


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=1)  # mistake: dout.sum(axis=0)
    return dx, dw, db
