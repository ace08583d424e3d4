"""temporal softmax loss takes log of a probability that underflowed: log(p[y]) with p[y] = 0 for
a confident wrong answer (score gaps above ~745), where log-softmax stays finite.

x: (N, T, V) scores; y: (N, T) targets; mask: (N, T) boolean. The max shift is there and dx is
right; the loss is inf (or nan once multiplied by a False mask entry: 0 · inf). This is how the
course's own given temporal_softmax_loss computes it, so the forward check warns, naming it.
"""

import numpy as np

LAYER = "temporal_softmax_loss"
BROKEN = ("temporal_softmax_loss",)
DIAGNOSIS = "log of a probability that underflowed"
CATCHES = ()
#: cs231n's own given temporal_softmax_loss does this: a warning naming it, not a failure
#: (``Layer.beyond_contract``); its dx is right and still judged.
WARNS = ("forward",)


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat, y_flat, mask_flat = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T)
    e = np.exp(x_flat - x_flat.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N  # mistake: log-softmax
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat *= mask_flat[:, None] / N
    return loss, dx_flat.reshape(N, T, V)
