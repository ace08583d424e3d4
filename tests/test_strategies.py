"""The strategies reach the cases the properties exist for: batch size 1, size-1 features,
non-square weights, multi-dimensional inputs, exact zeros and large magnitudes."""

import numpy as np
import pytest
from hypothesis import Phase, find, settings

from bpcheck.registry import layer_named
from bpcheck.battery.example import examples, rebuild

SEARCH = settings(max_examples=500, database=None, derandomize=True, phases=[Phase.generate])


def _reaches(layer_name, predicate):
    return find(examples(layer_named(layer_name)), predicate, settings=SEARCH)


@pytest.mark.parametrize("layer_name, what, predicate", [
    ("affine", "batch size 1", lambda e: e.args[0].shape[0] == 1),
    ("affine", "a size-1 feature axis", lambda e: e.args[1].shape[0] == 1),
    ("affine", "non-square weights", lambda e: e.args[1].shape[0] != e.args[1].shape[1]),
    ("affine", "multi-dimensional x", lambda e: e.args[0].ndim == 3),
    ("relu", "exact zeros", lambda e: np.any(e.args[0] == 0)),
    ("softmax", "logits at ±1e4", lambda e: np.max(np.abs(e.args[0])) > 5e3),
    ("softmax_loss", "logits at ±1e4", lambda e: np.max(np.abs(e.args[0])) > 5e3),
    ("sigmoid", "|x| >= 1000", lambda e: np.max(np.abs(e.args[0])) >= 1e3),
    ("cross_entropy_loss", "one-hot targets", lambda e: np.any(e.args[1] == 0)),
    ("batchnorm", "test mode", lambda e: e.args[3]["mode"] == "test"),
    ("batchnorm", "nearly constant columns (variance << eps)",
     lambda e: e.args[0].shape[0] > 1 and np.var(e.args[0], axis=0).max() < 1e-7),
    ("layernorm", "nearly constant rows (variance << eps)",
     lambda e: e.args[0].shape[1] > 1 and np.var(e.args[0], axis=1).max() < 1e-7),
    # Numerical robustness (issue 7): the cases where a formula that is right on paper overflows,
    # divides by zero or takes log(0) in float64.
    ("batchnorm", "a batch of one in train mode (variance exactly 0)",
     lambda e: e.args[3]["mode"] == "train" and e.args[0].shape[0] == 1),
    ("layernorm", "a single feature (row variance exactly 0)", lambda e: e.args[0].shape[1] == 1),
    ("softmax_loss", "a single class (loss exactly 0)", lambda e: e.args[0].shape[1] == 1),
    ("cross_entropy_loss", "a single class", lambda e: e.args[0].shape[1] == 1),
    ("svm_loss", "a single class (no margins)", lambda e: e.args[0].shape[1] == 1),
    ("softmax", "a single class along the last axis", lambda e: e.args[0].shape[-1] == 1),
    ("affine", "a single input and output feature", lambda e: e.args[1].shape == (1, 1)),
    ("softmax", "probabilities that underflow to exactly 0 (a row spanning > 800)",
     lambda e: np.ptp(e.args[0], axis=-1).max() > 800),
    ("log_softmax", "a row spanning > 800 (log-probabilities far below log(tiny))",
     lambda e: np.ptp(e.args[0], axis=-1).max() > 800),
    ("cross_entropy_loss", "one-hot targets whose class has probability below 1e-300",
     lambda e: _one_hot(e.args[1]) and _target_logit_gap(e.args[0], e.args[1].argmax(1)) > 800),
    ("softmax_loss", "a label whose probability underflows (log p would be -inf)",
     lambda e: _target_logit_gap(*e.args) > 800),
    ("svm_loss", "margins of both signs at ±1e4",
     lambda e: np.max(np.abs(e.args[0])) > 5e3 and e.args[0].shape[1] > 1),
    ("sigmoid", "inputs of both signs beyond ±700 (exp(-x) overflows)",
     lambda e: e.args[0].max() > 700 and e.args[0].min() < -700),
    ("softplus", "inputs of both signs beyond ±700 (exp(x) overflows)",
     lambda e: e.args[0].max() > 700 and e.args[0].min() < -700),
    ("elu", "inputs below -745 (exp underflows to 0) and large positive ones",
     lambda e: e.args[0].max() > 700 and e.args[0].min() < -745),
    ("tanh", "saturated inputs (|x| > 20, tanh(x) = ±1 in float64)",
     lambda e: np.max(np.abs(e.args[0])) > 20),
])
def test_strategies_reach(layer_name, what, predicate):
    assert predicate(_reaches(layer_name, predicate)), what


def _one_hot(t) -> bool:
    return bool(np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1))


def _target_logit_gap(x, labels) -> float:
    """The largest max(x_i) − x_i,label over the rows: p_label = exp(−gap) at most."""
    return float(np.max(x.max(axis=1) - x[np.arange(len(labels)), labels]))


def test_upstream_gradient_is_random_and_shaped_like_the_output():
    example = _reaches("affine", lambda e: e.args[0].shape[0] > 1)
    assert example.dout.shape == (example.args[0].shape[0], example.args[1].shape[1])
    assert len(np.unique(example.dout)) == example.dout.size  # not all-ones


def test_examples_rebuild_exactly():
    example = _reaches("batchnorm", lambda e: e.args[0].shape == (5, 4))
    again = rebuild("batchnorm", example.draw)
    for a, b in zip(example.args[:3], again.args[:3]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(example.dout, again.dout)
