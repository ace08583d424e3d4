"""max-pool backward sends each window's gradient to every entry of the window, not only to its
maximum (the mask is forgotten).

x: (N, C, H, W); pool_param: pool_height, pool_width, stride. Right only for 1×1 windows.
"""

import numpy as np

LAYER = "max_pool"
BROKEN = ("max_pool_backward_naive",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "whole window"


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
            # mistake: multiply by the mask window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, cols] += dout[:, :, i, j][:, :, None, None]
    return dx
