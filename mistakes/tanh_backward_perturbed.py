"""tanh backward off by a small, irregular amount (a seeded 1e-3 perturbation): a stand-in for a
mistake with no recognisable pattern.

x, dout: any shape. No factor, sign, transpose or axis explains it, so bpcheck must say that dx
differs and invent no cause. The perturbation neither scales with dout (zero dout, nonzero dx)
nor follows the rows (a batch's dx is not its rows' dx, each computed alone).
"""

import numpy as np

LAYER = "tanh"
BROKEN = ("tanh_backward",)
CATCHES = ("vjp", "finite_differences", "linearity", "batch")
DIAGNOSIS = "dx differs from jax.vjp"


def tanh_forward(x):
    t = np.tanh(x)
    return t, t


def tanh_backward(dout, cache):
    t = cache
    dx = dout * ((1.0 - t) * (1.0 + t))
    return dx + 1e-3 * np.random.default_rng(0).standard_normal(dx.shape)  # mistake: dx alone
