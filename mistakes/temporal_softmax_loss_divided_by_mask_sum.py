"""temporal softmax loss divided by the number of unmasked entries, mask.sum(), instead of by
the batch size N (cs231n's contract: summed over time, averaged over the batch).

x: (N, T, V) scores; y: (N, T) targets; mask: (N, T) boolean. Loss and dx share the wrong
factor N / mask.sum(), so dx is right for this loss and wrong for the contract's; a batch whose
every entry is masked divides 0 by 0.
"""

import numpy as np

LAYER = "temporal_softmax_loss"
BROKEN = ("temporal_softmax_loss",)
DIAGNOSIS = "divided by the number of unmasked entries"
CATCHES = ("forward", "vjp", "finite_differences", "batch")


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat, y_flat, mask_flat = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T)
    z = x_flat - x_flat.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    count = mask_flat.sum()  # mistake: divide by N
    loss = -np.sum(mask_flat * logp[np.arange(N * T), y_flat]) / count
    dx_flat = np.exp(logp)
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat *= mask_flat[:, None] / count
    return loss, dx_flat.reshape(N, T, V)
