"""Validating a derivation: the checker rejects the tempting wrong answers to matrix-calculus
identities, with a message that says what is wrong, and accepts the right ones.

The identities (manual/identities.py, twins in reference/identities.py):
  ∇ₓ ‖A x‖²        = 2 Aᵀ A x          tempting: 2 A x, 2 A Aᵀ x
  ∇_W ‖y − W x‖²   = −2 (y − W x) xᵀ   tempting: −2 x (y − W x)ᵀ (transposed)
  ∇_V ‖W X V − U‖²_F = 2 (W X)ᵀ R     tempting: (W X)ᵀ R (the factor 2 forgotten)

Each wrong answer is planted into a copy of manual/ (``impl.replace``) and run through the ``vjp``
check by hypothesis (``run_check``); its message is then judged on examples of known shape too
(square and non-square A, W), because which shape hypothesis meets first is random.
"""

from __future__ import annotations

import numpy as np
import pytest

import manual
from bpcheck.battery.checks import check_named
from bpcheck.battery.trial import Trial
from bpcheck.registry import layer_named
from bpcheck.battery.runner import run_check
from bpcheck.sampling import Dims, Draw
from bpcheck.battery.example import build_example

#: Examples allowed to find a planted mistake: every one below fails on almost any example.
BUDGET = 100
#: Examples a correct identity must pass (tests/test_properties.py runs the whole battery on them).
PASSING = 50

VJP = check_named("vjp")

# ---------------------------------------------------------------- the tempting wrong answers


def quadratic_norm_2Ax(A, x):
    """∇ₓ‖Ax‖² taken as 2 A x: (m,) where (d,) is due; wrong values even when m = d."""
    loss, _ = manual.quadratic_norm_loss(A, x)
    return loss, 2.0 * A @ x


def quadratic_norm_2AAtx(A, x):
    """∇ₓ‖Ax‖² taken as 2 A Aᵀ x: defined only when A is square, and wrong unless A Aᵀ = Aᵀ A."""
    loss, _ = manual.quadratic_norm_loss(A, x)
    return loss, 2.0 * A @ A.T @ x


def least_squares_transposed_dW(W, x, y):
    """∇_W‖y − Wx‖² taken as −2 x (y − W x)ᵀ: (d, m) where (m, d) is due; the transpose of the
    right values when W is square."""
    loss, (_, dx) = manual.least_squares_loss(W, x, y)
    return loss, (-2.0 * np.outer(x, y - W @ x), dx)


def frobenius_dV_without_2(W, X, V, U):
    """∇_V‖WXV − U‖²_F taken as (W X)ᵀ R: the factor 2 of d(r²) = 2r dr forgotten."""
    loss, (dW, dX, dV) = manual.frobenius_loss(W, X, V, U)
    return loss, (dW, dX, dV / 2.0)


# ---------------------------------------------------------------- helpers


def example(name: str, d: int, m: int, seed: int = 3, n: int = 5, c: int = 3):
    """An example of the named identity with chosen dimensions (A and W are (m, d))."""
    dims = Dims(n=n, d=d, m=m, c=c, trailing=(), split=False)
    return build_example(layer_named(name), Draw(dims, scale=1.0, zeros=False, seed=seed))


def judge(name: str, impl, wrong, ex):
    """The vjp check's finding for ``wrong`` planted as ``name`` on one example."""
    return VJP(Trial(layer_named(name), impl.replace(**{name: wrong}), ex))


def hunt(name: str, impl, wrong, shrink: bool = False):
    """The vjp check over up to BUDGET hypothesis examples; the failure is asserted and returned."""
    run = run_check(layer_named(name), impl.replace(**{name: wrong}), VJP,
                    max_examples=BUDGET, shrink=shrink)
    assert run.failure is not None, f"{wrong.__name__} passed {run.passed} examples"
    assert run.failure.function == name
    assert "reproduce: bpcheck.rebuild(" in run.failure.report()
    return run.failure


def is_square(ex) -> bool:
    rows, cols = ex.args[0].shape
    return rows == cols


# ---------------------------------------------------------------- ∇ₓ ‖A x‖²


def test_2Ax_is_rejected(impl):
    failure = hunt("quadratic_norm_loss", impl, quadratic_norm_2Ax)
    m, d = failure.example.args[0].shape
    if m != d:
        assert f"dx has shape ({m},), expected ({d},)" in failure.message, failure.report()
    else:
        assert "dx differs from jax.vjp: worst entry" in failure.message, failure.report()


def test_2Ax_on_a_non_square_A_reports_the_wrong_shape(impl):
    ex = example("quadratic_norm_loss", d=3, m=4)
    finding = judge("quadratic_norm_loss", impl, quadratic_norm_2Ax, ex)
    assert finding.failed
    assert "dx has shape (4,), expected (3,)" in finding.message, finding.report()


def test_2Ax_on_a_square_A_reports_the_worst_entry(impl):
    ex = example("quadratic_norm_loss", d=3, m=3)
    A, x = ex.args
    finding = judge("quadratic_norm_loss", impl, quadratic_norm_2Ax, ex)
    assert finding.failed and finding.message.startswith("dx differs from jax.vjp: worst entry")
    # The entry named is the worst one, and "yours" / "reference" are the two values there.
    wrong, right = 2.0 * A @ x, 2.0 * A.T @ A @ x
    worst = int(np.argmax(np.abs(wrong - right)))
    assert f"worst entry [{worst}]: yours {float(wrong[worst])!r}, reference " in finding.message
    assert np.isclose(float(finding.message.split("reference ")[1].split(" ")[0]), right[worst],
                      rtol=1e-12)


def test_2Ax_shrinks_to_a_1_by_1_A(impl):
    """Shrinking: the smallest failing example is a 1 × 1 A (2 a x ≠ 2 a² x) of seed 0."""
    failure = hunt("quadratic_norm_loss", impl, quadratic_norm_2Ax, shrink=True)
    A, x = failure.example.args
    assert A.shape == (1, 1) and x.shape == (1,), failure.report()
    assert failure.example.draw.seed == 0, failure.report()
    assert "dx differs from jax.vjp: worst entry [0]" in failure.message
    assert "quadratic_norm_loss((1, 1), (1,))" in failure.report()


def test_2AAtx_is_rejected(impl):
    failure = hunt("quadratic_norm_loss", impl, quadratic_norm_2AAtx)
    if is_square(failure.example):
        assert "dx differs from jax.vjp: worst entry" in failure.message, failure.report()
    else:  # A Aᵀ x does not exist: the checker reports the exception and the line that raised
        assert "quadratic_norm_loss raised ValueError" in failure.message, failure.report()
        assert "2.0 * A @ A.T @ x" in failure.message


def test_2AAtx_on_a_square_A_reports_the_worst_entry(impl):
    ex = example("quadratic_norm_loss", d=3, m=3)
    A, x = ex.args
    assert not np.allclose(A @ A.T, A.T @ A)  # A is not normal, so A Aᵀ ≠ Aᵀ A
    finding = judge("quadratic_norm_loss", impl, quadratic_norm_2AAtx, ex)
    assert finding.failed and finding.message.startswith("dx differs from jax.vjp: worst entry")
    assert "yours" in finding.message and "reference" in finding.message


def test_2AAtx_on_a_non_square_A_reports_the_line(impl):
    ex = example("quadratic_norm_loss", d=3, m=4)
    finding = judge("quadratic_norm_loss", impl, quadratic_norm_2AAtx, ex)
    assert finding.failed
    assert "raised ValueError" in finding.message and "test_identities.py" in finding.message


def test_2AAtx_agrees_for_a_1_by_1_A(impl):
    """A 1 × 1 A is normal: 2 A Aᵀ x is right there, and the checker must not cry wolf."""
    ex = example("quadratic_norm_loss", d=1, m=1)
    assert judge("quadratic_norm_loss", impl, quadratic_norm_2AAtx, ex).status == "passed"


# ---------------------------------------------------------------- ∇_W ‖y − W x‖²


def test_transposed_dW_is_rejected_and_diagnosed(impl):
    failure = hunt("least_squares_loss", impl, least_squares_transposed_dW)
    assert "dW" in failure.message and "transposed" in failure.diagnosis, failure.report()


@pytest.mark.parametrize("d, m, expected", [
    (3, 3, "dW differs from jax.vjp"),
    (3, 4, "dW has shape (3, 4), expected (4, 3)"),
    (4, 1, "dW has shape (4, 1), expected (1, 4)"),
])
def test_transposed_dW_is_diagnosed_as_a_transpose(impl, d, m, expected):
    ex = example("least_squares_loss", d=d, m=m)
    finding = judge("least_squares_loss", impl, least_squares_transposed_dW, ex)
    assert finding.failed and finding.message.startswith(expected), finding.report()
    if d == m:
        assert finding.diagnosis.startswith("dW is transposed"), finding.report()
    else:
        assert finding.diagnosis.startswith(f"dW has the transposed shape ({d}, {m})")
    assert "likely cause: " + finding.diagnosis in finding.message


# ---------------------------------------------------------------- ∇_V ‖W X V − U‖²_F


def test_dV_without_its_factor_2_is_rejected_and_diagnosed(impl):
    failure = hunt("frobenius_loss", impl, frobenius_dV_without_2)
    assert failure.message.startswith("dV differs from jax.vjp: worst entry"), failure.report()
    assert failure.diagnosis == "dV is half the correct value: a missing factor 2 (d(x²)/dx = 2x)?"
    assert "dW" not in failure.message and "dX" not in failure.message  # only dV is wrong


def test_dV_without_its_factor_2_on_non_square_matrices(impl):
    ex = example("frobenius_loss", d=3, m=4, c=1)  # W (5, 3), X (3, 4), V (4, 3), U (5, 3)
    assert [a.shape for a in ex.args] == [(5, 3), (3, 4), (4, 3), (5, 3)]
    finding = judge("frobenius_loss", impl, frobenius_dV_without_2, ex)
    assert finding.failed and "missing factor 2" in finding.diagnosis, finding.report()


# ---------------------------------------------------------------- the right answers pass


@pytest.mark.parametrize("name", ["frobenius_loss", "quadratic_norm_loss", "least_squares_loss"])
def test_the_manual_identities_pass(impl, name):
    run = run_check(layer_named(name), impl, VJP, max_examples=PASSING)
    assert run.failure is None, run.failure.report()
    assert run.passed == PASSING
