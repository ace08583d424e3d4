"""Twins of classic wrong layers, for diagnosis: forward values only, like every twin here.

Each takes the same arguments as the right twin it shadows and computes the layer as the mistake
does; the registry lists them in its records (``Layer.mistakes``), and a failure whose values equal
one of them (or whose gradients equal its ``jax.vjp``) is named. A mistake made in a backward alone
is a twin with the right values and a wrong derivative: ``lax.stop_gradient`` cuts the path the
backward forgot. Nothing here is a derivative.
"""

import jax
import jax.numpy as jnp
from jax import lax

from .convolution import conv
from .dropout import dropout
from .embedding import temporal_softmax_loss
from .recurrent import rnn_step
from .spatial import spatial_batchnorm

__all__ = [
    "conv_flipped_kernel", "conv_stride_ignored", "max_pool_whole_window",
    "max_pool_overlap_assigned",
    "spatial_batchnorm_per_pixel", "spatial_groupnorm_strided_groups", "dropout_not_inverted",
    "dropout_scaled_at_test", "dropout_drop_probability", "lstm_step_gates_ifgo",
    "lstm_step_without_cell_path", "rnn_not_accumulated", "rnn_h0_for_prev_h",
    "temporal_softmax_loss_dx_unmasked", "temporal_softmax_loss_over_mask_sum",
    "word_embedding_last_occurrence",
]


def conv_flipped_kernel(x, w, b, conv_param):
    """A textbook convolution: the kernel flipped, w[:, :, ::-1, ::-1]. Shapes as ``conv``."""
    return conv(x, jnp.asarray(w)[:, :, ::-1, ::-1], b, conv_param)


def conv_stride_ignored(x, w, b, conv_param):
    """Output (i, j) reading the window at (i, j) instead of (stride·i, stride·j): the stride-1
    convolution's first H' × W' outputs. Shapes as ``conv``."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, h, wd = jnp.shape(x)
    _, _, hh, ww = jnp.shape(w)
    ho, wo = 1 + (h + 2 * pad - hh) // stride, 1 + (wd + 2 * pad - ww) // stride
    return conv(x, w, b, {"stride": 1, "pad": pad})[:, :, :ho, :wo]


def max_pool_whole_window(x, pool_param):
    """Each window's sum: its gradient reaches every entry of the window, not only the maximum.
    Shapes as ``max_pool``."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return lax.reduce_window(jnp.asarray(x), 0.0, lax.add, (1, 1, ph, pw), (1, 1, stride, stride),
                             "VALID")


def _normalised(x, axes, eps):
    """(x − mean) / sqrt(var + eps) over ``axes`` (the mean with one correction step)."""
    mu = jnp.mean(x, axis=axes, keepdims=True)
    mu = mu + jnp.mean(x - mu, axis=axes, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=axes, keepdims=True)
    return (x - mu) / jnp.sqrt(var + eps)


def spatial_batchnorm_per_pixel(x, gamma, beta, bn_param):
    """Train mode normalises each (c, h, w) over the batch alone (plain batchnorm on
    (N, C·H·W)); test mode is right. Shapes as ``spatial_batchnorm``."""
    if bn_param["mode"] != "train":
        return spatial_batchnorm(x, gamma, beta, bn_param)
    xhat = _normalised(jnp.asarray(x), (0,), bn_param.get("eps", 1e-5))
    return jnp.asarray(gamma)[:, None, None] * xhat + jnp.asarray(beta)[:, None, None]


def spatial_groupnorm_strided_groups(x, gamma, beta, G, gn_param):
    """Groups of channels g, g + G, g + 2G, … (x.reshape(N, C // G, G, H, W)) instead of C/G
    consecutive channels. Shapes as ``spatial_groupnorm``."""
    x = jnp.asarray(x)
    n, c, h, w = x.shape
    strided = x.reshape(n, c // G, G, h * w)
    xhat = _normalised(strided, (1, 3), gn_param.get("eps", 1e-5)).reshape(x.shape)
    return gamma * xhat + beta


def dropout_not_inverted(x, dropout_param, kept):
    """Train mode keeps x ⊙ mask without dividing by p; test mode is the identity."""
    if dropout_param["mode"] == "train":
        return jnp.asarray(x) * jnp.asarray(kept)
    return dropout(x, dropout_param, kept)


def dropout_scaled_at_test(x, dropout_param, kept):
    """Inverted dropout in training, and x · p at test time as well."""
    if dropout_param["mode"] == "test":
        return jnp.asarray(x) * dropout_param["p"]
    return dropout(x, dropout_param, kept)


def dropout_drop_probability(x, dropout_param, kept):
    """p read as the drop probability: kept entries divided by 1 − p in training."""
    if dropout_param["mode"] == "train":
        return jnp.asarray(x) * jnp.asarray(kept) / (1 - dropout_param["p"])
    return dropout(x, dropout_param, kept)


def lstm_step_gates_ifgo(x, prev_h, prev_c, Wx, Wh, b):
    """The gates split in PyTorch's order i, f, g, o instead of i, f, o, g. Shapes as
    ``lstm_step``."""
    a = x @ Wx + prev_h @ Wh + b
    a_i, a_f, a_g, a_o = jnp.split(a, 4, axis=1)
    next_c = jax.nn.sigmoid(a_f) * prev_c + jax.nn.sigmoid(a_i) * jnp.tanh(a_g)
    next_h = jax.nn.sigmoid(a_o) * jnp.tanh(next_c)
    return next_h, next_c


def lstm_step_without_cell_path(x, prev_h, prev_c, Wx, Wh, b):
    """The right values; dnext_c reaches the gates but not prev_c (f ⊙ dnext_c missing from
    dprev_c), while dnext_h's path through next_c reaches both. Shapes as ``lstm_step``."""
    a = x @ Wx + prev_h @ Wh + b
    a_i, a_f, a_o, a_g = jnp.split(a, 4, axis=1)
    i, f, o, g = jax.nn.sigmoid(a_i), jax.nn.sigmoid(a_f), jax.nn.sigmoid(a_o), jnp.tanh(a_g)
    next_c = f * prev_c + i * g
    return o * jnp.tanh(next_c), f * lax.stop_gradient(prev_c) + i * g


def rnn_not_accumulated(x, h0, Wx, Wh, b):
    """The right values; no gradient flows from step t back to step t − 1 (each step is fed
    dh[:, t] alone). Shapes as ``rnn``."""
    def step(prev_h, x_t):
        next_h = rnn_step(x_t, prev_h, Wx, Wh, b)
        return lax.stop_gradient(next_h), next_h

    _, hs = lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


def rnn_h0_for_prev_h(x, h0, Wx, Wh, b):
    """The right values; dWh accumulates h0ᵀ da_t, as if h0 were every step's previous state.
    Shapes as ``rnn``."""
    held = lax.stop_gradient(h0)

    def step(prev_h, x_t):
        recurrent = (prev_h @ lax.stop_gradient(Wh) + held @ Wh
                     - lax.stop_gradient(held @ Wh))
        next_h = jnp.tanh(x_t @ Wx + recurrent + b)
        return next_h, next_h

    _, hs = lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


def temporal_softmax_loss_dx_unmasked(x, y, mask):
    """The right loss; its gradient reaches the masked timesteps too. Shapes as
    ``temporal_softmax_loss``."""
    logp = jax.nn.log_softmax(x, axis=-1)
    picked = jnp.take_along_axis(logp, jnp.asarray(y)[..., None], axis=-1)[..., 0]
    hidden = jnp.where(jnp.asarray(mask, dtype=bool), 0.0, picked - lax.stop_gradient(picked))
    return temporal_softmax_loss(x, y, mask) - jnp.sum(hidden) / x.shape[0]


def temporal_softmax_loss_over_mask_sum(x, y, mask):
    """The masked loss divided by the number of unmasked entries, mask.sum(), instead of by N
    (0/0 when every entry is masked). Shapes as ``temporal_softmax_loss``."""
    return temporal_softmax_loss(x, y, mask) * x.shape[0] / jnp.sum(jnp.asarray(mask))


def word_embedding_last_occurrence(x, W):
    """The right values; only the last occurrence of each repeated id (row-major) sends its
    gradient to W, as NumPy's buffered dW[x] += dout does. Shapes as ``word_embedding``."""
    ids = jnp.asarray(x).reshape(-1)
    later = jnp.triu(jnp.ones((ids.size, ids.size), dtype=bool), k=1)
    last = ~jnp.any(later & (ids[:, None] == ids[None, :]), axis=1).reshape(jnp.shape(x))
    out = jnp.take(W, jnp.asarray(x), axis=0)
    return jnp.where(last[..., None], out, lax.stop_gradient(out))


def max_pool_overlap_assigned(x, pool_param):
    """The right values; each window's gradient is assigned (=), not added (+=): an entry keeps
    only what the last window covering it (row-major) sends — its dout if the entry is that
    window's maximum, else 0. Shapes as ``max_pool``."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    x = jnp.asarray(x)
    held = lax.stop_gradient(x)
    _, _, h, w = x.shape
    ho, wo = 1 + (h - ph) // stride, 1 + (w - pw) // stride

    def last(i, j, a, b):
        """Whether window (i, j) is the last (row-major) to cover its entry (a, b)."""
        r, c = i * stride + a, j * stride + b
        return not any(i2 * stride <= r < i2 * stride + ph and j2 * stride <= c < j2 * stride + pw
                       for i2 in range(ho) for j2 in range(wo) if (i2, j2) > (i, j))

    rows = []
    for i in range(ho):
        row = []
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            fixed = held[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            keep = jnp.array([[last(i, j, a, b) for b in range(pw)] for a in range(ph)])
            is_max = fixed == jnp.max(fixed, axis=(2, 3), keepdims=True)
            routed = jnp.sum(jnp.where(is_max & keep, window, 0.0), axis=(2, 3))
            row.append(routed - lax.stop_gradient(routed))
        rows.append(jnp.stack(row, axis=-1))
    return lax.reduce_window(held, -jnp.inf, lax.max, (1, 1, ph, pw), (1, 1, stride, stride),
                             "VALID") + jnp.stack(rows, axis=-2)
