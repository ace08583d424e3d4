"""Diagnoses: each classic mistake, planted, gets the one-sentence cause that explains it — and an
unrelated mistake or a correct implementation gets none. Differences only at a kink are warnings.

The planted functions are plain NumPy in the protocol's signatures, wrapping manual/'s correct ones
(as in tests/planted.py, whose existing mistakes are reused where they fit).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import manual
from bpcheck.battery.checks import check_named
from bpcheck.battery.trial import Trial
from bpcheck.battery.diagnose import BATCH_ONE, LARGE_ONLY, diagnose_shape
from bpcheck.battery.findings import Finding, enforce
from bpcheck.registry import layer_named
from bpcheck.battery.runner import run_check, run_checks
from bpcheck.sampling import Dims, Draw
from bpcheck.battery.example import build_example
from manual.activations import ReluCache

import planted

pytestmark = pytest.mark.xdist_group(name="diagnose")

#: Examples per run: each mistake below shows within a handful (derandomized, so reproducible).
EXAMPLES = 25


def run(layer: str, check: str, impl, **functions):
    """One check over a few derandomized examples, the first failure kept as drawn."""
    return run_check(layer_named(layer), impl.replace(**functions), check_named(check),
                     max_examples=EXAMPLES, derandomize=True, shrink=False)


def judge_one(layer: str, check: str, impl, dims: Dims, scale: float = 1.0, **functions) -> Finding:
    """One check on one example built from the given dimensions."""
    example = build_example(layer_named(layer), Draw(dims, scale, False, 7))
    return check_named(check)(Trial(layer_named(layer), impl.replace(**functions), example))


def dims(n: int = 5, d: int = 3, m: int = 4, c: int = 4) -> Dims:
    return Dims(n=n, d=d, m=m, c=c, trailing=(3,), split=False)


# ---------------------------------------------------------------- planted mistakes


def affine_backward_dw_transposed(dout, cache):
    dx, _, db = manual.affine_backward(dout, cache)
    return dx, dout.T @ cache.x2d, db  # (M, D) where (D, M) is due


def affine_backward_db_over_features(dout, cache):
    dx, dw, _ = manual.affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=1)  # (N,) where (M,) is due


def affine_backward_squeeze_bites_at_n1(dout, cache):
    """Right for every N > 1 (atleast_1d rescues M = 1), wrong shape or an error at N = 1."""
    dx, dw, _ = manual.affine_backward(dout, cache)
    return dx, dw, np.atleast_1d(np.squeeze(dout).sum(axis=0))


def mse_loss_twice(x, y):
    loss, dx = manual.mse_loss(x, y)
    return loss, 2 * dx


def tanh_backward_sign_flipped(dout, cache):
    return -manual.tanh_backward(dout, cache)


def sigmoid_backward_without_dout(dout, cache):
    s = cache.out
    return s * (1.0 - s)


def softmax_loss_without_max_shift_quiet(x, y):
    with np.errstate(all="ignore"):  # NaN and inf reach the result instead of raising
        return planted.softmax_loss_without_max_shift(x, y)


def softplus_forward_naive(x):
    with np.errstate(over="ignore"):
        out = np.log(1.0 + np.exp(x))  # inf once x > 709: only large magnitudes reach that
    return out, manual.softplus_forward(x)[1]


def relu_forward_derivative_1_at_0(x):
    out, _ = manual.relu_forward(x)
    return out, ReluCache(mask=x >= 0)  # relu'(0) = 1


def relu_backward_leaky(dout, cache):
    return np.where(cache.mask, dout, 0.1 * dout)  # wrong for x < 0 too


def tanh_backward_noisy(dout, cache):
    dx = manual.tanh_backward(dout, cache)
    return dx + 1e-3 * np.random.default_rng(0).standard_normal(dx.shape)


# ---------------------------------------------------------------- per-failure diagnoses


def test_transposed_dw(impl):
    found = run("affine", "vjp", impl, affine_backward=affine_backward_dw_transposed)
    assert "transposed" in found.failure.diagnosis
    square = judge_one("affine", "vjp", impl, dims(d=3, m=3),
                       affine_backward=affine_backward_dw_transposed)
    assert square.diagnosis == "dw is transposed (e.g. dout.T @ x where x.T @ dout is due)"
    assert square.message.endswith("likely cause: " + square.diagnosis)
    wide = judge_one("affine", "shapes", impl, dims(d=3, m=4),
                     affine_backward=affine_backward_dw_transposed)
    assert wide.diagnosis.startswith("dw has the transposed shape (4, 3)")


def test_transposed_then_reshaped_dw(impl):
    found = judge_one("affine", "vjp", impl, dims(d=3, m=4),
                      affine_backward=planted.affine_backward_transposed_dw)
    assert found.diagnosis.startswith("dw is transposed, then reshaped back to (3, 4)")


def test_factor_n_sum_instead_of_mean(impl):
    found = run("softmax_loss", "vjp", impl, softmax_loss=planted.softmax_loss_without_1_over_n)
    assert found.failure.diagnosis.startswith("dx is N = 5 times too large: a sum over the batch")
    mean = run("affine", "vjp", impl, affine_backward=planted.affine_backward_db_mean)
    assert mean.failure.diagnosis.startswith("db is N = 5 times too small: a mean over the batch")


def test_factor_two(impl):
    half = run("mse_loss", "vjp", impl, mse_loss=planted.mse_loss_without_2)
    assert half.failure.diagnosis.startswith("dx is half the correct value: a missing factor 2")
    double = run("mse_loss", "vjp", impl, mse_loss=mse_loss_twice)
    assert double.failure.diagnosis == "dx is 2 times too large: an extra factor 2?"
    at_n1 = judge_one("mse_loss", "vjp", impl, dims(n=1), mse_loss=mse_loss_twice)
    assert at_n1.diagnosis == double.failure.diagnosis  # N = 1: never a "factor N"


def test_finite_differences_check_diagnoses_too(impl):
    found = run("mse_loss", "finite_differences", impl, mse_loss=planted.mse_loss_without_2)
    assert found.failure.diagnosis.startswith("dx is half the correct value")


def affine_backward_in_float32(dout, cache):
    """The right formulas, computed in single precision (cs231n's nets default to float32)."""
    dx, dw, db = manual.affine_backward(dout.astype(np.float32), cache)
    return dx.astype(np.float64), dw.astype(np.float32).astype(np.float64), db.astype(np.float64)


def sigmoid_forward_in_float32(x):
    out, cache = manual.sigmoid_forward(x)
    return out.astype(np.float32).astype(np.float64), cache


def test_float32_arithmetic_is_a_precision_loss_not_a_wrong_derivation(impl):
    found = run("affine", "vjp", impl, affine_backward=affine_backward_in_float32)
    assert "precision of float32: a precision loss" in found.failure.diagnosis
    forward = run("sigmoid", "forward", impl, sigmoid_forward=sigmoid_forward_in_float32)
    assert "a precision loss" in forward.failure.diagnosis
    wrong = run("mse_loss", "vjp", impl, mse_loss=planted.mse_loss_without_2)
    assert "precision" not in wrong.failure.diagnosis  # O(1) off: a derivation mistake


def test_sign_flipped(impl):
    found = run("tanh", "vjp", impl, tanh_backward=tanh_backward_sign_flipped)
    assert found.failure.diagnosis == "dx has the wrong sign (exactly −1 times the correct gradient)"


def test_upstream_gradient_not_multiplied_in(impl):
    found = run("sigmoid", "vjp", impl, sigmoid_backward=sigmoid_backward_without_dout)
    assert found.failure.diagnosis.startswith("dx does not multiply in the upstream gradient")


def test_diagonal_only_jacobian(impl):
    found = run("softmax", "vjp", impl, softmax_backward=planted.softmax_backward_diagonal_only)
    assert found.failure.diagnosis.startswith("dx uses only the diagonal of the Jacobian")


def test_kept_dimension(impl):
    found = run("affine", "shapes", impl, affine_backward=planted.affine_backward_db_keepdims)
    assert "kept a dimension" in found.failure.diagnosis
    assert found.failure.diagnosis.endswith("use sum(axis=0) without keepdims")


def test_reduced_over_the_wrong_axis(impl):
    found = judge_one("affine", "shapes", impl, dims(n=5, m=4),
                      affine_backward=affine_backward_db_over_features)
    assert found.diagnosis.startswith("db has one entry per example ((5,), N = 5)")


@pytest.mark.parametrize("actual, expected, n, start", [
    ((1, 4), (4,), 5, "db kept a dimension ((1, 4) where (4,) is due): use sum(axis=0)"),
    ((4, 1), (4,), 5, "db kept a dimension ((4, 1) where (4,) is due): reduce without"),
    ((5,), (4,), 5, "db has one entry per example"),
    ((), (4,), 1, "db is a scalar where (4,) is due"),
    ((4, 3), (3, 4), 5, "db has the transposed shape (4, 3)"),
    ((3,), (4,), 5, None),  # nothing clear: say nothing
    ((4,), (4,), 5, None),
])
def test_diagnose_shape(actual, expected, n, start):
    text = diagnose_shape("db", actual, expected, n)
    assert text == start if start is None else text.startswith(start)


def test_nan_where_the_reference_is_finite(impl):
    found = run("softmax_loss", "forward", impl, softmax_loss=softmax_loss_without_max_shift_quiet)
    assert "where the reference is finite: overflow or log(0)?" in found.failure.diagnosis
    vjp = run("softmax_loss", "vjp", impl, softmax_loss=softmax_loss_without_max_shift_quiet)
    assert vjp.failure.diagnosis.startswith("dx has NaN")


def test_floating_point_error_raised_by_the_implementation(impl):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # as pytest's filterwarnings does
        found = run("softmax_loss", "forward", impl,
                    softmax_loss=planted.softmax_loss_without_max_shift)
    assert found.failure.diagnosis.startswith("a floating-point error in your code (overflow")


# ---------------------------------------------------------------- patterns across examples


def test_only_fails_at_batch_size_1(impl):
    found = run("affine", "vjp", impl, affine_backward=affine_backward_squeeze_bites_at_n1)
    assert found.pattern == BATCH_ONE
    assert found.failure.message.endswith(BATCH_ONE)
    assert found.failure.example.args[0].shape[0] == 1


def test_only_fails_for_large_magnitudes(impl):
    found = run("softplus", "forward", impl, softplus_forward=softplus_forward_naive)
    assert found.pattern == LARGE_ONLY
    assert "has inf" in found.failure.diagnosis
    assert found.failure.example.draw.scale >= 40


def test_no_pattern_for_a_mistake_at_every_size(impl):
    found = run("tanh", "vjp", impl, tanh_backward=tanh_backward_sign_flipped)
    assert found.pattern is None


# ---------------------------------------------------------------- kinks: a warning, not a failure


def test_difference_only_at_a_kink_is_a_warning(impl):
    runs = run_checks(layer_named("relu"), impl.replace(relu_forward=relu_forward_derivative_1_at_0),
                      max_examples=EXAMPLES, derandomize=True, shrink=False)
    assert all(r.failure is None for r in runs), [r.failure.report() for r in runs if r.failure]
    vjp = next(r for r in runs if r.check == "vjp")
    assert vjp.status == "warning" and vjp.warnings > 0
    assert vjp.warning.message == (
        "dx differs from JAX only at x = 0, where relu is not differentiable: bpcheck follows JAX "
        "(relu'(0) = 0); yours uses 1 there")


def test_wrong_elsewhere_than_the_kink_still_fails(impl):
    found = run("relu", "vjp", impl, relu_forward=relu_forward_derivative_1_at_0,
                relu_backward=relu_backward_leaky)
    assert found.status == "failed"


@given(st.just(Finding("vjp", "backward matches jax.vjp", "relu_backward", "warning", "x = 0")))
def test_enforce_does_not_raise_on_warnings(warning):
    assert enforce([warning]) == [warning]


# ---------------------------------------------------------------- no diagnosis without evidence


def test_unrelated_mistake_gets_no_diagnosis(impl):
    found = run("tanh", "vjp", impl, tanh_backward=tanh_backward_noisy)
    assert found.status == "failed"
    assert found.failure.diagnosis is None and found.pattern is None
    assert "likely cause" not in found.failure.message


@pytest.mark.parametrize("layer", ["relu", "affine", "softmax_loss"])
def test_correct_implementation_gets_no_diagnosis_or_warning(layer, impl):
    runs = run_checks(layer_named(layer), impl, max_examples=10, derandomize=True)
    assert [r.status for r in runs] == ["passed"] * len(runs)
    assert all(r.warnings == 0 and r.warning is None and r.pattern is None for r in runs)
