"""The strategies reach the cases the properties exist for: batch size 1, size-1 features,
non-square weights, multi-dimensional inputs, exact zeros and large magnitudes."""

import numpy as np
import pytest
from hypothesis import Phase, find, settings

from bpcheck.registry import layer_named
from bpcheck.strategies import examples, rebuild

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
])
def test_strategies_reach(layer_name, what, predicate):
    assert predicate(_reaches(layer_name, predicate)), what


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
