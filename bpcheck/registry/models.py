"""Records of the course's whole models (issue 17): the linear classifiers, ``TwoLayerNet`` in both
APIs, ``FullyConnectedNet``, ``ThreeLayerConvNet`` and ``CaptioningRNN``, under their own names.

A model record is a loss (``Layer.model``): its arguments are the model's parameters (the
gradients, in the order of ``differentiable``), then its data and hyper-parameters. A class is
called through ``bpcheck.modelcall`` (built with keywords, its params replaced by the drawn
float64 arrays). The older ``classifiers/neural_net.py`` API's ``TwoLayerNet`` is registered as
``neural_net_TwoLayerNet`` (its module and class name; a package's file maps to it).

Where the course's years differ in the L2 factor (the linear classifiers and the older
TwoLayerNet: reg·ΣW² or 0.5·reg·ΣW²), the factor is read from the implementation's own loss
(``observed``, as a random layer's choices are) and the gradient judged as that loss's; a
property names the factor when it is reg·ΣW². A FullyConnectedNet with dropout is compared at
the mask its seed gives (``np.random.seed(seed)`` before each dropout layer's ``rand(N, H) <
p``, as the course's ``dropout_forward`` does).

Dimensions come from one fixed configuration per model, widths pairwise different (a transposed
gradient is a wrong shape), and N from two sizes: few distinct shapes, few compiled programs.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np

import bpcheck.jaxsetup  # noqa: F401  (float64 before any JAX array exists)
import reference
from bpcheck.floating_point import raise_floating_point_errors
from bpcheck.kinks import hinge_margins
from bpcheck.layer import KnownMistake, Layer, Property
from bpcheck.outcomes import Fail, Skip, Warn
from bpcheck.sampling import Sizes, Values, sizes
from bpcheck.tolerances import compare

CLASSIFIER_DIMS = sizes(n=(1, 5), d=(3,), c=(4,))
TWO_LAYER_DIMS = sizes(n=(1, 5), d=(3,), h=(5,), c=(4,))
#: Two hidden layers; batchnorm needs a batch, and its N couples the rows.
FC_DIMS = sizes(n=(4,), d=(3,), h1=(4,), h2=(5,), c=(2,))
CONV_DIMS = sizes(n=(1, 3), channels=(2,), size=(4,), filters=(3,), k=(3,), h=(5,), c=(4,))
CAPTION_DIMS = sizes(n=(1, 3), t=(3,), d=(3,), w=(2,), h=(2,), v=(4,))

#: Hyper-parameter pools. A regularisation strength of 0 hides every L2 mistake; a large one
#: makes them the bulk of the gradient.
REGS = (0.0, 0.3, 1.0)
NORMALIZATIONS = (None, "batchnorm", "layernorm")
KEEPS = (1.0, 0.5)


def _penalty(args) -> float:
    W, reg = args[0], args[3]
    return float(reg) * float(np.sum(np.asarray(W) ** 2))


# ------------------------------------------------------------- the L2 factor, read from the loss


def _factor_of(data_loss, penalty):
    """``observed`` for a loss whose L2 factor varies by year: 0.5 or 1, whichever makes the
    implementation's loss (``outputs[0]``) data + factor · penalty; 0.5 when it cannot tell."""
    def observed(args, outputs):
        if outputs is None:
            return 0.5
        p = penalty(args)
        if not p > 1e-8 or not np.all(np.isfinite(outputs[0])):
            return 0.5
        data = data_loss(*args)
        loss = float(np.asarray(outputs[0]).ravel()[0]) if np.size(outputs[0]) else np.nan
        return 1.0 if abs(loss - data - p) < abs(loss - data - 0.5 * p) else 0.5
    return observed


def _softmax_rows(scores, y):
    z = scores - scores.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def _svm_data(W, X, y, reg):
    margins = np.maximum(0.0, hinge_margins(X @ W, y))
    margins[np.arange(len(y)), y] = 0.0
    return float(margins.sum() / len(y))


def _softmax_data(W, X, y, reg):
    return _softmax_rows(X @ W, y)


def _two_layer_data(W1, b1, W2, b2, X, y, reg):
    return _softmax_rows(np.maximum(X @ W1 + b1, 0.0) @ W2 + b2, y)


def _two_layer_penalty(args) -> float:
    W1, _, W2, _, _, _, reg = args
    return float(reg) * float(np.sum(W1 ** 2) + np.sum(W2 ** 2))


def _factor_named(observe):
    """A property warning when the loss's L2 is reg·ΣW² (the 0.5 is the models' convention)."""
    def verify(caller, args, outputs):
        if observe(args, outputs) == 1.0:
            raise Warn("the loss regularises with reg·ΣW² (no 0.5; a year's convention): its "
                       "gradient is judged as that loss's, 2·reg·W")
    return Property("reg_factor", "the L2 factor (0.5·reg·ΣW² or reg·ΣW²) named", verify)


# ------------------------------------------------------------------ test-mode scores, determinism


@cache
def _scores_record(twin) -> Layer:
    return Layer("model_scores", twin, lambda d, v: ())


def _scores_match(twin):
    """A property: the model's test-mode scores, ``loss(X)``, equal the twin's."""
    def verify(caller, args, outputs):
        from bpcheck.autodiff import reference_forward
        from bpcheck.implementation import fresh

        function = caller.impl.functions.get(caller.layer.name)
        scores = getattr(function, "scores", None)
        if scores is None:
            raise Skip("test-mode scores are read in-process only")
        try:
            with warnings.catch_warnings():
                raise_floating_point_errors()
                got = scores(*fresh(args))
        except Exception as exc:  # the model's own error
            raise Fail(f"loss(X) raised {type(exc).__name__}: {exc}") from None
        expected = np.asarray(reference_forward(_scores_record(twin), caller.layer.twin_args(
            args, outputs)))
        got = np.asarray(got, dtype=np.float64) if got is not None else None
        if got is None or got.shape != expected.shape:
            raise Fail(f"loss(X) must return the scores of shape {expected.shape} in test mode, "
                       f"got {None if got is None else got.shape}")
        result = compare(got, expected, caller.layer.tolerance)
        if not result.ok:
            raise Fail(f"test-mode scores loss(X) differ from the twin's: {result.describe()}",
                       error=result.error, diagnosis="loss(X) did not run in test mode: set "
                       "every bn_param's and the dropout_param's 'mode' to 'test' when y is None")
    return Property("scores", "test-mode scores loss(X) match the twin's", verify)


def _deterministic(caller, args, outputs):
    """The same params, data and seed give the same loss twice."""
    (again,), _ = caller.forward(*args)
    if not np.array_equal(np.asarray(outputs[0]), again, equal_nan=True):
        raise Fail("two calls with the same params, data and seed give different losses: the "
                   "dropout mask is not seeded (keep the constructor's seed in "
                   "self.dropout_param['seed'])", diagnosis="dropout not seeded")


DETERMINISTIC = Property("deterministic", "the same seed gives the same loss", _deterministic)


# ------------------------------------------------------------------------------------- samplers


def _classifier_args(s: Sizes, v: Values):
    return (v.real((s.d, s.c)), v.real((s.n, s.d)), v.labels(s.n, s.c), v.choice(REGS))


def _two_layer_args(s: Sizes, v: Values):
    return (v.real((s.d, s.h)), v.real((s.h,)), v.real((s.h, s.c)), v.real((s.c,)),
            v.real((s.n, s.d)), v.labels(s.n, s.c), v.choice(REGS))


def dropout_masks(seed: int, keep: float, shapes) -> tuple[np.ndarray, ...]:
    """The masks the course's dropout_forward draws at ``seed``: NumPy's global generator
    seeded before each layer, then rand(*shape) < keep (a generator of its own here)."""
    return tuple((np.random.RandomState(seed).rand(*shape) < keep).astype(np.float64)
                 for shape in shapes)


def _fc_args(s: Sizes, v: Values):
    keep, seed = v.choice(KEEPS), int(v.rng.integers(0, 1000))
    masks = None if keep == 1.0 else dropout_masks(seed, keep, ((s.n, s.h1), (s.n, s.h2)))
    config = {"reg": v.choice(REGS), "normalization": v.choice(NORMALIZATIONS), "keep": keep,
              "seed": np.int64(seed), "masks": masks}
    return (v.real((s.d, s.h1)), v.real((s.h1,)), v.real((s.h1, s.h2)), v.real((s.h2,)),
            v.real((s.h2, s.c)), v.real((s.c,)), 1.0 + 0.5 * v.real((s.h1,), scaled=False),
            v.real((s.h1,)), 1.0 + 0.5 * v.real((s.h2,), scaled=False), v.real((s.h2,)),
            v.real((s.n, s.d)), v.labels(s.n, s.c), config)


def _conv_args(s: Sizes, v: Values):
    hidden_in = s.filters * (s.size // 2) ** 2
    return (v.real((s.filters, s.channels, s.k, s.k)), v.real((s.filters,)),
            v.real((hidden_in, s.h)), v.real((s.h,)), v.real((s.h, s.c)), v.real((s.c,)),
            v.real((s.n, s.channels, s.size, s.size)), v.labels(s.n, s.c), v.choice(REGS))


def _caption_args(s: Sizes, v: Values):
    k = 4 if (cell := v.choice(("rnn", "lstm"))) == "lstm" else 1
    # Small weights keep tanh and the gates away from saturation; <NULL> (0) is common.
    small = lambda shape: 0.5 * v.real(shape, scaled=False)  # noqa: E731
    captions = v.rng.integers(0, s.v, size=(s.n, s.t + 1))
    return (small((s.d, s.h)), small((s.h,)), small((s.v, s.w)), small((s.w, k * s.h)),
            small((s.h, k * s.h)), small((k * s.h,)), small((s.h, s.v)), small((s.v,)),
            v.real((s.n, s.d)), captions, 0, cell)


# ---------------------------------------------------------------------------------------- kinks


def _classifier_kinks(W, X, y, reg):
    return hinge_margins(X @ W, y)


def _two_layer_kinks(W1, b1, W2, b2, X, y, reg):
    return X @ W1 + b1


def _normalised(h, norm, axis):
    if norm is None:
        return h
    mu = h.mean(axis=axis, keepdims=True)
    return (h - mu) / np.sqrt(h.var(axis=axis, keepdims=True) + 1e-5)


def _fc_kinks(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config):
    """The relu layers' inputs, from a NumPy forward of the train-mode model."""
    norm, kinks, h = config["normalization"], [], np.asarray(X)
    masks = config["masks"] or (None, None)
    for W, b, gamma, beta, mask in ((W1, b1, gamma1, beta1, masks[0]),
                                    (W2, b2, gamma2, beta2, masks[1])):
        h = h @ W + b
        if norm is not None:
            h = _normalised(h, norm, 0 if norm == "batchnorm" else 1) * gamma + beta
        kinks.append(h.ravel())
        h = np.maximum(h, 0.0) * (1.0 if mask is None else mask / config["keep"])
    return np.concatenate(kinks)


def _conv_kinks(W1, b1, W2, b2, W3, b3, X, y, reg):
    """The conv layer's relu inputs and the hidden layer's (pool ties are not drawn)."""
    conv = np.asarray(reference.conv(X, W1, b1, {"stride": 1, "pad": (W1.shape[2] - 1) // 2}))
    pooled = np.asarray(reference.max_pool(np.maximum(conv, 0.0),
                                           {"pool_height": 2, "pool_width": 2, "stride": 2}))
    hidden = pooled.reshape(len(X), -1) @ W2 + b2
    return np.concatenate([conv.ravel(), hidden.ravel()])


# -------------------------------------------------------------------------------------- records


def _classifier(name, twin, data, halved, unregularised):
    observe = _factor_of(data, _penalty)
    return Layer(
        name, twin, _classifier_args, differentiable=(0,), batched=(1, 2),
        kinks=_classifier_kinks if "svm" in name else None, dims=CLASSIFIER_DIMS, model=True,
        observed=observe, properties=(_factor_named(observe),),
        mistakes=(
            KnownMistake("dW's regularisation term is half the gradient of the loss's: the loss "
                         "has factor·reg·ΣW², whose gradient is 2·factor·reg·W", twin=halved),
            KnownMistake("dW lacks the regularisation term (the loss has it)",
                         twin=unregularised),
        ))


def _l2_mistakes(unhalved, not_in_grads, bias):
    return (
        KnownMistake("the loss regularises with reg·ΣW² where the model's L2 is 0.5·reg·ΣW² "
                     "(its gradient reg·W)", twin=unhalved),
        KnownMistake("this weight's gradient lacks the regularisation term reg·W (the loss has "
                     "0.5·reg·ΣW²)", twin=not_in_grads),
        KnownMistake("the biases are regularised: L2 is on the weights only (no reg·b in the "
                     "loss or in grads['b…'])", twin=bias),
    )


_observe_two_layer = _factor_of(_two_layer_data, _two_layer_penalty)

MODELS: tuple[Layer, ...] = (
    _classifier("svm_loss_naive", reference.svm_classifier_loss, _svm_data,
                reference.svm_reg_gradient_halved, reference.svm_reg_not_in_gradient),
    _classifier("svm_loss_vectorized", reference.svm_classifier_loss, _svm_data,
                reference.svm_reg_gradient_halved, reference.svm_reg_not_in_gradient),
    _classifier("softmax_loss_naive", reference.softmax_classifier_loss, _softmax_data,
                reference.softmax_reg_gradient_halved, reference.softmax_reg_not_in_gradient),
    _classifier("softmax_loss_vectorized", reference.softmax_classifier_loss, _softmax_data,
                reference.softmax_reg_gradient_halved, reference.softmax_reg_not_in_gradient),
    Layer(
        "TwoLayerNet", reference.two_layer_net_loss, _two_layer_args, differentiable=(0, 1, 2, 3),
        batched=(4, 5), kinks=_two_layer_kinks, dims=TWO_LAYER_DIMS, model=True,
        properties=(_scores_match(lambda W1, b1, W2, b2, X, y, reg: reference.two_layer_net_scores(
            W1, b1, W2, b2, X)),),
        mistakes=_l2_mistakes(reference.two_layer_net_reg_unhalved,
                              reference.two_layer_net_reg_not_in_grads,
                              reference.two_layer_net_bias_regularised),
    ),
    Layer(
        "neural_net_TwoLayerNet", reference.neural_net_two_layer_loss, _two_layer_args,
        differentiable=(0, 1, 2, 3), batched=(4, 5), kinks=_two_layer_kinks, dims=TWO_LAYER_DIMS,
        model=True, observed=_observe_two_layer,
        properties=(_factor_named(_observe_two_layer), _scores_match(
            lambda W1, b1, W2, b2, X, y, reg, factor: reference.two_layer_net_scores(
                W1, b1, W2, b2, X))),
    ),
    Layer(
        "FullyConnectedNet", reference.fully_connected_net_loss, _fc_args,
        differentiable=tuple(range(10)), batched=(), kinks=_fc_kinks, dims=FC_DIMS, model=True,
        properties=(_scores_match(reference.fully_connected_net_scores), DETERMINISTIC),
        mistakes=(*_l2_mistakes(reference.fc_net_reg_unhalved, reference.fc_net_reg_not_in_grads,
                                reference.fc_net_bias_regularised),
                  KnownMistake("the train-mode loss ran batchnorm in test mode: set every "
                               "bn_param's 'mode' to 'train' when y is given",
                               twin=reference.fc_net_batchnorm_test_mode_in_train),
                  KnownMistake("the train-mode loss ran without dropout: set the dropout_param's "
                               "'mode' to 'train' when y is given",
                               twin=reference.fc_net_dropout_off_in_train)),
    ),
    Layer(
        "ThreeLayerConvNet", reference.three_layer_convnet_loss, _conv_args,
        differentiable=tuple(range(6)), batched=(6, 7), kinks=_conv_kinks, dims=CONV_DIMS,
        model=True, properties=(_scores_match(reference.three_layer_convnet_scores),),
        mistakes=_l2_mistakes(reference.convnet_reg_unhalved, reference.convnet_reg_not_in_grads,
                              reference.convnet_bias_regularised),
    ),
    Layer(
        "CaptioningRNN", reference.captioning_rnn_loss, _caption_args,
        differentiable=tuple(range(8)), batched=(8, 9), dims=CAPTION_DIMS, model=True,
        mistakes=(KnownMistake("the loss counts the <NULL> targets: mask = captions_out != "
                               "word_to_idx['<NULL>'] must leave the padding out",
                               twin=reference.captioning_rnn_null_not_masked),),
    ),
)

__all__ = ["MODELS", "dropout_masks"]
