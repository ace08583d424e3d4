"""Recurrent networks: tanh RNN and LSTM steps and sequences, hand-derived (cs231n API).

Shape letters: N batch, T timesteps, D input features, H hidden units. ⊙ is the elementwise
product, σ the logistic sigmoid. Everything is vectorised over the batch; the loop over time is
the algorithm itself (each step needs the previous state forward, and the next step's gradient
backward). Backward passes never modify dout or the cache, and return fresh arrays.
"""

from typing import NamedTuple

import numpy as np

from ._stable import ignore_underflow
from ._stable import sigmoid as _sigmoid

__all__ = [
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
]


class RNNStepCache(NamedTuple):
    """Values saved by `rnn_step_forward` for `rnn_step_backward`."""

    x: np.ndarray  # (N, D) this step's input
    prev_h: np.ndarray  # (N, H) the previous hidden state
    Wx: np.ndarray  # (D, H)
    Wh: np.ndarray  # (H, H)
    next_h: np.ndarray  # (N, H) tanh(a), whose derivative is 1 - next_h²


class RNNCache(NamedTuple):
    """Values saved by `rnn_forward` for `rnn_backward`: one step cache per timestep."""

    steps: list  # T RNNStepCache, in time order
    x_shape: tuple  # (N, T, D)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """Compute one step of a tanh RNN: next_h = tanh(x Wx + prev_h Wh + b).

    x: (N, D); prev_h: (N, H); Wx: (D, H); Wh: (H, H); b: (H,)
    next_h: (N, H)
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, RNNStepCache(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, next_h=next_h)


def rnn_step_backward(dnext_h, cache):
    """Compute the gradients of one tanh RNN step w.r.t. x, prev_h, Wx, Wh and b.

    dnext_h: (N, H); returns dx: (N, D), dprev_h: (N, H), dWx: (D, H), dWh: (H, H), db: (H,)

    With a = x Wx + prev_h Wh + b and next_h = tanh(a):
        da      = dnext_h ⊙ (1 - next_h²)          (N, H)
        dx      = da Wxᵀ                           (N, D)
        dprev_h = da Whᵀ                           (N, H)
        dWx     = xᵀ da                            (D, H)
        dWh     = prev_hᵀ da                       (H, H)
        db      = daᵀ 1  (sum over the batch)      (H,)
    """
    t = cache.next_h
    da = dnext_h * ((1.0 - t) * (1.0 + t))  # factored 1 - t²: accurate near |t| = 1
    dx = da @ cache.Wx.T
    dprev_h = da @ cache.Wh.T
    dWx = cache.x.T @ da
    dWh = cache.prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a tanh RNN over a whole sequence: h[:, t] = tanh(x[:, t] Wx + h[:, t-1] Wh + b).

    x: (N, T, D); h0: (N, H) the state before the first step; Wx: (D, H); Wh: (H, H); b: (H,)
    h: (N, T, H), the hidden state after each step (h0 itself is not included).
    """
    n, steps, _ = x.shape
    h = np.empty((n, steps, Wh.shape[0]), dtype=np.result_type(x, h0, Wx, Wh, b))
    caches = []
    prev_h = h0
    for t in range(steps):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(step_cache)
    return h, RNNCache(steps=caches, x_shape=x.shape)


def rnn_backward(dh, cache):
    """Backpropagate through time: the gradients of a tanh RNN w.r.t. x, h0, Wx, Wh and b.

    dh: (N, T, H), the upstream gradient of each timestep's own output h[:, t] only.
    Returns dx: (N, T, D), dh0: (N, H), dWx: (D, H), dWh: (H, H), db: (H,).

    h[:, t] reaches the loss directly and through every later step, so the gradient reaching it
    is its own upstream gradient plus what step t+1 sends back through its prev_h:
        g_T = dh[:, T-1]                                   (N, H) (nothing flows from step T)
        g_t = dh[:, t] + da_{t+1} Whᵀ         for t < T-1   (N, H) (carried dprev_h)
        da_t = g_t ⊙ (1 - h[:, t]²)                        (N, H)
    and each step's local gradients (rnn_step_backward) are then
        dx[:, t] = da_t Wxᵀ,  dh0 = da_0 Whᵀ
        dWx = Σ_t x[:, t]ᵀ da_t,  dWh = Σ_t h[:, t-1]ᵀ da_t (h[:, -1] = h0),  db = Σ_t da_tᵀ 1
    The parameters are shared by every step, so their gradients are sums over t.
    """
    steps = cache.steps
    first = steps[0]
    dtype = np.result_type(dh, first.Wx, first.next_h)
    dx = np.empty(cache.x_shape, dtype=dtype)
    dWx = np.zeros(first.Wx.shape, dtype=dtype)
    dWh = np.zeros(first.Wh.shape, dtype=dtype)
    db = np.zeros(first.Wh.shape[0], dtype=dtype)
    dprev_h = np.zeros(first.prev_h.shape, dtype=dtype)  # nothing flows back from step T
    for t in reversed(range(len(steps))):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, steps[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


# ---------------------------------------------------------------- LSTM


class LSTMStepCache(NamedTuple):
    """Values saved by `lstm_step_forward` for `lstm_step_backward`."""

    x: np.ndarray  # (N, D) this step's input
    prev_h: np.ndarray  # (N, H)
    prev_c: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    i: np.ndarray  # (N, H) input gate σ(a_i)
    f: np.ndarray  # (N, H) forget gate σ(a_f)
    o: np.ndarray  # (N, H) output gate σ(a_o)
    g: np.ndarray  # (N, H) candidate tanh(a_g)
    tanh_c: np.ndarray  # (N, H) tanh(next_c)


class LSTMCache(NamedTuple):
    """Values saved by `lstm_forward` for `lstm_backward`: one step cache per timestep."""

    steps: list  # T LSTMStepCache, in time order
    x_shape: tuple  # (N, T, D)


@ignore_underflow
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Compute one LSTM step: the next hidden and cell states.

    x: (N, D); prev_h: (N, H); prev_c: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,)
    Returns next_h: (N, H), next_c: (N, H), cache.

        a = x Wx + prev_h Wh + b, split along axis 1 into four (N, H) blocks in the order i, f, o, g
        i = σ(a_i),  f = σ(a_f),  o = σ(a_o),  g = tanh(a_g)
        next_c = f ⊙ prev_c + i ⊙ g
        next_h = o ⊙ tanh(next_c)
    """
    hidden = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = _sigmoid(a[:, :hidden])
    f = _sigmoid(a[:, hidden:2 * hidden])
    o = _sigmoid(a[:, 2 * hidden:3 * hidden])
    g = np.tanh(a[:, 3 * hidden:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = LSTMStepCache(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh,
                          i=i, f=f, o=o, g=g, tanh_c=tanh_c)
    return next_h, next_c, cache


@ignore_underflow
def lstm_step_backward(dnext_h, dnext_c, cache):
    """Compute the gradients of one LSTM step w.r.t. x, prev_h, prev_c, Wx, Wh and b.

    dnext_h: (N, H), dnext_c: (N, H) the upstream gradients of both outputs.
    Returns dx: (N, D), dprev_h: (N, H), dprev_c: (N, H), dWx: (D, 4H), dWh: (H, 4H), db: (4H,).

    next_c reaches the loss directly (dnext_c) and through next_h = o ⊙ tanh(next_c):
        dc      = dnext_c + dnext_h ⊙ o ⊙ (1 - tanh(next_c)²)      (N, H) (a new array)
        do      = dnext_h ⊙ tanh(next_c)
        di      = dc ⊙ g,   df = dc ⊙ prev_c,   dg = dc ⊙ i
        dprev_c = dc ⊙ f                                          (the cell's own path)
    through the gate nonlinearities (σ' = σ(1 - σ), tanh' = 1 - tanh²):
        da = [di ⊙ i(1-i), df ⊙ f(1-f), do ⊙ o(1-o), dg ⊙ (1-g²)]  (N, 4H), order i, f, o, g
    and through a = x Wx + prev_h Wh + b:
        dx = da Wxᵀ,  dprev_h = da Whᵀ,  dWx = xᵀ da,  dWh = prev_hᵀ da,  db = daᵀ 1
    """
    i, f, o, g, tanh_c = cache.i, cache.f, cache.o, cache.g, cache.tanh_c
    dc = dnext_c + dnext_h * o * ((1.0 - tanh_c) * (1.0 + tanh_c))  # never dnext_c += …
    do = dnext_h * tanh_c
    da = np.concatenate(
        (
            dc * g * i * (1.0 - i),
            dc * cache.prev_c * f * (1.0 - f),
            do * o * (1.0 - o),
            dc * i * ((1.0 - g) * (1.0 + g)),
        ),
        axis=1,
    )
    dprev_c = dc * f
    dx = da @ cache.Wx.T
    dprev_h = da @ cache.Wh.T
    dWx = cache.x.T @ da
    dWh = cache.prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a whole sequence from hidden state h0 and a zero cell state.

    x: (N, T, D); h0: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,)
    h: (N, T, H), the hidden state after each step (neither h0 nor any cell state is returned).

        (h[:, t], c_t) = lstm_step(x[:, t], h[:, t-1], c_{t-1}),  h[:, -1] = h0,  c_{-1} = 0
    """
    n, steps, _ = x.shape
    h = np.empty((n, steps, Wh.shape[0]), dtype=np.result_type(x, h0, Wx, Wh, b))
    caches = []
    prev_h, prev_c = h0, np.zeros_like(h0, dtype=h.dtype)
    for t in range(steps):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(step_cache)
    return h, LSTMCache(steps=caches, x_shape=x.shape)


def lstm_backward(dh, cache):
    """Backpropagate through time: the gradients of an LSTM w.r.t. x, h0, Wx, Wh and b.

    dh: (N, T, H), the upstream gradient of each timestep's own output h[:, t] only.
    Returns dx: (N, T, D), dh0: (N, H), dWx: (D, 4H), dWh: (H, 4H), db: (4H,) (no dc0: the
    initial cell state is the constant 0).

    Step t's two outputs feed step t+1, so step t receives, besides dh[:, t],
    what step t+1 sends back through its prev_h and its prev_c:
        (dnext_h, dnext_c)_{T-1} = (dh[:, T-1], 0)
        (dnext_h, dnext_c)_t     = (dh[:, t] + dprev_h_{t+1}, dprev_c_{t+1})     for t < T-1
    where (dx[:, t], dprev_h_t, dprev_c_t, dWx_t, dWh_t, db_t) = lstm_step_backward(…)_t; then
        dh0 = dprev_h_0,  dWx = Σ_t dWx_t,  dWh = Σ_t dWh_t,  db = Σ_t db_t
    """
    steps = cache.steps
    first = steps[0]
    dtype = np.result_type(dh, first.Wx, first.i)
    dx = np.empty(cache.x_shape, dtype=dtype)
    dWx = np.zeros(first.Wx.shape, dtype=dtype)
    dWh = np.zeros(first.Wh.shape, dtype=dtype)
    db = np.zeros(first.Wh.shape[1], dtype=dtype)
    dprev_h = np.zeros(first.prev_h.shape, dtype=dtype)  # nothing flows back from step T
    dprev_c = np.zeros(first.prev_h.shape, dtype=dtype)
    for t in reversed(range(len(steps))):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, steps[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
