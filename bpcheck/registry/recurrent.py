"""Records of the recurrent family (issue 16; cs231n's rnn_layers.py): tanh RNN and LSTM steps and
sequences, word embeddings, the temporal affine layer and the masked temporal softmax loss.

Each record draws its own dimensions (``sizes``) from pools chosen to bound the JAX programs
compiled: N ∈ {1, 5}, T ∈ {1, 3} (T = 1 hides every mistake of the gradient carried between
timesteps; T = 3 carries it across two boundaries), and one width configuration per layer with
D ≠ H (a transposed dWx is a wrong shape; dWh is square, so its transpose is caught by value with
H = 2). A record draws 2 shapes (the steps: N) or 4 (the others: N × T), so each kind of compiled
program (forward, vjp, finite-difference stencil …) exists in at most 4 shapes per record: 24
shapes over the family's 7 records.

Large pre-activations come from the bias (and an LSTM step's prev_c), drawn at the style's
magnitude, while inputs, states and weights stay O(1). A saturated unit's derivative is computed
from its output on both sides (1 − t², σ(1 − σ)), and XLA's tanh differs from NumPy's by up to
7 ulps (measured over 2·10⁵ points in [0.5, 25]): tanh' then carries an absolute error of
~1.5e-15·|dout| whatever the saturation, which a large x would multiply into dWx = xᵀ da beyond
``ANALYTIC``'s atol although both sides are right to rounding (measured: x at scale 40 gave
|manual − jax.vjp| up to 1.8e-13 on gradients that are rounding noise; the bias at scale 40 with
x O(1), at most 1.0e-14).
"""

from __future__ import annotations

import numpy as np

import bpcheck.jaxsetup  # noqa: F401  (float64 before any JAX array exists)
import reference
from bpcheck.layer import KnownMistake, Layer
from bpcheck.sampling import Sizes, Values, sizes

#: Pre-activation scales: 1, 10 (tanh and the gates partly saturated: |a| > 5 for ~60% of the
#: units, where a missing derivative factor still shows) and 1e3 (every unit saturated; exp(±1e3)
#: overflows a naive sigmoid).
SATURATING = (1.0, 10.0, 1e3)
#: Scores of the temporal softmax loss up to ±1e4: a probability underflows to exactly 0, so a
#: loss that takes log(softmax) is inf where log-softmax is finite.
LARGE_SCORES = (1.0, 40.0, 1e4)
#: cs231n gives students temporal_softmax_loss, and its loss takes log of a probability: at
#: scores of ±1e4 one underflows to 0 and the loss is inf (its dx stays right). Their own code is
#: not a mistake of theirs, so there it is a warning (docs: protocol).
LOG_OF_UNDERFLOW = ("log of a probability that underflowed to 0 (as in cs231n's given "
                    "temporal_softmax_loss); log-softmax, x − max − log Σ exp, stays finite")

BATCH = (1, 5)
STEPS = (1, 3)

STEP_DIMS = sizes(n=BATCH, d=(3,), h=(2,))
SEQUENCE_DIMS = sizes(n=BATCH, t=STEPS, d=(3,), h=(2,))
#: A vocabulary of V = 3 words: a batch of N·T ≥ 4 tokens repeats some.
EMBEDDING_DIMS = sizes(n=BATCH, t=STEPS, v=(3,), d=(2,))
AFFINE_DIMS = sizes(n=BATCH, t=STEPS, d=(3,), m=(4,))
LOSS_DIMS = sizes(n=BATCH, t=STEPS, v=(4,))


# Samplers: the forward's arguments from drawn dimensions, in the forward's argument order.


def _rnn_step_args(s: Sizes, v: Values):
    return (v.real((s.n, s.d), scaled=False), v.real((s.n, s.h), scaled=False),
            v.real((s.d, s.h), scaled=False), v.real((s.h, s.h), scaled=False), v.real((s.h,)))


def _rnn_args(s: Sizes, v: Values):
    return (v.real((s.n, s.t, s.d), scaled=False), v.real((s.n, s.h), scaled=False),
            v.real((s.d, s.h), scaled=False), v.real((s.h, s.h), scaled=False), v.real((s.h,)))


def _lstm_step_args(s: Sizes, v: Values):
    # prev_c at the style's magnitude too: |next_c| large saturates tanh(next_c).
    return (v.real((s.n, s.d), scaled=False), v.real((s.n, s.h), scaled=False),
            v.real((s.n, s.h)), v.real((s.d, 4 * s.h), scaled=False),
            v.real((s.h, 4 * s.h), scaled=False), v.real((4 * s.h,)))


def _lstm_args(s: Sizes, v: Values):
    return (v.real((s.n, s.t, s.d), scaled=False), v.real((s.n, s.h), scaled=False),
            v.real((s.d, 4 * s.h), scaled=False), v.real((s.h, 4 * s.h), scaled=False),
            v.real((4 * s.h,)))


def _token_ids(s: Sizes, v: Values) -> np.ndarray:
    """x: (N, T) integers in [0, V), with at least one id repeated whenever N·T ≥ 2."""
    x = v.rng.integers(0, s.v, size=(s.n, s.t))
    if x.size >= 2:
        x.flat[-1] = x.flat[0]
    return x


def _word_embedding_args(s: Sizes, v: Values):
    return _token_ids(s, v), v.real((s.v, s.d))


def _temporal_affine_args(s: Sizes, v: Values):
    return v.real((s.n, s.t, s.d)), v.real((s.d, s.m)), v.real((s.m,))


def _mask(s: Sizes, v: Values) -> np.ndarray:
    """mask: (N, T) boolean; with N ≥ 2 one row fully masked and one fully unmasked (random
    rows), the others random; with N = 1 all True, all False or random, a third each."""
    mask = v.rng.random((s.n, s.t)) < 0.5
    if s.n >= 2:
        rows = v.rng.permutation(s.n)
        mask[rows[0]], mask[rows[1]] = True, False
    else:
        mask[0] = v.choice((np.ones(s.t, bool), np.zeros(s.t, bool), mask[0]))
    return mask


def _temporal_softmax_args(s: Sizes, v: Values):
    return (v.real((s.n, s.t, s.v)), _token_ids(s, v), _mask(s, v))


# Known mistakes, named when a failure matches their twins exactly.

RNN_MISTAKES = (
    KnownMistake("the gradient flowing back between timesteps is not accumulated across "
                 "timesteps: step t must get dh[:, t] plus the dprev_h that step t + 1 returned",
                 twin=reference.rnn_not_accumulated),
    KnownMistake("dWh accumulates h0ᵀ da_t: h0 used in place of h[t-1] as each step's previous "
                 "hidden state", twin=reference.rnn_h0_for_prev_h),
)
LSTM_STEP_MISTAKES = (
    KnownMistake("gates in the order i, f, g, o (PyTorch's) found, where cs231n splits "
                 "a = x Wx + prev_h Wh + b into i, f, o, g", twin=reference.lstm_step_gates_ifgo),
    KnownMistake("dprev_c misses f ⊙ dnext_c, the gradient reaching prev_c straight through "
                 "next_c = f ⊙ prev_c + i ⊙ g", twin=reference.lstm_step_without_cell_path),
)
WORD_EMBEDDING_MISTAKES = (
    KnownMistake("dW keeps one row per id where repeated ids must add up: dW[x] += dout does not "
                 "accumulate repeated ids (NumPy buffers fancy indexing); use np.add.at(dW, x, "
                 "dout)", twin=reference.word_embedding_last_occurrence),
)
TEMPORAL_SOFTMAX_MISTAKES = (
    KnownMistake("the mask not applied to dx: masked timesteps get softmax − onehot where their "
                 "gradient is 0", twin=reference.temporal_softmax_loss_dx_unmasked),
    KnownMistake("the loss divided by the number of unmasked entries (mask.sum()) where cs231n "
                 "divides by the batch size N", twin=reference.temporal_softmax_loss_over_mask_sum),
)

RECURRENT: tuple[Layer, ...] = (
    Layer("rnn_step", reference.rnn_step, _rnn_step_args, differentiable=(0, 1, 2, 3, 4),
          batched=(0, 1), dims=STEP_DIMS, magnitudes=SATURATING),
    Layer("rnn", reference.rnn, _rnn_args, differentiable=(0, 1, 2, 3, 4), batched=(0, 1),
          dims=SEQUENCE_DIMS, magnitudes=SATURATING, mistakes=RNN_MISTAKES),
    Layer("lstm_step", reference.lstm_step, _lstm_step_args, differentiable=(0, 1, 2, 3, 4, 5),
          batched=(0, 1, 2), dims=STEP_DIMS, magnitudes=SATURATING, outputs=("next_h", "next_c"),
          mistakes=LSTM_STEP_MISTAKES),
    Layer("lstm", reference.lstm, _lstm_args, differentiable=(0, 1, 2, 3, 4), batched=(0, 1),
          dims=SEQUENCE_DIMS, magnitudes=SATURATING),
    # x holds integer ids (no gradient): the backward returns dW alone.
    Layer("word_embedding", reference.word_embedding, _word_embedding_args, differentiable=(1,),
          batched=(0,), dims=EMBEDDING_DIMS, mistakes=WORD_EMBEDDING_MISTAKES),
    Layer("temporal_affine", reference.temporal_affine, _temporal_affine_args,
          differentiable=(0, 1, 2), batched=(0,), dims=AFFINE_DIMS),
    # y (integer targets) and mask (boolean) get no gradient; the loss sums over the rows and
    # divides by N, so it is the mean of the rows' own losses (what the batch check expects).
    Layer("temporal_softmax_loss", reference.temporal_softmax_loss, _temporal_softmax_args,
          batched=(0, 1, 2), dims=LOSS_DIMS, magnitudes=LARGE_SCORES,
          beyond_contract=(LARGE_SCORES[-1], "divide by zero encountered in log", LOG_OF_UNDERFLOW),
          mistakes=TEMPORAL_SOFTMAX_MISTAKES),
)
