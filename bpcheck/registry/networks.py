"""Registry records for manual/networks.py (issue 3): whole-model losses, each (loss, grads).

Dimensions: N = dims.n examples; the widths (D inputs, H hidden, C outputs) come from three fixed
configurations, one per value of dims.d. In each, one width is 1 and no two are equal, so a
transposed weight gradient is a wrong shape, and every width takes the values 1, 3 and 4 somewhere.
A full product of widths would be 27 shapes × 2 batch sizes to compile per model (~0.2 s each) for
no extra power.
"""

from __future__ import annotations

import numpy as np

import bpcheck.jaxsetup  # noqa: F401  (float64 before any JAX array exists)
import reference
from bpcheck.kinks import hinge_margins
from bpcheck.layer import Layer
from bpcheck.sampling import Dims, Values

#: (D, H, C) configurations, chosen by dims.d (itself drawn from 1, 3, 4).
WIDTHS = {1: (1, 3, 4), 3: (3, 4, 1), 4: (4, 1, 3)}
#: The column model's activation, chosen by dims.c, so each meets every width configuration.
COLUMN_ACTIVATIONS = {1: "sigmoid", 3: "tanh", 4: "relu"}


def _widths(d: Dims) -> tuple[int, int, int]:
    return WIDTHS[d.d]


# Samplers: the loss's arguments, in its argument order.


def _linear_classifier_args(d: Dims, v: Values):
    D, _, C = _widths(d)
    return (v.real((D, C)), v.real((C,)), v.real((d.n, D)), v.labels(d.n, C), v.uniform(0.0, 0.1))


def _two_layer_net_args(d: Dims, v: Values):
    D, H, C = _widths(d)
    return (v.real((D, H)), v.real((H,)), v.real((H, C)), v.real((C,)),
            v.real((d.n, D)), v.labels(d.n, C), v.uniform(0.0, 0.1))


def _column_two_layer_args(d: Dims, v: Values):
    # Column convention: N examples are the columns of X (D, N) and Y (C, N).
    D, H, C = _widths(d)
    return (v.real((H, D)), v.real((H, 1)), v.real((C, H)), v.real((C, 1)),
            v.real((D, d.n)), v.real((C, d.n)), COLUMN_ACTIVATIONS[d.c])


def _bias_free_three_layer_args(d: Dims, v: Values):
    # Widths D -> H1 = H -> H2 = C -> K = D, on a minibatch of M = n rows.
    D, H, C = _widths(d)
    return (v.real((D, H)), v.real((H, C)), v.real((C, D)), v.real((d.n, D)), v.real((d.n, D)))


def _tanh_softmax_net_args(d: Dims, v: Values):
    D, H, C = _widths(d)
    one_hot = np.eye(C)[v.labels(d.n, C)]
    return (v.real((D, H)), v.real((H,)), v.real((H, C)), v.real((C,)), v.real((d.n, D)), one_hot)


#: NumPy forms of the activations, for the kink functions' forward passes.
_NUMPY_HIDDEN = {
    "relu": lambda z: np.maximum(z, 0.0), "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))), "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))),
    "softplus": lambda z: np.logaddexp(0.0, z), "identity": lambda z: z,
}

#: The deep column network's depth L, chosen by dims.c; its activations cycle through this list
#: from a start chosen by dims.d (so each activation appears at every depth).
DEPTHS = {1: 1, 3: 2, 4: 3}
DEEP_ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")


def _deep_column_net_args(d: Dims, v: Values):
    D, H, C = _widths(d)
    depth = DEPTHS[d.c]
    sizes = (D, *[H] * (depth - 1), C)
    start = sorted(WIDTHS).index(d.d)
    activations = tuple(DEEP_ACTIVATIONS[(start + i) % len(DEEP_ACTIVATIONS)] for i in range(depth))
    count = sum(fan_out * (fan_in + 1) for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    return v.real((count,)), v.real((D, d.n)), v.real((C, d.n)), sizes, activations


def _deep_column_kinks(theta, X, Y, sizes, activations):
    """The relu layers' pre-activations z_ℓ (where relu'(z) jumps), from a plain NumPy forward."""
    a, start, kinks = np.asarray(X), 0, []
    for fan_in, fan_out, name in zip(sizes[:-1], sizes[1:], activations):
        W = np.asarray(theta)[start:start + fan_out * fan_in].reshape(fan_out, fan_in)
        start += fan_out * fan_in
        z = W @ a + np.asarray(theta)[start:start + fan_out].reshape(fan_out, 1)
        start += fan_out
        if name == "relu":
            kinks.append(z.ravel())
        a = _NUMPY_HIDDEN[name](z)
    return np.concatenate(kinks) if kinks else np.ones(1)


#: The MLP's hidden activations cycle through these from a start chosen by dims.d; its loss is
#: chosen by (dims.d, dims.c) so that each loss meets every depth and every width configuration.
MLP_ACTIVATIONS = ("relu", "tanh", "leaky_relu", "sigmoid", "elu", "softplus")
MLP_LOSSES = ("softmax_loss", "svm_loss", "mse_loss")


def _mlp_args(d: Dims, v: Values):
    D, H, C = _widths(d)
    depth = DEPTHS[d.c]
    sizes = (D, *[H] * (depth - 1), C)
    start = sorted(WIDTHS).index(d.d)
    # Two hidden layers at most, so the cycle starts 2 apart: all six activations occur at depth 3.
    activations = tuple(MLP_ACTIVATIONS[(2 * start + i) % len(MLP_ACTIVATIONS)]
                        for i in range(depth - 1))
    loss = MLP_LOSSES[(start + sorted(DEPTHS).index(d.c)) % len(MLP_LOSSES)]
    count = sum(fan_out * (fan_in + 1) for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    y = v.real((d.n, C)) if loss == "mse_loss" else v.labels(d.n, C)
    return v.real((count,)), v.real((d.n, D)), y, sizes, activations, loss


def _mlp_kinks(theta, X, y, sizes, activations, loss):
    """Where the MLP is not differentiable: relu / leaky-relu pre-activations, and hinge margins."""
    a, start, kinks = np.asarray(X), 0, []
    theta = np.asarray(theta)
    layers = list(zip(sizes[:-1], sizes[1:]))
    for index, (fan_in, fan_out) in enumerate(layers):
        W = theta[start:start + fan_in * fan_out].reshape(fan_in, fan_out)
        start += fan_in * fan_out
        a = a @ W + theta[start:start + fan_out]
        start += fan_out
        if index < len(layers) - 1:
            if activations[index] in ("relu", "leaky_relu"):
                kinks.append(a.ravel())
            a = _NUMPY_HIDDEN[activations[index]](a)
    if loss == "svm_loss":
        kinks.append(hinge_margins(a, y).ravel())
    return np.concatenate(kinks) if kinks else np.ones(1)


# Kinks: the relu pre-activations (affine in the differentiable W1, b1).


def _two_layer_kinks(W1, b1, W2, b2, X, y, reg):
    return X @ W1 + b1


def _column_kinks(W1, b1, W2, b2, X, Y, activation):
    if activation == "relu":
        return W1 @ X + b1
    return np.ones((W1.shape[0], X.shape[1]))


NETWORKS: tuple[Layer, ...] = (
    Layer(
        "linear_classifier_loss", reference.linear_classifier_loss, _linear_classifier_args,
        differentiable=(0, 1), batched=(2, 3), magnitudes=(1.0,),
    ),
    Layer(
        "two_layer_net_loss", reference.two_layer_net_loss, _two_layer_net_args,
        differentiable=(0, 1, 2, 3), batched=(4, 5), kinks=_two_layer_kinks,
    ),
    Layer(
        "column_two_layer_loss", reference.column_two_layer_loss, _column_two_layer_args,
        differentiable=(0, 1, 2, 3), batched=(), kinks=_column_kinks,
    ),
    Layer(
        "deep_column_net_loss", reference.deep_column_net_loss, _deep_column_net_args,
        differentiable=(0,), batched=(), kinks=_deep_column_kinks,
    ),
    Layer(
        "mlp_loss", reference.mlp_loss, _mlp_args,
        differentiable=(0,), batched=(1, 2), kinks=_mlp_kinks,
    ),
    Layer(
        "bias_free_three_layer_loss", reference.bias_free_three_layer_loss,
        _bias_free_three_layer_args, differentiable=(0, 1, 2), batched=(3, 4),
    ),
    Layer(
        "tanh_softmax_net_loss", reference.tanh_softmax_net_loss, _tanh_softmax_net_args,
        differentiable=(0, 1, 2, 3), batched=(4, 5),
    ),
)

__all__ = ["NETWORKS"]
