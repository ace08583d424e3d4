"""The course's whole models under the battery (issue 17): the twins reproduce the notebooks'
anchors, the adapter builds each constructor API and reads params and grads key by key, and a
wrong model is failed and named on the right parameter.

Mistakes a student makes in a model are in the catalogue (``mistakes/``: caught by
tests/test_checker.py, named by tests/test_benchmarks.py); here are the mechanisms: the keys of
params and grads, the constructor's keywords by year, the L2 factor read from the loss, the
test-mode scores, the dropout masks drawn from the model's seed.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import manual
import reference
from bpcheck.battery.checks import check_named
from bpcheck.battery.runner import run_check
from bpcheck.modelcall import adapt
from bpcheck.registry import layer_named
from bpcheck.registry.models import dropout_masks

#: Examples a check may take to find a planted bug (derandomized: the same draws every run).
BUDGET = 30


def _run(name: str, cls, check: str, impl):
    return run_check(layer_named(name), impl.replace(**{name: cls}), check_named(check),
                     max_examples=BUDGET, derandomize=True, shrink=False)


# ------------------------------------------------------------------ the notebooks' anchors


def _notebook_two_layer():
    N, D, H, C = 3, 5, 50, 7
    W1 = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    b1 = np.linspace(-0.1, 0.9, num=H)
    W2 = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    b2 = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    return W1, b1, W2, b2, X, np.asarray([0, 5, 1])


@pytest.mark.parametrize("reg, expected", [(0.0, 3.4702243556), (1.0, 26.5948426952)])
def test_two_layer_net_twin_and_manual_give_the_notebooks_loss(reg, expected, impl):
    args = (*_notebook_two_layer(), reg)
    assert abs(float(reference.two_layer_net_loss(*args)) - expected) < 1e-9
    loss, _ = impl.functions["TwoLayerNet"](*args)
    assert abs(loss - expected) < 1e-9


def _notebook_captioning(cell: str):
    N, D, W, H, T = 10, 20, 30, 40, 13
    V, k = 3, {"rnn": 1, "lstm": 4}[cell]
    shapes = dict(W_proj=(D, H), b_proj=(H,), W_embed=(V, W), Wx=(W, k * H), Wh=(H, k * H),
                  b=(k * H,), W_vocab=(H, V), b_vocab=(V,))
    params = [np.linspace(-1.4, 1.3, num=int(np.prod(s))).reshape(s) for s in shapes.values()]
    low, high = (-1.5, 0.3) if cell == "rnn" else (-0.5, 1.7)
    features = np.linspace(low, high, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    return (*params, features, captions, 0, cell)


@pytest.mark.parametrize("cell, expected", [("rnn", 9.83235591003), ("lstm", 9.82445935443)])
def test_captioning_rnn_twin_and_manual_give_the_notebooks_loss(cell, expected, impl):
    args = _notebook_captioning(cell)
    assert abs(float(reference.captioning_rnn_loss(*args)) - expected) < 1e-10
    loss, _ = impl.functions["CaptioningRNN"](*args)
    assert abs(loss - expected) < 1e-10


def test_naive_and_vectorized_classifiers_agree():
    rng = np.random.default_rng(0)
    W, X, y = rng.standard_normal((6, 4)), rng.standard_normal((9, 6)), rng.integers(0, 4, 9)
    for kind in ("svm", "softmax"):
        naive = getattr(manual, f"{kind}_loss_naive")(W, X, y, 0.7)
        vectorized = getattr(manual, f"{kind}_loss_vectorized")(W, X, y, 0.7)
        assert np.isclose(naive[0], vectorized[0]) and np.allclose(naive[1], vectorized[1])


# ------------------------------------------------------------------ params and grads, by key


class _NoBiasGrad(manual.TwoLayerNet):
    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is not None:
            del result[1]["b2"]
        return result


class _ExtraGrad(manual.TwoLayerNet):
    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is not None:
            result[1]["W3"] = np.zeros(1)
        return result


class _OwnParams(manual.TwoLayerNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params["W_extra"] = np.zeros(2)


@pytest.mark.parametrize("cls, phrase", [
    (_NoBiasGrad, "grads has no 'b2'"),
    (_ExtraGrad, "grads has keys that params lacks: 'W3'"),
    (_OwnParams, "params has unexpected 'W_extra'"),
])
def test_the_keys_of_params_and_grads_are_named(cls, phrase, impl):
    run = _run("TwoLayerNet", cls, "forward", impl)
    assert run.failure is not None and phrase in run.failure.message, run.failure


def test_the_correct_models_pass_their_properties(impl):
    for name in ("TwoLayerNet", "neural_net_TwoLayerNet", "FullyConnectedNet",
                 "ThreeLayerConvNet"):
        run = run_check(layer_named(name), impl, check_named("properties"), max_examples=BUDGET,
                        derandomize=True)
        assert run.failure is None and run.passed > 0, (name, run.failure)


class _ScoresOffByBias(manual.TwoLayerNet):
    def loss(self, X, y=None):
        if y is None:  # mistake: the test-mode scores without b2
            return super().loss(X) - self.params["b2"]
        return super().loss(X, y)


def test_wrong_test_mode_scores_are_failed(impl):
    run = _run("TwoLayerNet", _ScoresOffByBias, "properties", impl)
    assert run.failure is not None and "test-mode scores" in run.failure.message


# ------------------------------------------------------------------ the constructor by year


class _KeepRatioNet(manual.FullyConnectedNet):
    """The 2021 constructor: dropout_keep_ratio."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        super().__init__(hidden_dims, input_dim, num_classes, dropout_keep_ratio, normalization,
                         reg, weight_scale, dtype, seed)


class _UseBatchnormNet(manual.FullyConnectedNet):
    """The 2016-17 constructor: use_batchnorm, dropout a drop probability (0 for none)."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=0,
                 use_batchnorm=False, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        super().__init__(hidden_dims, input_dim, num_classes, 1 - dropout if dropout > 0 else 1,
                         "batchnorm" if use_batchnorm else None, reg, weight_scale, dtype, seed)


def _fc_args(normalization, keep):
    rng = np.random.default_rng(1)
    shapes = [(3, 4), (4,), (4, 5), (5,), (5, 2), (2,), (4,), (4,), (5,), (5,)]
    masks = None if keep == 1.0 else dropout_masks(7, keep, ((4, 4), (4, 5)))
    return (*(rng.standard_normal(s) for s in shapes), rng.standard_normal((4, 3)),
            rng.integers(0, 2, 4), {"reg": 0.3, "normalization": normalization, "keep": keep,
                                    "seed": np.int64(7), "masks": masks})


@pytest.mark.parametrize("cls", [manual.FullyConnectedNet, _KeepRatioNet, _UseBatchnormNet])
@pytest.mark.parametrize("normalization, keep", [(None, 0.75), ("batchnorm", 1.0)])
def test_each_years_constructor_is_built_with_its_keywords(cls, normalization, keep):
    args = _fc_args(normalization, keep)
    loss, grads = adapt("FullyConnectedNet", cls)(*args)
    assert abs(loss - float(reference.fully_connected_net_loss(*args))) < 1e-10
    assert len(grads) == 10


def test_the_old_constructor_says_it_has_no_layernorm():
    with pytest.raises(Exception, match="takes use_batchnorm, not normalization"):
        adapt("FullyConnectedNet", _UseBatchnormNet)(*_fc_args("layernorm", 1.0))


def test_the_masks_are_those_the_courses_dropout_draws_at_the_seed():
    x = np.ones((4, 5))
    out, _ = manual.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    assert np.array_equal(out != 0, dropout_masks(7, 0.5, ((4, 5),))[0] != 0)


# ------------------------------------------------------------------ the L2 factor of the years


class _UnhalvedNeuralNet(manual.neural_net_TwoLayerNet):
    """The 2017+ neural_net convention: reg·ΣW² in the loss, 2·reg·W in grads."""

    def loss(self, X, y=None, reg=0.0):
        if y is None:
            return super().loss(X)
        return super().loss(X, y, 2 * reg)


def test_the_unhalved_l2_of_a_year_warns_and_is_judged_as_its_own_loss(impl):
    for check in ("vjp", "finite_differences"):
        assert _run("neural_net_TwoLayerNet", _UnhalvedNeuralNet, check, impl).failure is None
    run = _run("neural_net_TwoLayerNet", _UnhalvedNeuralNet, "properties", impl)
    assert run.failure is None and run.warnings and "no 0.5" in run.warning.message


def test_model_records_are_losses_under_their_own_names():
    record = layer_named("FullyConnectedNet")
    assert record.is_loss and record.functions == ("FullyConnectedNet",)
    assert record.grad_names[:2] == ("dW1", "db1")
    assert inspect.isclass(manual.FullyConnectedNet)
