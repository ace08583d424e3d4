"""Diagnoses: each classic mistake, planted, gets the one-sentence cause that explains it — and an
unrelated mistake or a correct implementation gets none. Differences only at a kink are warnings.

Every broken function comes from the catalogue (``mistakes/``), by name; the dimensions a test
needs stay here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpcheck.battery.checks import check_named
from bpcheck.battery.trial import Trial
from bpcheck.battery.diagnose import BATCH_ONE, LARGE_ONLY, diagnose_shape
from bpcheck.battery.findings import Finding, enforce
from bpcheck.registry import layer_named
from bpcheck.battery.runner import run_check, run_checks
from bpcheck.sampling import Dims, Draw
from bpcheck.battery.example import build_example
from mistakes import named

pytestmark = pytest.mark.xdist_group(name="diagnose")

#: Examples per run: each mistake below shows within a handful (derandomized, so reproducible).
EXAMPLES = 25


def planted(name: str, impl, wrap=None):
    """manual/ with the catalogue mistake ``name``'s functions in place of its layer's."""
    functions = named(name).functions()
    return impl.replace(**({n: wrap(f) for n, f in functions.items()} if wrap else functions))


def run(name: str, check: str, impl, wrap=None):
    """One check on a catalogue mistake over a few derandomized examples, the first failure kept
    as drawn."""
    return run_check(layer_named(named(name).layer), planted(name, impl, wrap), check_named(check),
                     max_examples=EXAMPLES, derandomize=True, shrink=False)


def judge_one(name: str, check: str, impl, dims: Dims, scale: float = 1.0) -> Finding:
    """One check on one example of a catalogue mistake, built from the given dimensions."""
    layer = layer_named(named(name).layer)
    example = build_example(layer, Draw(dims, scale, False, 7))
    return check_named(check)(Trial(layer, planted(name, impl), example))


def dims(n: int = 5, d: int = 3, m: int = 4, c: int = 4) -> Dims:
    return Dims(n=n, d=d, m=m, c=c, trailing=(3,), split=False)


def quietly(function):
    """``function`` with NumPy's floating-point warnings off, so that NaN and inf reach its
    result instead of raising (bpcheck turns those warnings into errors)."""
    def quiet(*args):
        with np.errstate(all="ignore"):
            return function(*args)

    return quiet


# ---------------------------------------------------------------- per-failure diagnoses


def test_transposed_dw(impl):
    found = run("affine_dw_transposed_square", "vjp", impl)
    assert "transposed" in found.failure.diagnosis
    square = judge_one("affine_dw_transposed_square", "vjp", impl, dims(d=3, m=3))
    assert square.diagnosis == "dw is transposed (e.g. dout.T @ x where x.T @ dout is due)"
    assert square.message.endswith("likely cause: " + square.diagnosis)
    wide = judge_one("affine_dw_transposed_square", "shapes", impl, dims(d=3, m=4))
    assert wide.diagnosis.startswith("dw has the transposed shape (4, 3)")


def test_transposed_then_reshaped_dw(impl):
    found = judge_one("affine_dw_transposed_reshaped", "vjp", impl, dims(d=3, m=4))
    assert found.diagnosis.startswith("dw is transposed, then reshaped back to (3, 4)")


def test_factor_n_sum_instead_of_mean(impl):
    found = run("softmax_loss_missing_1_over_n", "vjp", impl)
    assert found.failure.diagnosis.startswith("dx is N = 5 times too large: a sum over the batch")
    mean = run("affine_db_mean", "vjp", impl)
    assert mean.failure.diagnosis.startswith("db is N = 5 times too small: a mean over the batch")


def test_factor_two(impl):
    half = run("mse_loss_missing_2", "vjp", impl)
    assert half.failure.diagnosis.startswith("dx is half the correct value: a missing factor 2")
    double = run("mse_loss_factor_2_twice", "vjp", impl)
    assert double.failure.diagnosis == "dx is 2 times too large: an extra factor 2?"
    at_n1 = judge_one("mse_loss_factor_2_twice", "vjp", impl, dims(n=1))
    assert at_n1.diagnosis == double.failure.diagnosis  # N = 1: never a "factor N"


def test_finite_differences_check_diagnoses_too(impl):
    found = run("mse_loss_missing_2", "finite_differences", impl)
    assert found.failure.diagnosis.startswith("dx is half the correct value")


def test_float32_arithmetic_is_a_precision_loss_not_a_wrong_derivation(impl):
    found = run("affine_backward_float32", "vjp", impl)
    assert "precision of float32: a precision loss" in found.failure.diagnosis
    forward = run("sigmoid_forward_float32", "forward", impl)
    assert "a precision loss" in forward.failure.diagnosis
    wrong = run("mse_loss_missing_2", "vjp", impl)
    assert "precision" not in wrong.failure.diagnosis  # O(1) off: a derivation mistake


def test_sign_flipped(impl):
    found = run("tanh_sign_flip", "vjp", impl)
    assert found.failure.diagnosis == "dx has the wrong sign (exactly −1 times the correct gradient)"


def test_upstream_gradient_not_multiplied_in(impl):
    found = run("leaky_relu_forgets_dout", "vjp", impl)
    assert found.failure.diagnosis.startswith("dx does not multiply in the upstream gradient")


def test_diagonal_only_jacobian(impl):
    found = run("softmax_diagonal_jacobian", "vjp", impl)
    assert found.failure.diagnosis.startswith("dx uses only the diagonal of the Jacobian")


def test_kept_dimension(impl):
    found = run("affine_db_keepdims", "shapes", impl)
    assert "kept a dimension" in found.failure.diagnosis
    assert found.failure.diagnosis.endswith("use sum(axis=0) without keepdims")


def test_reduced_over_the_wrong_axis(impl):
    found = judge_one("affine_db_wrong_axis", "shapes", impl, dims(n=5, m=4))
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
    found = run("softmax_loss_no_max_shift", "forward", impl, wrap=quietly)
    assert "where the reference is finite: overflow or log(0)?" in found.failure.diagnosis
    vjp = run("softmax_loss_no_max_shift", "vjp", impl, wrap=quietly)
    assert vjp.failure.diagnosis.startswith("dx has NaN")


def test_floating_point_error_raised_by_the_implementation(impl):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # as pytest's filterwarnings does
        found = run("softmax_loss_no_max_shift", "forward", impl)
    assert found.failure.diagnosis.startswith("a floating-point error in your code (overflow")


# ---------------------------------------------------------------- patterns across examples


def test_only_fails_at_batch_size_1(impl):
    found = run("affine_db_squeeze_batch1", "vjp", impl)
    assert found.pattern == BATCH_ONE
    assert found.failure.message.endswith(BATCH_ONE)
    assert found.failure.example.args[0].shape[0] == 1


def test_only_fails_for_large_magnitudes(impl):
    found = run("softplus_naive_overflow", "forward", impl, wrap=quietly)
    assert found.pattern == LARGE_ONLY
    assert "has inf" in found.failure.diagnosis
    assert found.failure.example.draw.scale >= 40


def test_no_pattern_for_a_mistake_at_every_size(impl):
    found = run("tanh_sign_flip", "vjp", impl)
    assert found.pattern is None


# ---------------------------------------------------------------- kinks: a warning, not a failure


def test_difference_only_at_a_kink_is_a_warning(impl):
    runs = run_checks(layer_named("relu"), planted("relu_derivative_1_at_0", impl),
                      max_examples=EXAMPLES, derandomize=True, shrink=False)
    assert all(r.failure is None for r in runs), [r.failure.report() for r in runs if r.failure]
    vjp = next(r for r in runs if r.check == "vjp")
    assert vjp.status == "warning" and vjp.warnings > 0
    assert vjp.warning.message == (
        "dx differs from JAX only at x = 0, where relu is not differentiable: bpcheck follows JAX "
        "(relu'(0) = 0); yours uses 1 there")


def test_wrong_elsewhere_than_the_kink_still_fails(impl):
    found = run("relu_backward_leaky", "vjp", impl)
    assert found.status == "failed"


@given(st.just(Finding("vjp", "backward matches jax.vjp", "relu_backward", "warning", "x = 0")))
def test_enforce_does_not_raise_on_warnings(warning):
    assert enforce([warning]) == [warning]


# ---------------------------------------------------------------- no diagnosis without evidence


def test_unrelated_mistake_gets_no_diagnosis(impl):
    found = run("tanh_backward_perturbed", "vjp", impl)
    assert found.status == "failed"
    assert found.failure.diagnosis is None and found.pattern is None
    assert "likely cause" not in found.failure.message


@pytest.mark.parametrize("layer", ["relu", "affine", "softmax_loss"])
def test_correct_implementation_gets_no_diagnosis_or_warning(layer, impl):
    runs = run_checks(layer_named(layer), impl, max_examples=10, derandomize=True)
    assert [r.status for r in runs] == ["passed"] * len(runs)
    assert all(r.warnings == 0 and r.warning is None and r.pattern is None for r in runs)


def _known_twins_compiled() -> set[str]:
    import reference.known_mistakes as wrong
    from bpcheck.autodiff import _EXECUTABLES

    twins = {getattr(wrong, name) for name in wrong.__all__}
    return {key[0].__name__ for key in _EXECUTABLES if key[0] in twins}


def test_known_mistake_twins_are_compiled_only_after_a_failure(impl):
    """A layer's wrong twins (``Layer.mistakes``) cost nothing while its checks pass."""
    before = _known_twins_compiled()
    runs = run_checks(layer_named("lstm_step"), impl, max_examples=5, derandomize=True)
    assert [r.status for r in runs] == ["passed"] * len(runs)
    assert _known_twins_compiled() == before
    found = run("lstm_step_missing_cell_path", "vjp", impl)
    assert "f ⊙ dnext_c" in found.failure.diagnosis
    assert "lstm_step_without_cell_path" in _known_twins_compiled()
