"""The L-layer column-convention network in JAX: the cost only (gradients come from jax.vjp)."""

import jax
import jax.numpy as jnp

__all__ = ["deep_column_net_loss"]

_ACTIVATIONS = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu,
                "identity": lambda z: z}


def deep_column_net_loss(theta, X, Y, sizes, activations):
    """C = (1/N) Σ_n ‖a_L − y_n‖² for a_ℓ = σ_ℓ(W_ℓ a_{ℓ-1} + b_ℓ), a_0 = X (examples as columns).

    theta: (P,) packs W_1 (n_1, n_0), b_1 (n_1, 1), …, W_L, b_L row-major; sizes: (n_0, …, n_L);
    X: (n_0, N); Y: (n_L, N).
    """
    a, start = X, 0
    for fan_in, fan_out, name in zip(sizes[:-1], sizes[1:], activations):
        W = theta[start:start + fan_out * fan_in].reshape(fan_out, fan_in)
        start += fan_out * fan_in
        b = theta[start:start + fan_out].reshape(fan_out, 1)
        start += fan_out
        a = _ACTIVATIONS[name](W @ a + b)
    return jnp.sum((a - Y) ** 2) / X.shape[1]
