"""Inverted dropout in JAX, with the mask given: forward values only."""

import jax.numpy as jnp

__all__ = ["dropout"]


def dropout(x, dropout_param, kept):
    """Compute inverted dropout for a given mask (p is the keep probability).

    x: any shape; dropout_param: dict with 'p' and 'mode' ('train' or 'test', static);
    kept: boolean, x's shape: the entries the implementation kept (read from its own output).
    out: x * kept / p in train mode, x in test mode. Randomness is not reproduced here: the mask
    is an input, so jax.vjp gives the backward at the forward's own mask.
    """
    x = jnp.asarray(x)
    mode = dropout_param["mode"]
    if mode == "train":
        return x * jnp.asarray(kept) / dropout_param["p"]
    if mode == "test":
        return x
    raise ValueError(f"invalid dropout mode {mode!r}; expected 'train' or 'test'")
