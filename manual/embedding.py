"""Word embeddings, the temporal affine layer and the masked temporal softmax loss (cs231n API).

Shape letters: N batch, T timesteps, V vocabulary size (classes), D features, M outputs.
Token ids and targets are integers in [0, V); the mask is boolean (True: the entry counts).
Backward passes never modify dout or the cache, and return fresh arrays.
"""

from typing import NamedTuple

import numpy as np

from ._stable import exp_nonpos, ignore_underflow

__all__ = [
    "word_embedding_forward",
    "word_embedding_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
    "temporal_softmax_loss",
]


class WordEmbeddingCache(NamedTuple):
    """Values saved by `word_embedding_forward` for `word_embedding_backward`."""

    x: np.ndarray  # (N, T) integer token ids
    W: np.ndarray  # (V, D) the embedding matrix (its shape and dtype shape dW)


class TemporalAffineCache(NamedTuple):
    """Values saved by `temporal_affine_forward` for `temporal_affine_backward`."""

    x: np.ndarray  # (N, T, D)
    w: np.ndarray  # (D, M)


def word_embedding_forward(x, W):
    """Look up each token's embedding: out[n, t] = W[x[n, t]].

    x: (N, T) integers in [0, V); W: (V, D)
    out: (N, T, D)
    """
    return W[x], WordEmbeddingCache(x=x, W=W)


def word_embedding_backward(dout, cache):
    """Compute the gradient of the embedding lookup w.r.t. W (x, integer ids, gets none).

    dout: (N, T, D); returns dW: (V, D) alone, not a tuple.

    out = onehot(x) W with onehot(x): (N·T, V), so
        dW = onehot(x)ᵀ dout,  i.e. dW[v] = Σ_{(n, t): x[n, t] = v} dout[n, t]
    A word that occurs several times receives the sum of its rows' gradients: np.add.at
    accumulates over repeated ids, where dW[x] += dout would keep only one of them.
    """
    dW = np.zeros(cache.W.shape, dtype=np.result_type(cache.W, dout))
    np.add.at(dW, cache.x, dout)
    return dW


def temporal_affine_forward(x, w, b):
    """Apply one affine map at every timestep: out[:, t] = x[:, t] w + b.

    x: (N, T, D); w: (D, M); b: (M,)
    out: (N, T, M)
    """
    n, steps, features = x.shape
    out = (x.reshape(n * steps, features) @ w + b).reshape(n, steps, w.shape[1])
    return out, TemporalAffineCache(x=x, w=w)


def temporal_affine_backward(dout, cache):
    """Compute the gradients of the temporal affine layer w.r.t. x, w and b.

    dout: (N, T, M); returns dx: (N, T, D), dw: (D, M), db: (M,)

    With the N·T rows flattened, X: (N·T, D) and G = dout as (N·T, M):
        dx = G wᵀ  (reshaped to (N, T, D))
        dw = Xᵀ G          (a sum over every example and timestep)
        db = Gᵀ 1
    """
    x, w = cache.x, cache.w
    n, steps, features = x.shape
    g = dout.reshape(n * steps, w.shape[1])
    dx = (g @ w.T).reshape(n, steps, features)
    dw = x.reshape(n * steps, features).T @ g
    db = g.sum(axis=0)
    return dx, dw, db


@ignore_underflow
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Compute the masked softmax cross-entropy summed over time, averaged over the batch.

    x: (N, T, V) scores; y: (N, T) integer targets in [0, V); mask: (N, T) boolean.
    verbose: accepted for the course's signature; nothing is printed.
    Returns loss: scalar, dx: (N, T, V).

        loss = -(1/N) Σ_{n, t: mask[n, t]} log softmax(x[n, t])[y[n, t]]
        dx[n, t] = mask[n, t] (softmax(x[n, t]) - onehot(y[n, t])) / N
    Divided by N (the batch), not by the number of unmasked entries; dx is 0 where masked.
    log softmax is z - log Σ exp(z) with z = x - max(x): finite for any finite scores, where
    log(softmax) takes log(0) once a probability underflows (score gaps above ~745).
    """
    del verbose
    n, steps, classes = x.shape
    flat = x.reshape(n * steps, classes)
    targets = y.reshape(n * steps)
    keep = np.asarray(mask, dtype=bool).reshape(n * steps)
    rows = np.arange(n * steps)

    z = flat - flat.max(axis=1, keepdims=True)
    e = exp_nonpos(z)
    s = e.sum(axis=1, keepdims=True)
    logp = z - np.log(s)
    p = e / s

    loss = -np.where(keep, logp[rows, targets], 0.0).sum() / n
    dflat = p.copy()
    dflat[rows, targets] -= 1.0
    dx = np.where(keep[:, None], dflat, 0.0).reshape(n, steps, classes) / n
    return loss, dx
