"""Recurrent networks in JAX: tanh RNN and LSTM steps and sequences, forward values only.

Same positional arguments as ``manual.recurrent``. Nothing here is a derivative: every gradient
comes from ``jax.vjp`` of these functions. Sequences run with ``lax.scan`` over the time axis, so
one traced program serves every T. Shape letters: N batch, T timesteps, D inputs, H hidden units.
"""

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["rnn_step", "rnn", "lstm_step", "lstm"]


def rnn_step(x, prev_h, Wx, Wh, b):
    """One tanh RNN step: next_h = tanh(x Wx + prev_h Wh + b).

    x: (N, D); prev_h: (N, H); Wx: (D, H); Wh: (H, H); b: (H,); returns next_h: (N, H).
    """
    return jnp.tanh(x @ Wx + prev_h @ Wh + b)


def rnn(x, h0, Wx, Wh, b):
    """A tanh RNN over a sequence: h[:, t] = rnn_step(x[:, t], h[:, t-1]), h[:, -1] = h0.

    x: (N, T, D); h0: (N, H); Wx: (D, H); Wh: (H, H); b: (H,); returns h: (N, T, H) without h0.
    """
    def step(prev_h, x_t):
        next_h = rnn_step(x_t, prev_h, Wx, Wh, b)
        return next_h, next_h

    _, hs = lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


def lstm_step(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step; gates split from a = x Wx + prev_h Wh + b in the order i, f, o, g.

    x: (N, D); prev_h, prev_c: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,).
    Returns (next_h, next_c), both (N, H):
        next_c = σ(a_f) ⊙ prev_c + σ(a_i) ⊙ tanh(a_g),  next_h = σ(a_o) ⊙ tanh(next_c)
    """
    a = x @ Wx + prev_h @ Wh + b
    a_i, a_f, a_o, a_g = jnp.split(a, 4, axis=1)
    next_c = jax.nn.sigmoid(a_f) * prev_c + jax.nn.sigmoid(a_i) * jnp.tanh(a_g)
    next_h = jax.nn.sigmoid(a_o) * jnp.tanh(next_c)
    return next_h, next_c


def lstm(x, h0, Wx, Wh, b):
    """An LSTM over a sequence from hidden state h0 and a zero cell state.

    x: (N, T, D); h0: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,); returns h: (N, T, H) without
    h0 (cell states are not returned).
    """
    def step(carry, x_t):
        next_h, next_c = lstm_step(x_t, *carry, Wx, Wh, b)
        return (next_h, next_c), next_h

    _, hs = lax.scan(step, (h0, jnp.zeros_like(h0)), jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)
