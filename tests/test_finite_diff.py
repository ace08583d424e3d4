"""Finite differences on their own: the stencil's two layouts agree, the estimate is exact where
it must be, and the JAX twin's vectorised evaluation equals its one-point evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from bpcheck import finite_diff
from bpcheck.autodiff import reference_forward, reference_forward_stacked
from bpcheck.registry import layer_named
from bpcheck.tolerances import FD_STEP


def _args(rng):
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    return (x, w, b), (0, 1, 2)


def test_stacked_stencil_holds_the_stencil_points_in_order():
    rng = np.random.default_rng(0)
    args, positions = _args(rng)
    directions = [finite_diff.random_direction([a.shape for a in args], rng) for _ in range(3)]
    points = finite_diff.stencil(args, positions, directions)
    stacked = finite_diff.stacked_stencil(args, positions, directions)
    assert len(points) == 4 * len(directions) == len(stacked[0])
    for i, position in enumerate(positions):
        for k, point in enumerate(points):
            np.testing.assert_array_equal(stacked[i][k], point[position])


def test_estimates_are_exact_for_a_cubic_and_bound_their_error():
    """phi(x + t v) = t³ + 2t along the direction: D(h), D(2h) carry h² terms, which Richardson's
    extrapolation removes, so the estimate is 2 up to rounding, and the error bound covers the
    difference between D(h) and D(2h)."""
    measured = [((k * FD_STEP) ** 3 + 2 * k * FD_STEP, 1.0) for k in finite_diff.STENCIL]
    (estimate,) = finite_diff.estimates(measured)
    assert abs(estimate.value - 2.0) < 1e-9
    assert estimate.error >= 3 * FD_STEP**2  # |D(h) − D(2h)| = 3h² for a cubic
    assert abs(estimate.value - 2.0) <= estimate.error


def test_estimates_keep_the_directions_apart():
    slopes = [1.0, -3.0, 0.5]
    measured = [(s * k * FD_STEP, 1.0) for s in slopes for k in finite_diff.STENCIL]
    found = finite_diff.estimates(measured)
    assert [round(e.value, 9) for e in found] == slopes


@pytest.mark.parametrize("name", ["affine", "softmax_loss", "batchnorm", "softmax"])
@pytest.mark.parametrize("count", [2, 3])  # 3 directions: 12 points, padded to 16
def test_the_twin_at_stacked_points_equals_the_twin_at_each_point(name, count):
    from bpcheck.sampling import Dims, Draw
    from bpcheck.battery.example import build_example

    layer = layer_named(name)
    ex = build_example(layer, Draw(Dims(5, 3, 4, 4, (), False), 1.0, False, 7))
    positions = layer.differentiable
    rng = np.random.default_rng(1)
    directions = [finite_diff.random_direction([np.shape(ex.args[p]) for p in positions], rng)
                  for _ in range(count)]
    stacked = reference_forward_stacked(
        layer, ex.args, finite_diff.stacked_stencil(ex.args, positions, directions))
    one_by_one = [reference_forward(layer, point)
                  for point in finite_diff.stencil(ex.args, positions, directions)]
    assert stacked.shape == (len(one_by_one), *np.shape(one_by_one[0]))
    np.testing.assert_allclose(stacked, np.stack(one_by_one), rtol=1e-13, atol=1e-13)
