"""db with a kept dimension: dout.sum(axis=0, keepdims=True) is (1, M) where (M,) is due.

Broadcasting hides it in `b -= lr * db` for one step, then b itself becomes (1, M).
"""

LAYER = "affine"
BROKEN = ("affine_backward",)
CATCHES = ("shapes", "vjp", "finite_differences")
DIAGNOSIS = "kept a dimension"


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0, keepdims=True)  # mistake: (1, M)
    return dx, dw, db
