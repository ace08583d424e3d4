"""max-pool backward assigns each window's gradient with = instead of adding it with +=.

x: (N, C, H, W); pool_param: pool_height, pool_width, stride. Right when windows do not overlap
(stride ≥ pool size, the notebooks' only case: 2×2 at stride 2); with overlapping windows a later
window overwrites what an earlier one sent to a shared entry — including its zeros.
"""

import numpy as np

LAYER = "max_pool"
BROKEN = ("max_pool_backward_naive",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "overlapping windows"


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, h, w = x.shape
    ho, wo = 1 + (h - ph) // stride, 1 + (w - pw) // stride
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, ho, wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * stride, i * stride + ph), slice(j * stride, j * stride + pw)
            window = x[:, :, rows, cols]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, cols] = mask * dout[:, :, i, j][:, :, None, None]  # mistake: +=
    return dx
