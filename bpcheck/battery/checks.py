"""The battery: each check runs one example against one implementation and returns a Finding.

No check asserts by itself and no check knows which layer it runs on. The same functions are
driven by pytest (tests/test_properties.py), by ``bpcheck check`` and, later, by grading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from bpcheck import finite_diff
from bpcheck.autodiff import expected as expected_at, output_shape, reference_forward_stacked
from bpcheck.battery.trial import LINEARITY_DOUTS, evaluated, linear_combination, stencil_plan
from bpcheck.battery.diagnose import (
    batch_size, diagnose_exception, diagnose_non_finite, diagnose_precision, diagnose_shape,
    diagnose_values,
    kink_message, kink_only,
)
from bpcheck.battery.findings import Finding
from bpcheck.implementation import (
    Implementation, ImplementationError, backward_result, forward, gradients_of, output_of,
)
from bpcheck.layer import Layer
from bpcheck.battery.example import Example
from bpcheck.tiers import NOT_IN_TIER, check_tier, describe_dtypes, gradient_dtype_ok
from bpcheck.tolerances import FD_MEANINGFUL, FD_SAFETY, FD_STEP, compare
from bpcheck.battery.example import tolerance_for


class Fail(Exception):
    """A check's verdict on this example: wrong. ``function`` overrides the function judged;
    ``diagnosis`` is the most likely cause, when the evidence is clear (see ``diagnose``)."""

    def __init__(self, message: str, error: float | None = None, function: str | None = None,
                 diagnosis: str | None = None):
        super().__init__(message)
        self.error, self.function, self.diagnosis = error, function, diagnosis


class Warn(Exception):
    """A difference that is a convention, not a mistake (e.g. the derivative chosen at a kink)."""

    def __init__(self, message: str, error: float | None = None):
        super().__init__(message)
        self.error = error


class Skip(Exception):
    """This example cannot be judged by this check (e.g. every entry sits on a kink)."""


def _same_shape(actual: np.ndarray, expected_shape: tuple[int, ...], what: str,
                n: int | None = None, *, gradient: bool = False) -> None:
    """Fail unless the shapes match; for a gradient, diagnose its shape (``n``: the batch size,
    None when there is no batch axis)."""
    if tuple(actual.shape) != tuple(expected_shape):
        diagnosis = diagnose_shape(what, actual.shape, expected_shape, n) if gradient else None
        raise Fail(f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected_shape)}",
                   diagnosis=diagnosis)


def _arg_shape(ex: Example, position: int) -> tuple[int, ...]:
    return tuple(np.shape(ex.args[position]))


# ---------------------------------------------------------------- forward and backward vs JAX


def forward_matches(layer: Layer, impl: Implementation, ex: Example) -> float:
    out = output_of(layer, evaluated(layer, impl, ex).full)
    expected, _ = expected_at(layer, ex)
    _same_shape(out, expected.shape, f"{layer.forward_name}'s output")
    result = compare(out, expected, tolerance_for(layer, ex))
    if not result.ok:
        what = "the loss" if layer.is_loss else "the output"
        raise Fail(f"output differs from the JAX twin: {result.describe()}", result.error,
                   diagnosis=diagnose_non_finite(what, out, expected)
                   or diagnose_precision(what, out, expected, ex.draw.tier))
    return result.error


def backward_matches_vjp(layer: Layer, impl: Implementation, ex: Example) -> float:
    """Every gradient equals jax.vjp's; a difference only at kinks is a warning (a convention)."""
    grads = gradients_of(layer, evaluated(layer, impl, ex).full)
    _, expected = expected_at(layer, ex)
    n = batch_size(layer, ex.args)
    problems, diagnoses, conventions, worst = [], [], [], 0.0
    for i, (name, grad, ref) in enumerate(zip(layer.grad_names, grads, expected)):
        _same_shape(grad, ref.shape, name, n, gradient=True)
        result = compare(grad, ref, tolerance_for(layer, ex))
        worst = max(worst, result.error)
        if result.ok:
            continue
        if kink_only(layer, ex, i, grad, ref, tolerance_for(layer, ex)):
            conventions.append(kink_message(layer, ex, i, grad, ref))
            continue
        problems.append(f"{name} differs from jax.vjp: {result.describe()}")
        diagnoses.append(diagnose_values(layer, ex, i, grad, ref))
    if problems:
        raise Fail("; ".join(problems), worst,
                   diagnosis="; ".join(d for d in diagnoses if d) or None)
    if conventions:
        raise Warn("; ".join(conventions), worst)
    return worst


def _diagnose_against_jax(layer: Layer, ex: Example, grads, expected) -> str | None:
    """The first confident diagnosis among the gradients that differ from jax.vjp's."""
    for i, (grad, ref) in enumerate(zip(grads, expected)):
        if grad.shape == ref.shape and not compare(grad, ref, tolerance_for(layer, ex)).ok:
            diagnosis = diagnose_values(layer, ex, i, grad, ref)
            if diagnosis is not None:
                return diagnosis
    return None


# ---------------------------------------------------------------- finite differences


def _phi(layer: Layer, ex: Example, outs) -> list[finite_diff.Estimate]:
    """Finite-difference estimates, one per direction, from the forward's outputs at its stencil
    points: phi = ⟨dout, out⟩ (the loss, for a loss), with the magnitude of its terms for the
    rounding bound."""
    weights = np.float64(1.0) if ex.dout is None else ex.dout
    scale = 1.0 + max(float(np.max(np.abs(ex.args[p]), initial=0.0)) for p in layer.differentiable)
    measured = [(float((weights * out).sum()), float((np.abs(weights) * (np.abs(out) + scale)).sum()))
                for out in outs]
    return finite_diff.estimates(measured, FD_STEP)


def backward_matches_finite_differences(layer: Layer, impl: Implementation, ex: Example) -> float:
    """Not in the float32 tier (``bpcheck.tiers``): a float32 forward cannot be differenced at a
    float64 step, and the float64 tier already proves the derivation against finite differences."""
    if ex.draw.tier != "float64":
        raise Skip("finite differences run in the float64 tier only")
    calls = evaluated(layer, impl, ex)
    grads = gradients_of(layer, calls.full)
    for name, grad, position in zip(layer.grad_names, grads, layer.differentiable):
        _same_shape(grad, _arg_shape(ex, position), name, batch_size(layer, ex.args),
                    gradient=True)
    # Backward is judged on its own: differentiate the JAX twin when the forward is wrong here.
    expected_out, expected_grads = expected_at(layer, ex)
    try:
        out = output_of(layer, calls.full)
        own = (out.shape == expected_out.shape
               and compare(out, expected_out, tolerance_for(layer, ex)).ok)
    except ImplementationError:
        own = False
    plan = stencil_plan(layer, ex)
    if not plan.judged:
        raise Skip("every entry is within a finite-difference step of a kink")
    if own and not impl.remote:  # the forward, shown right here, at the judged directions
        directions = plan.judged
        outs = [forward(layer, impl, point)[0] for point in plan.points()]
    else:  # the JAX twin, at every candidate's points in one call (see ``calls``)
        directions = list(plan.candidates)
        outs = reference_forward_stacked(layer, ex.args, finite_diff.stacked_stencil(
            ex.args, layer.differentiable, [d.vectors for d in directions]))
    verdicts = []  # (what, analytic, estimate)
    for direction, estimate in zip(directions, _phi(layer, ex, outs)):
        if direction.judged:
            entry = direction.entry
            analytic = (float(grads[entry[0]][entry[1]]) if entry is not None else
                        sum(float(np.sum(g * v)) for g, v in zip(grads, direction.vectors)))
            verdicts.append((direction.what, analytic, estimate))

    worst_error, failures = 0.0, []
    for what, analytic, estimate in verdicts:
        gap = abs(analytic - estimate.value)
        size = max(abs(analytic), abs(estimate.value))
        if size > FD_MEANINGFUL * estimate.error:  # a relative error means something here
            worst_error = max(worst_error, gap / size)
        if not gap <= FD_SAFETY * estimate.error:  # (a NaN gradient fails too)
            failures.append((gap / estimate.error if gap == gap else np.inf, what, analytic,
                             estimate))
    if failures:
        _, what, analytic, estimate = max(failures, key=lambda f: f[0])
        source = "" if own else " (of the JAX twin, since the forward is wrong here)"
        raise Fail(
            f"{len(failures)} of {len(verdicts)} finite-difference checks failed{source}; worst "
            f"{what}: yours {analytic!r}, finite differences {estimate.value!r} "
            f"(their error ≤ {estimate.error:.1e})",
            worst_error,
            diagnosis=_diagnose_against_jax(layer, ex, grads, expected_grads) if own else None,
        )
    return worst_error


# ---------------------------------------------------------------- protocol invariants


def shapes_and_dtypes(layer: Layer, impl: Implementation, ex: Example) -> None:
    evaluation = evaluated(layer, impl, ex).full
    result = evaluation.forward
    if isinstance(result, ImplementationError):
        raise result
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Fail(f"{layer.forward_name} must return a pair, got {type(result).__name__}",
                   function=layer.forward_name)
    first = result[0]
    expected = output_shape(layer, ex.args)
    if np.shape(first) != expected:
        what = "loss must be a scalar" if layer.is_loss else "output must have shape"
        raise Fail(f"{layer.forward_name}: {what} {expected}, got shape {np.shape(first)}",
                   function=layer.forward_name)
    raw = backward_result(layer, evaluation)
    if len(layer.grad_names) == 1 and not isinstance(raw, (tuple, list)):
        raw = (raw,)
    elif not isinstance(raw, (tuple, list)) or len(raw) != len(layer.grad_names):
        raise Fail(f"{layer.backward_name} must return ({', '.join(layer.grad_names)})")
    for name, grad, position in zip(layer.grad_names, raw, layer.differentiable):
        want = _arg_shape(ex, position)
        if not isinstance(grad, np.ndarray):
            diagnosis = diagnose_shape(name, (), want, batch_size(layer, ex.args)) if isinstance(
                grad, (float, np.number)) else None
            raise Fail(f"{name} is {type(grad).__name__}, expected a "
                       f"{describe_dtypes(ex.draw.tier)} array of shape {want}",
                       diagnosis=diagnosis)
        if grad.shape != want:
            raise Fail(f"{name} has shape {grad.shape}, expected {want} "
                       f"(the shape of {layer.arg_names[position]})",
                       diagnosis=diagnose_shape(name, grad.shape, want,
                                                batch_size(layer, ex.args)))
        if not gradient_dtype_ok(grad, ex.draw.tier):
            raise Fail(f"{name} has dtype {grad.dtype}, expected {describe_dtypes(ex.draw.tier)}")


def no_mutation_or_aliasing(layer: Layer, impl: Implementation, ex: Example) -> None:
    evaluation = evaluated(layer, impl, ex).full
    if isinstance(evaluation.forward, ImplementationError):
        raise evaluation.forward
    for position in evaluation.changed:
        if position not in layer.mutable:
            raise Fail(f"{layer.forward_name} modified its argument {layer.arg_names[position]} "
                       f"in place", function=layer.forward_name)
    if not evaluation.audits:
        return
    if not layer.is_loss:
        backward_result(layer, evaluation)  # raises what the backward raised
    audit = evaluation.audits[0]
    if audit.dout_changed:
        raise Fail(f"{layer.backward_name} modified dout (the upstream gradient) in place")
    if audit.cache_changed:
        raise Fail(f"{layer.backward_name} modified the cache in place")
    for index, source in audit.aliases:
        name = layer.grad_names[index] if index < len(layer.grad_names) else f"gradient {index}"
        if source == "dout":
            raise Fail(f"{name} shares memory with dout: it must be a new array")
        what = layer.arg_names[source] if 0 <= source < len(layer.arg_names) else source
        raise Fail(f"{name} shares memory with the input {what}")


def linear_in_dout(layer: Layer, impl: Implementation, ex: Example) -> float:
    _, a, b = linear_combination(ex)
    evaluation = evaluated(layer, impl, ex).full
    g1, g2, g12, g0 = (gradients_of(layer, evaluation, k) for k in range(LINEARITY_DOUTS))
    worst = 0.0
    for name, x1, x2, x12, x0 in zip(layer.grad_names, g1, g2, g12, g0):
        _same_shape(x12, x1.shape, name)
        combined = compare(x12, a * x1 + b * x2, tolerance_for(layer, ex))
        worst = max(worst, combined.error)
        if not combined.ok:
            raise Fail(f"backward(a·d1 + b·d2) ≠ a·backward(d1) + b·backward(d2) in {name} "
                       f"(a={a:.3g}, b={b:.3g}): {combined.describe()}", combined.error)
        zero = compare(x0, np.zeros_like(x0), tolerance_for(layer, ex))
        if not zero.ok:
            raise Fail(f"a zero dout gives a non-zero {name}: {zero.describe()}", zero.error)
    return worst


def consistent_over_the_batch(layer: Layer, impl: Implementation, ex: Example) -> float:
    """Rows computed one example at a time (each with batch size 1) equal the batch's rows;
    parameter gradients are the sum of the per-example ones; a loss is the mean of its rows."""
    n = np.shape(ex.args[layer.batched[0]])[0]
    calls = evaluated(layer, impl, ex)
    full_out, full_grads = output_of(layer, calls.full), gradients_of(layer, calls.full)
    # Rows of batched gradients are kept to be stacked; parameter gradients are summed as they
    # come (a list of N copies of a large dw would cost N times its memory).
    outs: list[np.ndarray] = []
    rows: dict[int, list[np.ndarray]] = {k: [] for k, p in enumerate(layer.differentiable)
                                         if p in layer.batched}
    totals: dict[int, np.ndarray] = {}
    for i, evaluation in enumerate(calls.singles):
        out_i, grads_i = output_of(layer, evaluation), gradients_of(layer, evaluation)
        outs.append(out_i)
        for k, grad in enumerate(grads_i):
            if k in rows:
                rows[k].append(grad)
            elif k not in totals:
                totals[k] = np.array(grad, dtype=np.float64)
            elif grad.shape != totals[k].shape:
                raise Fail(f"{layer.grad_names[k]} has shape {grad.shape} for example {i} but "
                           f"{totals[k].shape} for example 0 (batch size 1 each)")
            else:
                totals[k] += grad
    # A loss is the mean of its rows' losses, so its gradients are the mean of theirs (a
    # regulariser counted once per example stays counted once); a layer's parameter gradients
    # are the sum of the per-example ones.
    if layer.is_loss:
        pairs = [("loss", layer.forward_name, np.mean(outs), full_out)]
    else:
        pairs = [("out", layer.forward_name, np.concatenate(outs), full_out)]
    for k, name in enumerate(layer.grad_names):
        if k in rows:
            merged = np.concatenate(rows[k]) / (n if layer.is_loss else 1)
        else:
            merged = totals[k] / (n if layer.is_loss else 1)
        pairs.append((name, layer.backward_name, merged, full_grads[k]))
    worst = 0.0
    for name, function, per_example, batch in pairs:
        if np.shape(per_example) != np.shape(batch):
            raise Fail(f"{name} has shape {np.shape(batch)} for the batch but "
                       f"{np.shape(per_example)} assembled from single examples", function=function)
        result = compare(batch, per_example, tolerance_for(layer, ex))
        worst = max(worst, result.error)
        if not result.ok:
            raise Fail(f"{name} for the batch differs from {name} computed one example at a time "
                       f"(batch size 1 each): {result.describe()}", result.error, function)
    return worst


# ---------------------------------------------------------------- the battery


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    run: Callable[[Layer, Implementation, Example], float | None]
    judges: str = "backward"  # which function a finding names by default: "forward" | "backward"
    applies: Callable[[Layer], bool] = lambda layer: True

    def __call__(self, layer: Layer, impl: Implementation, ex: Example) -> Finding:
        function = layer.forward_name if self.judges == "forward" else layer.backward_name
        try:
            error = self.run(layer, impl, ex)
        except Fail as fail:
            return Finding(self.name, self.title, fail.function or function, "failed",
                           _with_cause(str(fail), fail.diagnosis), fail.error, ex,
                           diagnosis=fail.diagnosis)
        except ImplementationError as exc:
            diagnosis = diagnose_exception(exc)
            return Finding(self.name, self.title, function, "failed",
                           _with_cause(str(exc), diagnosis), None, ex, diagnosis=diagnosis)
        except Warn as warn:
            return Finding(self.name, self.title, function, "warning", str(warn), warn.error, ex)
        except Skip as skip:
            return Finding(self.name, self.title, function, "skipped", str(skip), None, ex)
        return Finding(self.name, self.title, function, "passed", "", error, ex)


def _with_cause(message: str, diagnosis: str | None) -> str:
    return message if diagnosis is None else f"{message} — likely cause: {diagnosis}"


BATTERY: tuple[Check, ...] = (
    Check("forward", "forward matches the JAX twin", forward_matches, judges="forward"),
    Check("vjp", "backward matches jax.vjp", backward_matches_vjp),
    Check("finite_differences", "backward matches finite differences",
          backward_matches_finite_differences),
    Check("shapes", "gradient shapes and dtypes match the arguments", shapes_and_dtypes),
    Check("no_mutation", "no argument, dout or cache modified; no gradient aliases an input",
          no_mutation_or_aliasing),
    Check("linearity", "backward is linear in dout; zero dout gives zero gradients",
          linear_in_dout, applies=lambda layer: not layer.is_loss),
    Check("batch", "batch rows equal single-example rows (batch size 1)",
          consistent_over_the_batch, applies=lambda layer: bool(layer.batched)),
)


def checks_for(layer: Layer) -> tuple[Check, ...]:
    return tuple(check for check in BATTERY if check.applies(layer))


def run_battery(
    layer: Layer, impl: Implementation, ex: Example, checks: tuple[Check, ...] | None = None
) -> list[Finding]:
    """Every applicable check (or those given) on one example."""
    return [check(layer, impl, ex) for check in (checks or checks_for(layer))]


def check_named(name: str) -> Check:
    for check in BATTERY:
        if check.name == name:
            return check
    raise KeyError(name)


def checks_in_tier(checks: tuple[Check, ...], tier: str) -> tuple[Check, ...]:
    """The checks among ``checks`` that run in ``tier``."""
    return tuple(c for c in checks if c.name not in NOT_IN_TIER[check_tier(tier)])


def checks_available(layer: Layer, impl: Implementation, problems: dict[str, str]
                     ) -> tuple[Check, ...]:
    """The checks that can run: all when forward and backward are usable, the forward check when
    only the forward is, none otherwise."""
    usable = {n for n in layer.functions if n in impl.functions and n not in problems}
    if set(layer.functions) <= usable:
        return checks_for(layer)
    if layer.forward_name in usable:
        return tuple(c for c in BATTERY if c.judges == "forward" and c.applies(layer))
    return ()
