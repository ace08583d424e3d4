"""The checker itself: each mistake of the catalogue (``mistakes/``) is caught by every check its
``CATCHES`` names, on one of its ``BROKEN`` functions, with a line that reproduces the example; a
convention (``WARNS``) is warned about by its checks and failed by none.

Each check runs alone, as a student's code would meet it, over a few derandomized examples
(reproducible: the same draws on every run).
"""

import pytest

from bpcheck.battery.checks import check_named
from bpcheck.battery.runner import run_check
from bpcheck.registry import layer_named
from mistakes import catalogue, named

#: Examples allowed to find a mistake. Derandomized, every check of every CATCHES fails within
#: its first 14 examples (batchnorm_edits_cache: the first train-mode examples with N > 1); the
#: bound only keeps a regression from hanging the suite.
BUDGET = 60

CATALOGUE = catalogue()


def _cases(field: str) -> list:
    return [pytest.param(m, check, id=f"{m.name} -> {check}",
                         marks=pytest.mark.xdist_group(name=m.layer))
            for m in CATALOGUE for check in getattr(m, field)]


def run_alone(mistake, check: str, impl, budget: int = BUDGET):
    """``check`` alone on the mistake's functions planted into ``impl`` (manual/)."""
    return run_check(layer_named(mistake.layer), impl.replace(**mistake.functions()),
                     check_named(check), max_examples=budget, derandomize=True, shrink=False)


def assert_caught(mistake, check: str, impl, budget: int = BUDGET) -> None:
    run = run_alone(mistake, check, impl, budget)
    assert run.failure is not None, (
        f"{check} did not catch {mistake.name} in {run.passed} examples (its CATCHES says it must)")
    report = run.failure.report()
    assert run.failure.function in mistake.broken, report
    assert "reproduce: bpcheck.rebuild(" in report


@pytest.mark.parametrize("mistake, check", _cases("catches"))
def test_catalogue_mistake_is_caught(mistake, check, impl):
    assert_caught(mistake, check, impl)


@pytest.mark.parametrize("mistake, check", _cases("warns"))
def test_catalogue_convention_is_warned_about_not_failed(mistake, check, impl):
    run = run_alone(mistake, check, impl)
    assert run.failure is None, run.failure.report()
    assert run.warnings > 0, f"{check} did not warn about {mistake.name} in {run.passed} examples"
    assert run.warning.function in mistake.broken and mistake.diagnosed(run.warning.message), (
        run.warning.message)


def test_a_wrong_catches_entry_fails_the_test(impl):
    """The test above can fail: relu_edits_dout returns the right values, so ``vjp`` cannot be
    among the checks that catch it."""
    with pytest.raises(AssertionError, match="vjp did not catch relu_edits_dout"):
        assert_caught(named("relu_edits_dout"), "vjp", impl, budget=10)


def test_failure_shrinks_to_the_smallest_example(impl):
    """The squeeze only bites at batch size 1: hypothesis must shrink to N = 1."""
    mistake = named("affine_db_squeeze_batch1")
    run = run_check(layer_named("affine"), impl.replace(**mistake.functions()),
                    check_named("shapes"))
    example = run.failure.example
    assert example.args[0].shape[0] == 1 and example.draw.seed == 0, run.failure.report()


def test_an_exact_finite_difference_estimate_fails_a_wrong_gradient_cleanly():
    """At an all-zero example (x = 0, dout = 0) phi is identically 0, so the finite-difference
    estimate is exact and its error bound 0. A backward that ignores dout answers nonzero there;
    ranking its failure by gap / bound raised ZeroDivisionError out of the battery, and the
    verdict said "a bug in bpcheck" (found by the example notebook's swish cell)."""
    import numpy as np

    from bpcheck.battery.checks import run_battery
    from bpcheck.battery.example import build_example
    from bpcheck.implementation import Implementation
    from bpcheck.jaxsetup import jax
    from bpcheck.layer import Layer
    from bpcheck.loader import one_array_sample
    from bpcheck.sampling import Dims, Draw

    def swish_forward(x):
        s = 1 / (1 + np.exp(-x))
        return x * s, (x, s)

    def swish_backward(dout, cache):  # forgets to multiply by dout
        x, s = cache
        return s + x * s * (1 - s)

    layer = Layer("swish", lambda x: x * jax.nn.sigmoid(x), one_array_sample)
    impl = Implementation("swish", {"swish_forward": swish_forward,
                                    "swish_backward": swish_backward})
    example = build_example(layer, Draw(dims=Dims(n=1, d=1, m=1, c=1, trailing=(), split=False),
                                        scale=1.0, zeros=True, seed=0))
    [finding] = run_battery(layer, impl, example, (check_named("finite_differences"),))
    assert finding.failed and "finite-difference checks failed" in finding.message, finding


def test_an_lstm_step_backward_is_judged_on_each_upstream_gradient_alone(impl):
    """An LSTM step's backward is checked against jax.vjp at random dnext_h and dnext_c together
    and at each alone (the other zero): a backward that returns zeros when dnext_h is zero (a
    "nothing to do" shortcut that forgets the cell path) passes on random douts and fails here."""
    import numpy as np

    from bpcheck.battery.checks import run_battery
    from bpcheck.battery.example import build_example
    from bpcheck.sampling import Draw, Sizes

    def shortcut(dnext_h, dnext_c, cache):
        grads = impl.functions["lstm_step_backward"](dnext_h, dnext_c, cache)
        return tuple(np.zeros_like(g) for g in grads) if not np.any(dnext_h) else grads

    layer = layer_named("lstm_step")
    example = build_example(layer, Draw(Sizes(n=3, d=3, h=2), 1.0, False, 4))
    checks = (check_named("vjp"),)
    [correct] = run_battery(layer, impl, example, checks)
    assert correct.status == "passed", correct
    [found] = run_battery(layer, impl.replace(lstm_step_backward=shortcut), example, checks)
    assert found.failed and "with dnext_c alone (dnext_h zero)" in found.message, found


def test_only_the_courses_own_log_of_underflow_is_a_warning_at_stress_magnitudes(impl):
    """cs231n gives students temporal_softmax_loss, whose log of an underflowed probability
    raises at scores of ±1e4 (``Layer.beyond_contract``): a warning naming it, and the same code
    passes at magnitude 1. The same example still fails a loss without the max shift (exp
    overflows: another error). Without the record's field, the given code fails."""
    import numpy as np

    from bpcheck.battery.checks import run_battery
    from bpcheck.battery.example import build_example
    from bpcheck.sampling import Draw, Sizes

    given = named("temporal_softmax_loss_log_of_zero").functions()["temporal_softmax_loss"]

    def unshifted(x, y, mask, verbose=False):
        e = np.exp(x)  # no max shift: overflows
        p = e / e.sum(axis=2, keepdims=True)
        n = x.shape[0]
        rows = np.indices(y.shape)
        loss = -np.sum(mask * np.log(p[rows[0], rows[1], y])) / n
        dx = p.copy()
        dx[rows[0], rows[1], y] -= 1
        return loss, dx * mask[..., None] / n

    layer = layer_named("temporal_softmax_loss")
    checks = (check_named("forward"), check_named("vjp"))

    def statuses(function, scale):
        example = build_example(layer, Draw(Sizes(n=3, t=2, v=4), scale, False, 0))
        found = run_battery(layer, impl.replace(temporal_softmax_loss=function), example, checks)
        return [(f.status, f.message) for f in found]

    stressed = statuses(given, 1e4)
    assert [s for s, _ in stressed] == ["warning", "warning"], stressed
    assert "cs231n's given temporal_softmax_loss" in stressed[0][1]
    assert [s for s, _ in statuses(unshifted, 1e4)] == ["failed", "failed"]
    assert [s for s, _ in statuses(given, 1.0)] == ["passed", "passed"]


def test_a_check_pair_reproduce_line_rebuilds_its_example():
    """check_pair's layer is not in the registry: its report's line ``bpcheck.rebuild('swish',
    Draw(...))`` raised "no layer named 'swish'"; it now rebuilds the example that failed."""
    import re

    import numpy as np

    import bpcheck
    from bpcheck.jaxsetup import jax
    from bpcheck.sampling import Dims, Draw, Sizes  # noqa: F401  (the line's names)

    def swish_forward(x):
        s = 1 / (1 + np.exp(-np.clip(x, -500, 500)))
        return x * s, (x, s)

    def swish_backward(dout, cache):
        x, s = cache
        return 2 * dout * (s + x * s * (1 - s))  # twice the gradient

    verdict = bpcheck.check_pair(swish_forward, swish_backward, progress=False, examples=10,
                                 reference=lambda x: x * jax.nn.sigmoid(x))
    line = re.search(r"reproduce: (bpcheck\.rebuild\(.*\))", str(verdict)).group(1)
    example = eval(line)  # noqa: S307 (the line a user pastes)
    assert example.layer == "swish"
    dx = swish_backward(example.dout, swish_forward(example.args[0])[1])
    x = example.args[0]
    s = 1 / (1 + np.exp(-x))
    assert not np.allclose(dx, example.dout * (s + x * s * (1 - s)))  # it is the failing one


def test_a_matrix_products_floating_point_warning_is_not_the_formulas():
    """OpenBLAS sets the invalid flag on correct, finite products (numpy issues 13173, 24067):
    manual/'s deep_column_net_loss failed the float32 tier in a fresh clone with "invalid value
    encountered in matmul" on finite inputs and a finite result, depending on what the worker had
    run before. A product's warning is ignored (a real one shows as inf or NaN in the result);
    any other floating-point warning is still the function's error."""
    import warnings

    import numpy as np

    from bpcheck.implementation import Implementation, ImplementationError, call

    def product(x):
        warnings.warn("invalid value encountered in matmul", RuntimeWarning)
        return x @ x.T

    def exponential(x):
        warnings.warn("overflow encountered in exp", RuntimeWarning)
        return np.exp(x)

    impl = Implementation("warnings", {"product": product, "exponential": exponential})
    x = np.eye(2)
    np.testing.assert_array_equal(call(impl, "product", x), x)
    with pytest.raises(ImplementationError, match="overflow encountered in exp"):
        call(impl, "exponential", x)


def test_a_gradient_zero_in_theory_is_judged_at_the_examples_scale(impl):
    """A bias before batchnorm has a gradient that is exactly zero in theory and computed as a sum
    of terms as large as the other gradients: manual/'s FullyConnectedNet gave db1 = 2.6e-13 beside
    a dW1 of 28.6 (found in a fresh clone's run), past ANALYTIC's absolute 1e-13. Judged at the
    example's gradient scale it passes; a db1 off by a visible amount still fails."""
    from bpcheck.battery.checks import run_battery
    from bpcheck.battery.example import rebuild
    from bpcheck.sampling import Draw, Sizes

    layer = layer_named("FullyConnectedNet")
    example = rebuild("FullyConnectedNet", Draw(dims=Sizes(n=4, d=3, h1=4, h2=5, c=2), scale=1.0,
                                                  zeros=True, seed=3345))
    [vjp] = run_battery(layer, impl, example, (check_named("vjp"),))
    assert vjp.status == "passed", vjp
    from bpcheck.battery.trial import Trial
    from bpcheck.tolerances import compare

    trial = Trial(layer, impl, example)
    _, reference = trial.expected
    db1 = reference[layer.grad_names.index("db1")]
    assert compare(db1 + 2.6e-13, db1, trial.gradient_tolerance).ok
    assert not compare(db1 + 1e-6, db1, trial.gradient_tolerance).ok  # a visible mistake
