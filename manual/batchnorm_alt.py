"""Batch normalisation's backward pass, derived once more as a single expression for dx."""

import numpy as np

from .normalization import BatchnormCache

__all__ = ["batchnorm_backward_alt"]


def batchnorm_backward_alt(dout: np.ndarray, cache: BatchnormCache):
    """Compute the gradients of batch normalisation w.r.t. x, gamma and beta, simplified.

    dout: (N, D); cache: `batchnorm_forward`'s; returns dx: (N, D), dgamma: (D,), dbeta: (D,).

    Train mode: out = gamma * xhat + beta with xhat = (x - mu) * inv_std over the batch. Pushing
    dxhat = gamma * dout through xhat's dependence on x via mu and var (d mu / dx = 1/N,
    d var / dx = 2 (x - mu) / N) and collecting terms, everything folds into one expression:
      dx = gamma * inv_std * (dout - mean_0(dout) - xhat * mean_0(dout * xhat))
    (the N's cancel: no dmu or dvar intermediate is needed). Test mode, with the running
    statistics constant: dx = gamma * inv_std * dout.
      dgamma = (dout * xhat).sum(0), dbeta = dout.sum(0)
    """
    xhat, gamma, inv_std = cache.xhat, cache.gamma, cache.inv_std
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    if cache.mode == "train":
        dx = gamma * inv_std * (dout - dout.mean(axis=0) - xhat * (dout * xhat).mean(axis=0))
    else:
        dx = gamma * inv_std * dout
    return dx, dgamma, dbeta
