"""db as a mean over the batch: dout.mean(axis=0) where the sum is due (an extra 1/N).

dout: (N, M); db: (M,). Right at N = 1, N times too small otherwise.
"""

LAYER = "affine"
BROKEN = ("affine_backward",)
CATCHES = ("vjp", "finite_differences", "batch")
DIAGNOSIS = "mean over the batch"


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.mean(axis=0)  # mistake: the bias gradient sums over the batch
    return dx, dw, db
