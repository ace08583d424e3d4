"""The reference side's shortcuts change nothing: an elementwise layer's reference, computed on
flattened, zero-padded entries (one compiled program for every shape), and a row-independent
layer's, computed on a batch padded with zero rows, equal the reference computed on the arguments
as they are."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpcheck import autodiff
from bpcheck.layer import RegistryError
from bpcheck.registry import REGISTRY, layer_named
from bpcheck.sampling import Dims, Draw, Sizes
from bpcheck.battery.example import build_example

ELEMENTWISE = [layer for layer in REGISTRY if layer.elementwise]


def test_the_activations_are_marked_elementwise():
    assert {layer.name for layer in ELEMENTWISE} >= {"relu", "leaky_relu", "elu", "sigmoid",
                                                     "tanh", "softplus"}


@pytest.mark.parametrize("layer", ELEMENTWISE, ids=lambda layer: layer.name)
@pytest.mark.parametrize("n, trailing", [(1, ()), (5, (3,)), (5, (2, 3))])
def test_padded_reference_equals_the_plain_one(layer, n, trailing):
    ex = build_example(layer, Draw(Dims(n, 3, 4, 4, trailing, False), 1.0, True, 11))
    plain = dataclasses.replace(layer, elementwise=False)
    out, (dx,) = autodiff.reference_vjp(layer, ex.args, ex.dout)
    plain_out, (plain_dx,) = autodiff.reference_vjp(plain, ex.args, ex.dout)
    assert out.shape == plain_out.shape == ex.args[0].shape and dx.shape == plain_dx.shape
    np.testing.assert_allclose(out, plain_out, rtol=1e-15, atol=0)
    np.testing.assert_allclose(dx, plain_dx, rtol=1e-15, atol=0)
    assert autodiff.output_shape(layer, ex.args) == autodiff.output_shape(plain, ex.args)


def test_stacked_points_of_an_elementwise_layer_equal_the_plain_ones():
    layer = layer_named("softplus")
    plain = dataclasses.replace(layer, elementwise=False)
    ex = build_example(layer, Draw(Dims(5, 3, 4, 4, (2, 3), False), 1.0, False, 5))
    points = [np.random.default_rng(0).standard_normal((8, 5, 2, 3))]
    np.testing.assert_allclose(autodiff.reference_forward_stacked(layer, ex.args, points),
                               autodiff.reference_forward_stacked(plain, ex.args, points),
                               rtol=1e-15, atol=0)


def test_one_program_serves_every_shape_of_an_elementwise_layer():
    tanh = layer_named("tanh").reference
    layer = dataclasses.replace(layer_named("tanh"), reference=lambda x: tanh(x))  # its own programs
    for n, trailing in [(1, ()), (5, ()), (1, (3,)), (5, (2, 3))]:
        ex = build_example(layer, Draw(Dims(n, 3, 4, 4, trailing, False), 1.0, False, 2))
        autodiff.reference_vjp(layer, ex.args, ex.dout)
    executables = [key for key in autodiff._EXECUTABLES
                   if key[0] is layer.reference and key[4] == "vjp"]
    assert len(executables) == 1, executables


ROW_INDEPENDENT = [layer for layer in REGISTRY if layer.independent_rows and not layer.elementwise]


def test_the_row_independent_layers_include_the_protocol_ones():
    assert {layer.name for layer in ROW_INDEPENDENT} >= {"affine", "softmax", "layernorm"}


@pytest.mark.parametrize("layer", ROW_INDEPENDENT, ids=lambda layer: layer.name)
@pytest.mark.parametrize("n, split", [(1, False), (5, True), (9, False)])
@settings(max_examples=3, derandomize=True, deadline=None)
@given(data=st.data())
def test_row_padded_reference_equals_the_plain_one(layer, n, split, data):
    # A layer with its own dimensions (Sizes) draws them, with the batch size set to n.
    dims = (Dims(n, 4, 3, 4, (), split) if layer.dims is None else
            Sizes({**data.draw(layer.dims, label="dims"), "n": n}))
    ex = build_example(layer, Draw(dims, 1.0, False, 13))
    plain = dataclasses.replace(layer, batched=())  # a record whose rows are coupled: no padding
    found, expected = (autodiff.reference_vjp(r, ex.args, ex.dout) for r in (layer, plain))
    outputs = (lambda out: out if isinstance(out, tuple) else (out,))  # one array per output
    for value, ref in [*zip(outputs(found[0]), outputs(expected[0])), *zip(found[1], expected[1])]:
        assert value.shape == ref.shape
        # Equal up to the order of a sum over rows (XLA may block 8 padded rows unlike 5 plain
        # ones: seen 2e-15 on an entry of 1e-4 in rnn_step's dWx, whose max-norm is 0.85).
        scale = float(np.max(np.abs(ref), initial=0.0))
        np.testing.assert_allclose(value, ref, rtol=1e-13, atol=1e-15 + 1e-13 * scale)


def test_an_elementwise_record_differentiates_its_first_argument_only():
    with pytest.raises(RegistryError, match="elementwise"):
        dataclasses.replace(layer_named("leaky_relu"), elementwise=True, differentiable=(0, 1))
