"""layernorm's output divides by the bare standard deviation, x.std(axis=1): eps is dropped from
the output (the cache, computed above it, keeps it).

x: (N, D); gamma, beta: (D,); dout: (N, D). Off by about eps / (2 var) on every row (eps = 1e-5
by default), far off on nearly-constant rows, and 0 / 0 on a constant one (D = 1) — which is what
eps is for. The backward, fed the right cache, is right.
"""

import numpy as np

LAYER = "layernorm"
BROKEN = ("layernorm_forward",)
CATCHES = ("forward",)
DIAGNOSIS = ("output differs from the JAX twin", "invalid value")


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    centred = x - x.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    out = gamma * centred / x.std(axis=1, keepdims=True) + beta  # mistake: centred * inv_std
    return out, (centred * inv_std, inv_std, gamma)


def layernorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    d = dout.shape[1]
    g = dout * gamma
    dx = (inv_std / d) * (d * g - g.sum(axis=1, keepdims=True)
                          - xhat * (g * xhat).sum(axis=1, keepdims=True))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
