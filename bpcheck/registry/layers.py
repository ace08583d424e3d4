"""Records of the MLP layers and losses: affine, the activations, softmax, the losses, the
normalisations."""

from __future__ import annotations


import bpcheck.jaxsetup  # noqa: F401  (float64 before any JAX array exists)
import reference
from bpcheck.kinks import at_zero, hinge_margins
from bpcheck.layer import Layer
from bpcheck.sampling import Dims, Values, affine_input_shape

LARGE = (1.0, 40.0, 1e4)  # logits / pre-activations up to ±1e4 (overflow, log(0))


# Samplers: the forward's arguments from drawn dimensions, in the forward's argument order.


def _affine_args(d: Dims, v: Values):
    return v.real(affine_input_shape(d)), v.real((d.d, d.m)), v.real((d.m,))


def _elementwise_args(d: Dims, v: Values):
    return (v.real((d.n, *d.trailing)),)


def _leaky_relu_args(d: Dims, v: Values):
    return v.real((d.n, *d.trailing)), v.uniform(0.01, 0.5)


def _elu_args(d: Dims, v: Values):
    return v.real((d.n, *d.trailing)), v.uniform(0.1, 2.0)


def _last_axis_args(d: Dims, v: Values):
    return (v.real((d.n, 2, d.c) if d.split else (d.n, d.c)),)


def _logits_labels(d: Dims, v: Values):
    return v.real((d.n, d.c)), v.labels(d.n, d.c)


def _logits_targets(d: Dims, v: Values):
    return v.real((d.n, d.c)), v.probabilities(d.n, d.c)


def _regression_args(d: Dims, v: Values):
    return v.real((d.n, d.d)), v.real((d.n, d.d))


def _batchnorm_args(d: Dims, v: Values):
    # Half the examples leave eps and momentum to their documented defaults (1e-5, 0.9); the others
    # draw them away from those, so a key read wrongly (or not at all) shows.
    bn_param = {
        "mode": v.choice(("train", "test")),
        "running_mean": v.real((d.d,), scaled=False),
        "running_var": v.positive((d.d,)),
    }
    if v.choice((True, False)):
        bn_param.update(eps=v.uniform(1e-5, 1e-3), momentum=v.uniform(0.5, 0.99))
    return v.nearly_constant((d.n, d.d), axis=0), v.real((d.d,)), v.real((d.d,)), bn_param


def _train_mode(x, gamma, beta, bn_param) -> bool:
    """cs231n's starter code fills batchnorm's cache in train mode only: the protocol defines the
    backward there (test mode checks the forward, with the running statistics)."""
    return bn_param["mode"] == "train"


def _running_statistics(x, gamma, beta, bn_param):
    """Train mode writes the running statistics back into bn_param; test mode writes nothing."""
    return {3: ("running_mean", "running_var")} if bn_param["mode"] == "train" else {}


def _layernorm_args(d: Dims, v: Values):
    # ln_param's eps: its default 1e-5 (an empty dict) or a drawn one.
    ln_param = {"eps": v.uniform(1e-5, 1e-3)} if v.choice((True, False)) else {}
    return v.nearly_constant((d.n, d.d), axis=1), v.real((d.d,)), v.real((d.d,)), ln_param


LAYERS: tuple[Layer, ...] = (
    Layer("affine", reference.affine, _affine_args, differentiable=(0, 1, 2), batched=(0,)),
    Layer("relu", reference.relu, _elementwise_args, kinks=at_zero, elementwise=True),
    Layer("leaky_relu", reference.leaky_relu, _leaky_relu_args, kinks=at_zero, elementwise=True),
    Layer("elu", reference.elu, _elu_args, kinks=at_zero, magnitudes=LARGE, elementwise=True),
    Layer("sigmoid", reference.sigmoid, _elementwise_args, magnitudes=LARGE, elementwise=True),
    Layer("tanh", reference.tanh, _elementwise_args, magnitudes=LARGE, elementwise=True),
    Layer("softplus", reference.softplus, _elementwise_args, magnitudes=LARGE, elementwise=True),
    Layer("softmax", reference.softmax, _last_axis_args, magnitudes=LARGE),
    Layer("log_softmax", reference.log_softmax, _last_axis_args, magnitudes=LARGE),
    Layer("softmax_loss", reference.softmax_loss, _logits_labels, batched=(0, 1), magnitudes=LARGE),
    Layer(
        "cross_entropy_loss", reference.cross_entropy_loss, _logits_targets,
        batched=(0, 1), magnitudes=LARGE,
    ),
    Layer(
        "svm_loss", reference.svm_loss, _logits_labels,
        batched=(0, 1), kinks=hinge_margins, magnitudes=LARGE,
    ),
    Layer("mse_loss", reference.mse_loss, _regression_args, batched=(0, 1)),
    Layer(
        "batchnorm", reference.batchnorm, _batchnorm_args,
        differentiable=(0, 1, 2), batched=(), writes=_running_statistics,
        backward_in=_train_mode,
    ),
    Layer("layernorm", reference.layernorm, _layernorm_args, differentiable=(0, 1, 2), batched=(0,)),
)
