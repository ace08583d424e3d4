"""Convolution and max pooling in JAX: forward values only (gradients come from jax.vjp)."""

import jax.numpy as jnp
from jax import lax

__all__ = ["conv", "max_pool"]


def conv(x, w, b, conv_param):
    """Compute the cross-correlation of x with each filter (no kernel flip), plus its bias.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); conv_param: dict with 'stride' and 'pad'
    (ints, static under jit: symmetric zero padding of H and W).
    out: (N, F, H', W'), H' = 1 + (H + 2 pad - HH) / stride, W' alike.

    The padding is a jnp.pad before a 'VALID' convolution, not conv_general_dilated's padding
    argument: with the padding inside the convolution, the gradient w.r.t. x of some strided
    shapes (e.g. x (1, 1, 1, 4), w (1, 1, 3, 2), stride 2, pad 1) aborts the whole process in
    XLA's algebraic simplifier (jaxlib 0.10.2, CPU: "Window dimensions do not match RHS shape").
    Padded first, none of 1,342 shapes (H, W <= 5, HH, WW <= 4, stride <= 3, pad <= 2) does.
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = jnp.pad(jnp.asarray(x), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = lax.conv_general_dilated(
        xp, jnp.asarray(w), window_strides=(stride, stride), padding="VALID",
        dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=lax.Precision.HIGHEST,
    )
    return out + jnp.asarray(b)[None, :, None, None]


def max_pool(x, pool_param):
    """Compute the maximum of each pool window (no padding; windows may overlap).

    x: (N, C, H, W); pool_param: dict with 'pool_height', 'pool_width', 'stride' (ints, static).
    out: (N, C, H', W'), H' = 1 + (H - pool_height) / stride, W' alike. Its gradient is JAX's own
    (the window's maximum receives the window's upstream gradient).
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    x = jnp.asarray(x)
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, ph, pw), (1, 1, stride, stride),
                             "VALID")
