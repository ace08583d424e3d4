"""The L-layer network in the column convention, trained by the δ recursion (NumPy only).

Examples are the columns of X. Layer ℓ = 1..L: z_ℓ = W_ℓ a_{ℓ-1} + b_ℓ, a_ℓ = σ_ℓ(z_ℓ), a_0 = X.
Cost C = (1/N) Σ_n ‖a_L − y_n‖².
"""

import numpy as np

from ._packing import pack, unpack
from ._stable import ignore_underflow
from ._stable import sigmoid as _sigmoid

__all__ = ["deep_column_net_loss", "deep_column_net_loss_and_grads"]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")


def _activate(name, z):
    """σ(z) and σ'(z), elementwise; relu'(0) = 0."""
    if name == "sigmoid":
        s = _sigmoid(z)
        return s, s * (1.0 - s)
    if name == "tanh":
        t = np.tanh(z)
        return t, (1.0 - t) * (1.0 + t)
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(z.dtype)
    if name == "identity":
        return z.copy(), np.ones_like(z)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


@ignore_underflow
def deep_column_net_loss_and_grads(Ws, bs, X, Y, activations):
    """Compute the cost of an L-layer column-convention network and its gradients.

    Ws[ℓ]: (n_ℓ, n_{ℓ-1}); bs[ℓ]: (n_ℓ, 1); X: (n_0, N); Y: (n_L, N); activations: L names.
    Returns (C, dWs, dbs) with dWs[ℓ] shaped like Ws[ℓ] and dbs[ℓ] like bs[ℓ].

    δ_L = (2/N)(a_L − Y) ⊙ σ'_L(z_L)
    δ_ℓ = (W_{ℓ+1}ᵀ δ_{ℓ+1}) ⊙ σ'_ℓ(z_ℓ)
    ∂C/∂W_ℓ = δ_ℓ a_{ℓ-1}ᵀ,   ∂C/∂b_ℓ = δ_ℓ · 1  (summed over the examples, the columns)
    """
    n = X.shape[1]
    a, inputs, slopes = X, [], []
    for W, b, name in zip(Ws, bs, activations):
        inputs.append(a)
        a, slope = _activate(name, W @ a + b)
        slopes.append(slope)
    cost = float(np.sum((a - Y) ** 2) / n)
    delta = (2.0 / n) * (a - Y) * slopes[-1]
    dWs, dbs = [None] * len(Ws), [None] * len(Ws)
    for layer in reversed(range(len(Ws))):
        dWs[layer] = delta @ inputs[layer].T
        dbs[layer] = delta.sum(axis=1, keepdims=True)
        if layer:
            delta = (Ws[layer].T @ delta) * slopes[layer - 1]
    return cost, dWs, dbs


def deep_column_net_loss(theta, X, Y, sizes, activations):
    """The same network with its parameters packed in one vector: (C, dθ).

    theta: (P,) = W_1, b_1, …, W_L, b_L flattened row-major; sizes: (n_0, …, n_L);
    activations: L names among sigmoid, tanh, relu, identity. dθ packs the gradients the same way.
    """
    shapes = [s for n_in, n_out in zip(sizes[:-1], sizes[1:]) for s in ((n_out, n_in), (n_out, 1))]
    params = unpack(theta, shapes)
    cost, dWs, dbs = deep_column_net_loss_and_grads(params[0::2], params[1::2], X, Y, activations)
    return cost, pack([g for pair in zip(dWs, dbs) for g in pair])
