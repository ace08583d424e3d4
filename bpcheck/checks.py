"""The battery: each check runs one example against one implementation and returns a Finding.

No check asserts by itself and no check knows which layer it runs on. The same functions are
driven by pytest (tests/test_properties.py), by ``bpcheck check`` and, later, by grading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from bpcheck import finite_diff
from bpcheck.autodiff import expected as expected_at, output_shape, reference_forward
from bpcheck.diagnose import (
    batch_size, diagnose_exception, diagnose_non_finite, diagnose_precision, diagnose_shape,
    diagnose_values,
    kink_message, kink_only,
)
from bpcheck.findings import Finding
from bpcheck.implementation import (
    Implementation, ImplementationError, backward, call, evaluate, forward, fresh,
)
from bpcheck.layer import Layer
from bpcheck.strategies import Example
from bpcheck.tiers import describe_dtypes, gradient_dtype_ok, in_tier
from bpcheck.tolerances import (
    FD_ELEMENTWISE_MAX, FD_MEANINGFUL, FD_SAFETY, compare, tolerance_for,
)


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
    out, _ = forward(layer, impl, ex.args)
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
    _, grads = evaluate(layer, impl, ex.args, ex.dout)
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


def _scalar_function(layer: Layer, impl: Implementation, ex: Example, trust_own_forward: bool):
    """phi(args) -> (value, magnitude): ⟨dout, forward(args)⟩ for a layer, the loss for a loss."""
    weights = np.float64(1.0) if ex.dout is None else ex.dout
    scale = 1.0 + max(float(np.max(np.abs(ex.args[p]), initial=0.0)) for p in layer.differentiable)

    def phi(args: tuple[Any, ...]) -> tuple[float, float]:
        out = forward(layer, impl, args)[0] if trust_own_forward else reference_forward(layer, args)
        return float((weights * out).sum()), float((np.abs(weights) * (np.abs(out) + scale)).sum())

    return phi


def backward_matches_finite_differences(layer: Layer, impl: Implementation, ex: Example) -> float:
    """Not in the float32 tier (``bpcheck.tiers``): a float32 forward cannot be differenced at a
    float64 step, and the float64 tier already proves the derivation against finite differences."""
    if ex.draw.tier != "float64":
        raise Skip("finite differences run in the float64 tier only")
    out, grads = evaluate(layer, impl, ex.args, ex.dout)
    shapes = [_arg_shape(ex, p) for p in layer.differentiable]
    for name, grad, shape in zip(layer.grad_names, grads, shapes):
        _same_shape(grad, shape, name, batch_size(layer, ex.args), gradient=True)
    # Backward is judged on its own: differentiate the JAX twin when the forward is wrong here.
    expected_out, expected_grads = expected_at(layer, ex)
    own = (out.shape == expected_out.shape
           and compare(out, expected_out, tolerance_for(layer, ex)).ok)
    # A forward shown right here is differentiated as is; in a sandbox, where each call is a
    # round trip, its JAX twin (equal to it on this example) is evaluated instead: same verdict,
    # half the calls of a whole check.
    phi = _scalar_function(layer, impl, ex, trust_own_forward=own and not impl.remote)
    positions = layer.differentiable
    rng = np.random.default_rng(ex.draw.seed ^ 0x5EED)
    direction = finite_diff.random_direction(shapes, rng)

    verdicts = []  # (what, analytic, estimate)
    near_kink = finite_diff.crosses_kink(layer.kinks, ex.args, positions, direction)
    if not near_kink:
        estimate = finite_diff.directional(phi, ex.args, positions, direction)
        analytic = sum(float(np.sum(g * v)) for g, v in zip(grads, direction))
        verdicts.append(("along a random direction", analytic, estimate))
    entries = sum(int(np.prod(s)) for s in shapes)
    if near_kink or entries <= FD_ELEMENTWISE_MAX:
        # Entry by entry; on a large input near a kink, a random FD_ELEMENTWISE_MAX of them
        # (all of them would cost O(parameters) calls on a realistic network).
        units = [(i, index) for i, shape in enumerate(shapes) for index in np.ndindex(*shape)]
        if entries > FD_ELEMENTWISE_MAX:
            units = [units[k] for k in sorted(rng.choice(entries, FD_ELEMENTWISE_MAX, False))]
        for i, index in units:
            unit = finite_diff.unit_direction(shapes, i, index)
            if finite_diff.crosses_kink(layer.kinks, ex.args, positions, unit):
                continue
            estimate = finite_diff.directional(phi, ex.args, positions, unit)
            verdicts.append((f"{layer.grad_names[i]}{list(index)}", float(grads[i][index]), estimate))
    if not verdicts:
        raise Skip("every entry is within a finite-difference step of a kink")

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
    result = call(impl, layer.forward_name, *fresh(ex.args))
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Fail(f"{layer.forward_name} must return a pair, got {type(result).__name__}",
                   function=layer.forward_name)
    first, second = result
    expected = output_shape(layer, ex.args)
    if np.shape(first) != expected:
        what = "loss must be a scalar" if layer.is_loss else "output must have shape"
        raise Fail(f"{layer.forward_name}: {what} {expected}, got shape {np.shape(first)}",
                   function=layer.forward_name)
    raw = second if layer.is_loss else call(impl, layer.backward_name, fresh(ex.dout), second)
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


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape
                and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(_unchanged(before[k], after[k]) for k in before))
    if isinstance(before, (tuple, list)):
        return (type(before) is type(after) and len(before) == len(after)
                and all(_unchanged(b, a) for b, a in zip(before, after)))
    try:
        return bool(before == after)
    except Exception:
        return before is after


def _arrays_in(value: Any):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays_in(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _arrays_in(item)


def no_mutation_or_aliasing(layer: Layer, impl: Implementation, ex: Example) -> None:
    given = fresh(ex.args)
    out, second = call(impl, layer.forward_name, *given)
    for position, (before, after) in enumerate(zip(ex.args, given)):
        if position not in layer.mutable and not _unchanged(before, after):
            raise Fail(f"{layer.forward_name} modified its argument {layer.arg_names[position]} "
                       f"in place", function=layer.forward_name)
    if layer.is_loss:
        grads, upstream = second, None
    else:
        upstream, snapshot = fresh(ex.dout), fresh(second)
        grads = call(impl, layer.backward_name, upstream, second)
        if not _unchanged(ex.dout, upstream):
            raise Fail(f"{layer.backward_name} modified dout (the upstream gradient) in place")
        if not _unchanged(snapshot, second):
            raise Fail(f"{layer.backward_name} modified the cache in place")
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    for name, grad in zip(layer.grad_names, grads):
        if not isinstance(grad, np.ndarray):
            continue
        if upstream is not None and np.shares_memory(grad, upstream):
            raise Fail(f"{name} shares memory with dout: it must be a new array")
        for position, arg in enumerate(given):
            if any(np.shares_memory(grad, a) for a in _arrays_in(arg)):
                raise Fail(f"{name} shares memory with the input {layer.arg_names[position]}")


def linear_in_dout(layer: Layer, impl: Implementation, ex: Example) -> float:
    _, cache = forward(layer, impl, ex.args)
    rng = np.random.default_rng(ex.draw.seed ^ 0x11EA)
    d1, d2 = ex.dout, in_tier(rng.standard_normal(ex.dout.shape), ex.draw.tier)
    a, b = rng.uniform(-2.0, 2.0, size=2)
    combination = in_tier(a * d1 + b * d2, ex.draw.tier)  # every dout in the example's dtype
    g1, g2, g12, g0 = (backward(layer, impl, d, fresh(cache))
                       for d in (d1, d2, combination, np.zeros_like(d1)))
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
    full_out, full_grads = evaluate(layer, impl, ex.args, ex.dout)
    # Rows of batched gradients are kept to be stacked; parameter gradients are summed as they
    # come (a list of N copies of a large dw would cost N times its memory).
    outs: list[np.ndarray] = []
    rows: dict[int, list[np.ndarray]] = {k: [] for k, p in enumerate(layer.differentiable)
                                         if p in layer.batched}
    totals: dict[int, np.ndarray] = {}
    for i in range(n):
        single = tuple(a[i:i + 1] if p in layer.batched else a for p, a in enumerate(ex.args))
        out_i, grads_i = evaluate(layer, impl, single,
                                  None if ex.dout is None else ex.dout[i:i + 1])
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
