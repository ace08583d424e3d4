"""Convolution and max pooling: hand-derived forward and backward passes (cs231n's naive API).

Shapes: x (N, C, H, W) images, w (F, C, HH, WW) filters, b (F,) biases; out (N, F, H', W').
Every function is vectorised over the batch, the channels and the output pixels; the only Python
loops run over the HH × WW kernel offsets (or the pool offsets), a handful of iterations.
"""

from typing import NamedTuple

import numpy as np

__all__ = [
    "conv_forward_naive",
    "conv_backward_naive",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
]


class ConvCache(NamedTuple):
    """Values saved by `conv_forward_naive` for `conv_backward_naive`."""

    x_padded: np.ndarray  # (N, C, H + 2 pad, W + 2 pad), x with its zero border
    w: np.ndarray  # (F, C, HH, WW)
    stride: int
    pad: int


class MaxPoolCache(NamedTuple):
    """Values saved by `max_pool_forward_naive` for `max_pool_backward_naive`."""

    x_shape: tuple  # (N, C, H, W)
    argmax: np.ndarray  # (N, C, H', W') int: flat offset (i * pool_width + j) of each window's max
    pool_height: int
    pool_width: int
    stride: int


def _taps(offset, stride, count):
    """The slice picking, for kernel offset `offset`, the input row (or column) each of the
    `count` output positions reads: offset, offset + stride, ..., offset + stride * (count - 1)."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def _output_size(size, window, stride, what):
    """1 + (size - window) / stride, which must be a positive integer."""
    span = size - window
    if span < 0 or span % stride:
        raise ValueError(f"{what}: a window of {window} at stride {stride} does not tile "
                         f"a side of {size}")
    return 1 + span // stride


def conv_forward_naive(x, w, b, conv_param):
    """Compute the cross-correlation of x with each filter (no kernel flip), plus its bias.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,);
    conv_param: dict with 'stride' and 'pad' (symmetric zero padding of H and W).
    out: (N, F, H', W'), H' = 1 + (H + 2 pad - HH) / stride, W' = 1 + (W + 2 pad - WW) / stride;
    out[n, f, p, q] = b[f] + sum_{c,i,j} xp[n, c, stride p + i, stride q + j] w[f, c, i, j]
    with xp the padded x.
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = _output_size(xp.shape[2], hh, stride, "conv height")
    wo = _output_size(xp.shape[3], ww, stride, "conv width")
    out = np.zeros((x.shape[0], w.shape[0], ho, wo), dtype=np.result_type(x, w, b))
    for i in range(hh):
        for j in range(ww):
            patch = xp[:, :, _taps(i, stride, ho), _taps(j, stride, wo)]  # (N, C, H', W')
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    out += b[None, :, None, None]
    return out, ConvCache(x_padded=xp, w=w, stride=stride, pad=pad)


def conv_backward_naive(dout, cache):
    """Compute the gradients of the convolution layer w.r.t. x, w and b.

    dout: (N, F, H', W'); returns dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,).

    For each kernel offset (i, j), P_ij = xp[:, :, i::stride, j::stride] (H' × W' taps) is the
    patch that offset reads, and out = b + sum_ij w[:, :, i, j] ·_c P_ij, so
      dw[:, :, i, j] = sum_{n,p,q} dout[n, :, p, q] ⊗ P_ij[n, :, p, q]   (F × C)
      dP_ij = w[:, :, i, j].T ·_f dout, scattered back (+=, the taps of different offsets overlap
              when stride < kernel) into dxp at rows i::stride, columns j::stride
      dx = dxp[:, :, pad:pad + H, pad:pad + W]   (the padding's gradient is dropped)
      db = dout.sum(axis=(0, 2, 3))
    """
    xp, w, stride, pad = cache.x_padded, cache.w, cache.stride, cache.pad
    _, _, hh, ww = w.shape
    _, _, ho, wo = dout.shape
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dout))
    dw = np.empty(w.shape, dtype=np.result_type(w, dout))
    for i in range(hh):
        for j in range(ww):
            rows, cols = _taps(i, stride, ho), _taps(j, stride, wo)
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    h, wd = xp.shape[2] - 2 * pad, xp.shape[3] - 2 * pad
    dx = dxp[:, :, pad:pad + h, pad:pad + wd].copy()
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Compute the maximum of each pool window (no padding; windows may overlap).

    x: (N, C, H, W); pool_param: dict with 'pool_height', 'pool_width' and 'stride'.
    out: (N, C, H', W'), H' = 1 + (H - pool_height) / stride, W' alike;
    out[n, c, p, q] = max_{i,j} x[n, c, stride p + i, stride q + j].
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    ho = _output_size(x.shape[2], ph, stride, "pool height")
    wo = _output_size(x.shape[3], pw, stride, "pool width")
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(2, 3))
    windows = windows[:, :, _taps(0, stride, ho), _taps(0, stride, wo)]  # (N, C, H', W', ph, pw)
    flat = windows.reshape(*windows.shape[:4], ph * pw)
    argmax = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    cache = MaxPoolCache(x_shape=x.shape, argmax=argmax, pool_height=ph, pool_width=pw,
                         stride=stride)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Compute the gradient of max pooling w.r.t. x.

    dout: (N, C, H', W'); returns dx: (N, C, H, W).

    Each window passes its upstream gradient to the entry that attained its maximum (the first
    one in row-major order on a tie, a valid subgradient): with S_ij the 0/1 selector of
    "offset (i, j) is the window's argmax",
      dx[:, :, i::stride, j::stride] += dout * S_ij   for every pool offset (i, j);
    += because overlapping windows (stride < pool size) can send gradient to the same entry.
    """
    ph, pw, stride = cache.pool_height, cache.pool_width, cache.stride
    _, _, ho, wo = dout.shape
    dx = np.zeros(cache.x_shape, dtype=dout.dtype)
    for i in range(ph):
        for j in range(pw):
            selected = cache.argmax == i * pw + j
            dx[:, :, _taps(i, stride, ho), _taps(j, stride, wo)] += np.where(selected, dout, 0.0)
    return dx
