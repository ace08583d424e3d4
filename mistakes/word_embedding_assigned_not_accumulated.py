"""word embedding backward writes dW[x] += dout: NumPy's buffered fancy-index assignment keeps one
row per repeated id instead of adding them up (np.add.at(dW, x, dout) accumulates).

x: (N, T) integer ids in [0, V); W: (V, D); dout: (N, T, D). Right when every id is distinct, so
only a check that draws repeated ids (a small vocabulary, a long sequence) sees it.
"""

import numpy as np

LAYER = "word_embedding"
BROKEN = ("word_embedding_backward",)
DIAGNOSIS = "repeated ids"
CATCHES = ("vjp", "finite_differences", "batch")


def word_embedding_forward(x, W):
    return W[x], (x, W.shape)


def word_embedding_backward(dout, cache):
    x, W_shape = cache
    dW = np.zeros(W_shape)
    dW[x] += dout  # mistake: np.add.at(dW, x, dout)
    return dW
