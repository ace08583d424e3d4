"""Whole models in JAX: the scalar loss only, same positional arguments as ``manual.networks``.

No derivative is written here: every gradient comes from ``jax.vjp`` / ``jax.grad`` of these
functions. String arguments (the column model's activation) are static.
"""

import jax
import jax.numpy as jnp

from .losses import softmax_loss as _softmax_loss

__all__ = [
    "linear_classifier_loss",
    "two_layer_net_loss",
    "column_two_layer_loss",
    "bias_free_three_layer_loss",
    "tanh_softmax_net_loss",
]


def linear_classifier_loss(W, b, X, y, reg):
    """Softmax linear classifier with L2: W (D, C), b (C,), X (N, D), y (N,) labels; a scalar.

    L = softmax_loss(X W + b, y) + (1/2) reg sum(W²)
    """
    return _softmax_loss(X @ W + b, y) + 0.5 * reg * jnp.sum(W * W)


def two_layer_net_loss(W1, b1, W2, b2, X, y, reg):
    """affine - relu - affine - softmax with L2: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,),
    X (N, D), y (N,) labels; a scalar.

    L = softmax_loss(relu(X W1 + b1) W2 + b2, y) + (1/2) reg (sum(W1²) + sum(W2²))
    """
    hidden = jax.nn.relu(X @ W1 + b1)
    scores = hidden @ W2 + b2
    return _softmax_loss(scores, y) + 0.5 * reg * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2))


_ACTIVATIONS = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu}


def column_two_layer_loss(W1, b1, W2, b2, X, Y, activation):
    """Column convention (examples are columns): W1 (H, D), b1 (H, 1), W2 (C, H), b2 (C, 1),
    X (D, N), Y (C, N), activation in ('sigmoid', 'tanh', 'relu'); a scalar.

    C = (1/N) sum ‖W2 σ(W1 X + b1) + b2 - Y‖²
    """
    F = W2 @ _ACTIVATIONS[activation](W1 @ X + b1) + b2
    diff = F - Y
    return jnp.sum(diff * diff) / X.shape[1]


def bias_free_three_layer_loss(w1, w2, w3, x, y):
    """Bias-free tanh - tanh - identity net, rows are examples: w1 (D, H1), w2 (H1, H2),
    w3 (H2, K), x (M, D), y (M, K); a scalar.

    L = (1/M) sum ‖tanh(tanh(x w1) w2) w3 - y‖²
    """
    y_hat = jnp.tanh(jnp.tanh(x @ w1) @ w2) @ w3
    diff = y_hat - y
    return jnp.sum(diff * diff) / x.shape[0]


def tanh_softmax_net_loss(W1, b1, W2, b2, x, y):
    """tanh hidden layer + softmax cross-entropy with one-hot targets: W1 (D, H), b1 (H,),
    W2 (H, C), b2 (C,), x (N, D), y (N, C); a scalar.

    L = -(1/N) sum y ⊙ log_softmax(tanh(x W1 + b1) W2 + b2)
    """
    z2 = jnp.tanh(x @ W1 + b1) @ W2 + b2
    return -jnp.sum(y * jax.nn.log_softmax(z2, axis=1)) / x.shape[0]
