"""conv flips the kernel (a textbook convolution) where cs231n's layer is a cross-correlation.

x: (N, C, H, W); w: (F, C, HH, WW); b: (F,). The forward reads w[:, :, ::-1, ::-1] and the
backward is the consistent derivative of that flipped layer, so the two agree with each other —
and finite differences of the student's own forward pass — but not with the course's layer.
"""

import numpy as np

LAYER = "conv"
BROKEN = ("conv_forward_naive", "conv_backward_naive")
CATCHES = ("forward", "vjp", "finite_differences")
DIAGNOSIS = "flipped kernel"


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = 1 + (h + 2 * pad - hh) // stride, 1 + (wd + 2 * pad - ww) // stride
    wf = w[:, :, ::-1, ::-1]  # mistake: convolution flips the kernel; cs231n's layer does not
    out = np.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = np.tensordot(window, wf, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, h, wd = x.shape
    _, _, hh, ww = w.shape
    _, _, ho, wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    wf = w[:, :, ::-1, ::-1]
    dxp, dwf = np.zeros_like(xp), np.zeros_like(w)
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * stride, i * stride + hh), slice(j * stride, j * stride + ww)
            dwf += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], wf, axes=([1], [0]))
    dx = dxp[:, :, pad:pad + h, pad:pad + wd]
    return dx, dwf[:, :, ::-1, ::-1], dout.sum(axis=(0, 2, 3))
