"""affine backward computed in single precision (cs231n's nets default to float32), cast back to
float64: the right formulas, with float32's ~1e-7 relative rounding in every gradient.

x: (N, D) or (N, d_1, ..., d_k); w: (D, M); b: (M,); dout: (N, M). Not a wrong derivation: every
float64 comparison of gradients fails (linearity and the batch check too), vjp's with the
precision-loss diagnosis; the float32 tier passes it.
"""

import numpy as np

LAYER = "affine"
BROKEN = ("affine_backward",)
CATCHES = ("vjp", "finite_differences", "linearity", "batch")
DIAGNOSIS = "a precision loss"


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    # mistake: float32 copies; the float64 tier expects float64 arithmetic
    dout32, x32, w32 = (a.astype(np.float32) for a in (dout, x.reshape(x.shape[0], -1), w))
    dx = (dout32 @ w32.T).reshape(x.shape)
    dw = x32.T @ dout32
    db = dout32.sum(axis=0)
    return dx.astype(np.float64), dw.astype(np.float64), db.astype(np.float64)
