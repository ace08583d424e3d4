"""Word embeddings, the temporal affine layer and the masked temporal softmax loss in JAX.

Forward values only, same positional arguments as ``manual.embedding`` (the loss's ``verbose``
flag aside). Token ids, targets and the mask are arguments that get no gradient.
Shape letters: N batch, T timesteps, V vocabulary size (classes), D features, M outputs.
"""

import jax
import jax.numpy as jnp

__all__ = ["word_embedding", "temporal_affine", "temporal_softmax_loss"]


def word_embedding(x, W):
    """Look up each token's embedding: out[n, t] = W[x[n, t]].

    x: (N, T) integers in [0, V); W: (V, D); returns out: (N, T, D).
    """
    return jnp.take(W, jnp.asarray(x), axis=0)


def temporal_affine(x, w, b):
    """One affine map at every timestep: out[:, t] = x[:, t] w + b.

    x: (N, T, D); w: (D, M); b: (M,); returns out: (N, T, M).
    """
    return x @ w + b


def temporal_softmax_loss(x, y, mask):
    """The masked softmax cross-entropy summed over time, divided by N (not by the mask's sum).

    x: (N, T, V) scores; y: (N, T) integer targets in [0, V); mask: (N, T) boolean; a scalar.
    loss = -(1/N) Σ_{n, t: mask[n, t]} log_softmax(x[n, t])[y[n, t]]
    """
    logp = jax.nn.log_softmax(x, axis=-1)
    picked = jnp.take_along_axis(logp, jnp.asarray(y)[..., None], axis=-1)[..., 0]
    return -jnp.sum(jnp.where(jnp.asarray(mask, dtype=bool), picked, 0.0)) / x.shape[0]
