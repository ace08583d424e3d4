"""temporal softmax loss masks the loss but not dx: masked timesteps (padding after <END>) get
softmax(x) - onehot(y) where their gradient is 0.

x: (N, T, V) scores; y: (N, T) targets; mask: (N, T) boolean. The loss is right; dx is right
wherever mask is True, so an all-True mask hides the mistake.
"""

import numpy as np

LAYER = "temporal_softmax_loss"
BROKEN = ("temporal_softmax_loss",)
DIAGNOSIS = "mask not applied to dx"
CATCHES = ("vjp", "finite_differences")


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat, y_flat, mask_flat = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T)
    z = x_flat - x_flat.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -np.sum(mask_flat * logp[np.arange(N * T), y_flat]) / N
    dx_flat = np.exp(logp)
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N  # mistake: dx_flat *= mask_flat[:, None] is missing
    return loss, dx_flat.reshape(N, T, V)
