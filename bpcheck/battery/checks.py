"""The battery: each check judges one trial (an example against an implementation) and returns a
Finding.

No check asserts by itself and no check knows which layer it runs on. The same functions are
driven by pytest (tests/test_properties.py and the pytest plugin), by ``bpcheck check`` and by
grading. A check's facts — the function it judges, whether it measures values, the tiers it runs
in, whether it needs a backward — live in its record (``Check``), nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from bpcheck import finite_diff
from bpcheck.autodiff import output_shape, reference_forward_stacked
from bpcheck.battery.example import Example
from bpcheck.battery.diagnose import (
    batch_size, diagnose_exception, diagnose_gradient_shape, diagnose_non_finite, diagnose_outputs,
    diagnose_precision, diagnose_shape, diagnose_values, floating_point_error, kink_message,
    kink_only,
)
from bpcheck.battery.findings import Finding
from bpcheck.battery.trial import LINEARITY_DOUTS, Trial, linear_combination
from bpcheck.implementation import (
    Caller, Implementation, ImplementationError, as_array, backward_result, forward,
    gradients_of, outputs_of, returned,
)
from bpcheck.layer import ANY_KEY, Layer
from bpcheck.outcomes import Fail, Skip, Status, Warn
from bpcheck.tiers import TIERS, check_tier, describe_dtypes, gradient_dtype_ok
from bpcheck.tolerances import FD_MEANINGFUL, FD_SAFETY, FD_STEP, compare


def _same_shape(actual: np.ndarray, expected_shape: tuple[int, ...], what: str,
                gradient_of: tuple[Layer, tuple[Any, ...]] | None = None) -> None:
    """Fail unless the shapes match; for a gradient (``gradient_of``: its layer and the forward's
    arguments), diagnose its shape."""
    if tuple(actual.shape) != tuple(expected_shape):
        diagnosis = None if gradient_of is None else diagnose_gradient_shape(
            *gradient_of, what, actual.shape, expected_shape)
        raise Fail(f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected_shape)}",
                   diagnosis=diagnosis)


def _output_names(layer: Layer) -> tuple[str, ...]:
    return ("loss",) if layer.is_loss else layer.outputs


# ---------------------------------------------------------------- forward and backward vs JAX


def forward_matches(trial: Trial) -> float:
    layer = trial.layer
    outputs = outputs_of(layer, trial.evaluated.full)
    expected, _ = trial.expected
    worst = 0.0
    for name, out, ref in zip(_output_names(layer), outputs, expected):
        _same_shape(out, ref.shape, f"{layer.forward_name}'s {name}")
        result = compare(out, ref, trial.tolerance)
        worst = max(worst, result.error)
        if not result.ok:
            what = "the loss" if layer.is_loss else f"the output {name}"
            label = "output" if len(outputs) == 1 else name
            _beyond_contract(trial, what, out, ref)
            raise Fail(f"{label} differs from the JAX twin: {result.describe()}", result.error,
                       diagnosis=diagnose_non_finite(what, out, ref)
                       or diagnose_precision(what, out, ref, trial.example.draw.tier)
                       or diagnose_outputs(layer, tuple(outputs), trial.twin_args,
                                           trial.tolerance))
    return worst


def _beyond_contract(trial: Trial, what: str, out: np.ndarray, ref: np.ndarray) -> None:
    """Warn, rather than fail, where the layer's record puts this example's magnitude beyond the
    course's contract and the output differs only by being inf or NaN where the twin's is
    finite (``Layer.beyond_contract``)."""
    contract = trial.layer.beyond_contract
    if contract is None or trial.example.draw.scale < contract[0]:
        return
    out, ref = np.asarray(out, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    finite = np.isfinite(out)
    if finite.all() or not np.isfinite(ref).all():
        return
    if finite.any() and not compare(np.where(finite, out, ref), ref, trial.tolerance).ok:
        return
    raise Warn(f"{what} is not finite at values of magnitude {trial.example.draw.scale:g} where "
               f"the JAX twin's is: {contract[2]}")


def backward_matches_vjp(trial: Trial) -> float:
    """Every gradient equals jax.vjp's; a difference only at kinks is a warning (a convention)."""
    layer, ex = trial.layer, trial.example
    grads = gradients_of(layer, trial.evaluated.full)
    _, expected = trial.expected
    problems, diagnoses, conventions, worst = [], [], [], 0.0
    for i, (name, grad, ref) in enumerate(zip(layer.grad_names, grads, expected)):
        _same_shape(grad, ref.shape, name, (layer, ex.args))
        result = compare(grad, ref, trial.gradient_tolerance)
        worst = max(worst, result.error)
        if result.ok:
            continue
        if kink_only(layer, ex, i, grad, ref, trial.tolerance):
            conventions.append(kink_message(layer, ex, i, grad, ref))
            continue
        problems.append(f"{name} differs from jax.vjp: {result.describe()}")
        diagnoses.append(diagnose_values(layer, ex, i, grad, ref, trial.twin_args))
    if problems:
        raise Fail("; ".join(problems), worst,  # a known mistake names several gradients once
                   diagnosis="; ".join(dict.fromkeys(d for d in diagnoses if d)) or None)
    worst = max(worst, _each_output_alone(trial))
    if conventions:
        raise Warn("; ".join(conventions), worst)
    return worst


def _each_output_alone(trial: Trial) -> float:
    """With several outputs, the gradients for each output's upstream gradient alone (the others
    zero) equal jax.vjp's too: a path from one output that is right only in the sum fails here."""
    layer, worst = trial.layer, 0.0
    names = _output_names(layer)
    for k, expected in enumerate(trial.expected_alone):
        grads = gradients_of(layer, trial.evaluated.full, LINEARITY_DOUTS + k)
        for name, grad, ref in zip(layer.grad_names, grads, expected):
            _same_shape(grad, ref.shape, name, (layer, trial.example.args))
            result = compare(grad, ref, trial.gradient_tolerance)
            worst = max(worst, result.error)
            if not result.ok:
                others = ", ".join(f"d{n}" for j, n in enumerate(names) if j != k)
                raise Fail(f"with d{names[k]} alone ({others} zero), {name} differs from jax.vjp: "
                           f"{result.describe()}", result.error)
    return worst


def _diagnose_against_jax(trial: Trial, grads, expected) -> str | None:
    """The first confident diagnosis among the gradients that differ from jax.vjp's."""
    for i, (grad, ref) in enumerate(zip(grads, expected)):
        if grad.shape == ref.shape and not compare(grad, ref, trial.tolerance).ok:
            diagnosis = diagnose_values(trial.layer, trial.example, i, grad, ref, trial.twin_args)
            if diagnosis is not None:
                return diagnosis
    return None


# ---------------------------------------------------------------- finite differences


def _phi(trial: Trial, outs: list[tuple[np.ndarray, ...]]) -> list[finite_diff.Estimate]:
    """Finite-difference estimates, one per direction, from the forward's outputs at its stencil
    points (a tuple per point, one array per output): phi = Σ ⟨dout_k, out_k⟩ (the loss, for a
    loss), with the magnitude of its terms for the rounding bound."""
    layer, ex = trial.layer, trial.example
    weights = ex.douts or (np.float64(1.0),)
    scale = 1.0 + max(float(np.max(np.abs(ex.args[p]), initial=0.0)) for p in layer.differentiable)
    measured = [(sum(float((w * o).sum()) for w, o in zip(weights, out)),
                 sum(float((np.abs(w) * (np.abs(o) + scale)).sum()) for w, o in zip(weights, out)))
                for out in outs]
    return finite_diff.estimates(measured, FD_STEP)


def _per_point(stacked: Any) -> list[tuple[np.ndarray, ...]]:
    """The twin's stacked outputs ((K, ...) arrays, or a tuple of them) as one tuple per point."""
    parts = stacked if isinstance(stacked, tuple) else (stacked,)
    return [tuple(p[k] for p in parts) for k in range(len(parts[0]))]


def backward_matches_finite_differences(trial: Trial) -> float:
    layer, ex, impl = trial.layer, trial.example, trial.impl
    calls = trial.evaluated
    grads = gradients_of(layer, calls.full)
    for name, grad, position in zip(layer.grad_names, grads, layer.differentiable):
        _same_shape(grad, np.shape(ex.args[position]), name, (layer, ex.args))
    # Backward is judged on its own: differentiate the JAX twin when the forward is wrong here
    # (or draws random choices anew at each point: a random layer's twin holds them fixed).
    expected_out, expected_grads = trial.expected
    try:
        outputs = outputs_of(layer, calls.full)
        own = layer.observed is None and all(
            out.shape == ref.shape and compare(out, ref, trial.tolerance).ok
            for out, ref in zip(outputs, expected_out))
    except ImplementationError:
        own = False
    plan = trial.stencil
    if not plan.judged:
        raise Skip("every entry is within a finite-difference step of a kink")
    outs = None
    if own and not impl.remote:  # the forward, shown right here, at the judged directions
        directions = plan.judged
        outs = _own_outputs(layer, impl, plan.points(), [ref.shape for ref in expected_out])
        own = outs is not None
    if outs is None:  # the JAX twin, at every candidate's points in one call (see ``trial``)
        directions = list(plan.candidates)
        stacked = finite_diff.stacked_stencil(ex.args, layer.differentiable,
                                              [d.vectors for d in directions])
        outs = _per_point(reference_forward_stacked(layer, trial.twin_args, stacked))
    verdicts = []  # (what, analytic, estimate)
    for direction, estimate in zip(directions, _phi(trial, outs)):
        if direction.judged:
            entry = direction.entry
            with np.errstate(all="ignore"):  # a non-finite gradient fails below
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
            # how many error bounds off (an exact estimate, error 0, is missed by any gap)
            ratio = gap / estimate.error if gap == gap and estimate.error > 0 else np.inf
            failures.append((ratio, what, analytic, estimate))
    if failures:
        _, what, analytic, estimate = max(failures, key=lambda f: f[0])
        source = "" if own else " (of the JAX twin, since the forward is wrong here)"
        if layer.observed is not None:
            source = " (of the JAX twin, at the random choices your forward made)"
        raise Fail(
            f"{len(failures)} of {len(verdicts)} finite-difference checks failed{source}; worst "
            f"{what}: yours {analytic!r}, finite differences {estimate.value!r} "
            f"(their error ≤ {estimate.error:.1e})",
            worst_error,
            diagnosis=_diagnose_against_jax(trial, grads, expected_grads) if own else None,
        )
    return worst_error


def _own_outputs(layer: Layer, impl: Implementation, points, shapes
                 ) -> list[tuple[np.ndarray, ...]] | None:
    """The forward's outputs at the stencil points (a tuple per point); None when it raises
    there or answers in other shapes or with NaN or inf (the forward's own checks judge it; the
    backward is then differenced on the twin)."""
    outs = []
    for point in points:
        try:
            out = forward(layer, impl, point)[0]
        except ImplementationError:
            return None
        if [o.shape for o in out] != list(shapes) or not all(np.isfinite(o).all() for o in out):
            return None
        outs.append(out)
    return outs


# ---------------------------------------------------------------- protocol invariants


def forward_shapes(trial: Trial) -> None:
    """The forward returns (*outputs, cache) (a loss: (loss, grads)) with the twin's shapes."""
    layer, ex = trial.layer, trial.example
    evaluation = trial.evaluated.full
    if isinstance(evaluation.forward, ImplementationError):
        raise evaluation.forward
    try:
        outputs, _ = returned(layer, evaluation.forward)
    except ImplementationError as exc:
        raise Fail(str(exc), function=layer.forward_name) from None
    expected = output_shape(layer, layer.twin_args(ex.args))
    expected = expected if len(outputs) > 1 else (expected,)
    for name, out, shape in zip(_output_names(layer), outputs, expected):
        got = as_array(out, f"{layer.forward_name}'s {name}").shape
        if got != shape:
            what = "loss must be a scalar" if layer.is_loss else f"{name} must have shape"
            raise Fail(f"{layer.forward_name}: {what} {shape}, got shape {got}",
                       function=layer.forward_name)


def gradient_shapes(trial: Trial) -> None:
    """The backward returns one gradient per differentiable argument, shaped like it."""
    layer, ex = trial.layer, trial.example
    raw = backward_result(layer, trial.evaluated.full)
    if len(layer.grad_names) == 1 and not isinstance(raw, (tuple, list)):
        raw = (raw,)
    elif not isinstance(raw, (tuple, list)) or len(raw) != len(layer.grad_names):
        raise Fail(f"{layer.backward_name} must return ({', '.join(layer.grad_names)})")
    for name, grad, position in zip(layer.grad_names, raw, layer.differentiable):
        want = tuple(np.shape(ex.args[position]))
        if not isinstance(grad, np.ndarray):
            diagnosis = diagnose_shape(name, (), want, batch_size(layer, ex.args)) if isinstance(
                grad, (float, np.number)) else None
            raise Fail(f"{name} is {type(grad).__name__}, expected a "
                       f"{describe_dtypes(ex.draw.tier)} array of shape {want}",
                       diagnosis=diagnosis)
        if grad.shape != want:
            raise Fail(f"{name} has shape {grad.shape}, expected {want} "
                       f"(the shape of {layer.arg_names[position]})",
                       diagnosis=diagnose_gradient_shape(layer, ex.args, name, grad.shape, want))
        if not gradient_dtype_ok(grad, ex.draw.tier):
            raise Fail(f"{name} has dtype {grad.dtype}, expected {describe_dtypes(ex.draw.tier)}")


def forward_edits(trial: Trial) -> None:
    """The forward edits no argument, except the keys its record says it writes into a dict;
    keys it adds to a dict are a warning (a convention of the file, not a mistake)."""
    layer, ex = trial.layer, trial.example
    evaluation = trial.evaluated.full
    if isinstance(evaluation.forward, ImplementationError):
        raise evaluation.forward
    writes = layer.writes(*ex.args)
    added = []
    for edit in evaluation.changed:
        name = layer.arg_names[edit.position]
        allowed = writes.get(edit.position, ())
        if ANY_KEY in allowed:
            continue
        altered = [k for k in edit.altered if k not in allowed]
        if altered or not (edit.added or edit.altered):
            what = f"the value of {name}[{altered[0]!r}]" if altered else f"its argument {name}"
            raise Fail(f"{layer.forward_name} modified {what} in place"
                       + (_mode_note(ex.args[edit.position]) if altered else ""),
                       function=layer.forward_name)
        added += [f"{name}[{k!r}]" for k in edit.added if k not in allowed]
    if added:
        raise Warn(f"{layer.forward_name} added {', '.join(added)} to its parameter dict: "
                   f"harmless for bpcheck, but a caller's dict now holds "
                   f"{'it' if len(added) == 1 else 'them'}", function=layer.forward_name)


def _mode_note(argument: Any) -> str:
    mode = argument.get("mode") if isinstance(argument, dict) else None
    return f" (in {mode} mode, which writes nothing there)" if isinstance(mode, str) else ""


def backward_edits(trial: Trial) -> None:
    """The backward edits neither dout nor the cache, and returns new arrays (a loss: its own
    gradients alias no argument)."""
    layer = trial.layer
    evaluation = trial.evaluated.full
    if isinstance(evaluation.forward, ImplementationError):
        raise evaluation.forward
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


def linear_in_dout(trial: Trial) -> float:
    layer = trial.layer
    _, a, b = linear_combination(trial.example)
    evaluation = trial.evaluated.full
    g1, g2, g12, g0 = (gradients_of(layer, evaluation, k) for k in range(LINEARITY_DOUTS))
    worst = 0.0
    for name, x1, x2, x12, x0 in zip(layer.grad_names, g1, g2, g12, g0):
        for other in (x2, x12, x0):
            if other.shape != x1.shape:
                raise Fail(f"{name} has shape {x1.shape} for one dout but {other.shape} for "
                           f"another of the same shape (a shape that changes from call to call)")
        with np.errstate(all="ignore"):  # inf - inf in a wrong gradient is compare's to judge
            expected = a * x1 + b * x2
        combined = compare(x12, expected, trial.tolerance)
        worst = max(worst, combined.error)
        if not combined.ok:
            raise Fail(f"backward(a·d1 + b·d2) ≠ a·backward(d1) + b·backward(d2) in {name} "
                       f"(a={a:.3g}, b={b:.3g}): {combined.describe()}", combined.error)
        zero = compare(x0, np.zeros_like(x0), trial.tolerance)
        if not zero.ok:
            raise Fail(f"a zero dout gives a non-zero {name}: {zero.describe()}", zero.error)
    return worst


def consistent_over_the_batch(trial: Trial) -> float:
    """Rows computed in smaller batches equal the batch's rows: each row alone (batch size 1) —
    or, in a batch larger than BATCH_SINGLES_MAX, a sample of the rows alone and the rest together
    (``trial.batch_groups``); parameter gradients are the sum of the parts' ones; a loss is the
    mean of its rows, so the parts' losses and gradients are weighted by their sizes. Where the
    protocol defines no backward for the example, the outputs alone."""
    layer, ex = trial.layer, trial.example
    n = np.shape(ex.args[layer.batched[0]])[0]
    calls = trial.evaluated
    backward = trial.has_backward
    full_outs = outputs_of(layer, calls.full)
    full_grads = gradients_of(layer, calls.full) if backward else ()
    sizes = [len(rows) for rows in calls.groups]
    order = np.concatenate(calls.groups)
    parts = ("one example at a time (batch size 1 each)" if max(sizes) == 1 else
             f"in parts ({len(sizes) - 1} rows alone, the other {sizes[-1]} together)")
    # Rows of batched gradients are kept to be stacked; parameter gradients are summed as they
    # come (a list of N copies of a large dw would cost N times its memory).
    outs: list[tuple[np.ndarray, ...]] = []
    rows: dict[int, list[np.ndarray]] = {k: [] for k, p in enumerate(layer.differentiable)
                                         if p in layer.batched}
    totals: dict[int, np.ndarray] = {}
    expected = output_shape(layer, layer.twin_args(ex.args))
    expected = expected if len(_output_names(layer)) > 1 else (expected,)
    for i, (evaluation, group) in enumerate(zip(calls.parts, calls.groups)):
        size = len(group)
        # a loss is the mean over its rows: a part of m rows weighs m / N of the batch
        weight = size / n if layer.is_loss else 1.0
        outputs_i = outputs_of(layer, evaluation)
        for name, out, shape in zip(_output_names(layer), outputs_i, expected):
            _row_shape(out, () if layer.is_loss else (size, *shape[1:]), name, group,
                       layer.forward_name)
        outs.append(outputs_i)
        for k, grad in enumerate(gradients_of(layer, evaluation) if backward else ()):
            if k in rows:
                position = layer.differentiable[k]
                _row_shape(grad, (size, *np.shape(ex.args[position])[1:]), layer.grad_names[k],
                           group, layer.backward_name)
                rows[k].append(grad * weight)
            elif k not in totals:
                totals[k] = np.array(grad, dtype=np.float64) * weight
            elif grad.shape != totals[k].shape:
                raise Fail(f"{layer.grad_names[k]} has shape {grad.shape} for part {i} but "
                           f"{totals[k].shape} for part 0 (computed {parts})")
            else:
                totals[k] += grad * weight
    # A loss's parts' losses, weighted by their sizes, sum to the batch's (a regulariser counted
    # once per part stays counted once); a layer's parameter gradients sum over the parts.
    pairs = []
    for j, name in enumerate(_output_names(layer)):
        column = [o[j] for o in outs]
        if layer.is_loss:
            merged, batch = sum(c * (m / n) for c, m in zip(column, sizes)), full_outs[j]
        else:
            merged = np.concatenate([np.atleast_1d(c) for c in column])
            batch = _in_order(full_outs[j], order)
        pairs.append((name, layer.forward_name, merged, batch))
    for k, name in enumerate(layer.grad_names[:len(full_grads)]):
        if k in rows:
            merged = np.concatenate([np.atleast_1d(r) for r in rows[k]])
            batch = _in_order(full_grads[k], order)
        else:
            merged, batch = totals[k], full_grads[k]
        pairs.append((name, layer.backward_name, merged, batch))
    worst = 0.0
    for name, function, assembled, batch in pairs:
        if np.shape(assembled) != np.shape(batch):
            raise Fail(f"{name} has shape {np.shape(batch)} for the batch but "
                       f"{np.shape(assembled)} assembled from the rows computed {parts}",
                       function=function)
        result = compare(batch, assembled, trial.tolerance)
        worst = max(worst, result.error)
        if not result.ok:
            raise Fail(f"{name} for the batch differs from {name} computed {parts}: "
                       f"{result.describe()}", result.error, function)
    return worst


def layer_properties(trial: Trial) -> None:
    """The layer's own invariants (``Layer.properties``), in order; the first to object wins.
    A property that cannot judge the example (``Skip``) leaves it to the others; the example is
    skipped when none could judge it."""
    layer = trial.layer
    outputs = outputs_of(layer, trial.evaluated.full)
    caller = Caller(layer, trial.impl)
    skipped: list[Skip] = []
    for prop in layer.properties:
        function = layer.forward_name if prop.judges == "forward" else layer.backward_name
        try:
            prop.verify(caller, trial.example.args, outputs)
        except Skip as skip:
            skipped.append(skip)
        except (Fail, Warn) as objection:
            objection.function = objection.function or function
            objection.args = (f"{prop.title}: {objection}",)
            raise
    if skipped and len(skipped) == len(layer.properties):
        raise skipped[0]


def _in_order(batch: Any, order: np.ndarray) -> Any:
    """The batch's rows in the parts' order; an array without one row per example as it is, for
    the shape comparison to name (a hostile backward's shape that varies per call)."""
    batch = np.asarray(batch)
    return batch[order] if batch.ndim and len(batch) == len(order) else batch


def _row_shape(value: np.ndarray, want: tuple[int, ...], name: str, rows: np.ndarray,
               function: str) -> None:
    """Fail unless a part's value has the shape its rows have in the batch."""
    if value.shape != want:
        part = (f"example {rows[0]} alone (batch size 1)" if len(rows) == 1 else
                f"the {len(rows)} rows computed together apart from the sampled ones")
        raise Fail(f"{name} has shape {value.shape} for {part}, expected {want}",
                   function=function)


# ---------------------------------------------------------------- the battery


def _always(layer: Layer) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    """One check of the battery, and every fact about it."""

    name: str
    title: str
    run: Callable[[Trial], float | None]
    #: The function a finding names by default: "forward" or "backward".
    judges: str = "backward"
    #: What its error measures: "jax" (against the twin), "finite differences", or None for a
    #: check of protocol hygiene (shapes, in-place edits, linearity, batch rows, properties).
    #: A value check's failure is what grading calls a wrong value. Used by: verdict, grading.
    measures: str | None = None
    #: The precision tiers it runs in (finite differences: float64 only — a float32 forward
    #: cannot be differenced at a float64 step, and the float64 tier already proves each
    #: derivation against finite differences).
    tiers: tuple[str, ...] = TIERS
    #: Whether it calls the backward: examples where the protocol defines none are skipped.
    needs_backward: bool = True
    applies: Callable[[Layer], bool] = _always

    def function(self, layer: Layer) -> str:
        """The protocol function this check's findings name by default."""
        return layer.forward_name if self.judges == "forward" else layer.backward_name

    def __call__(self, trial: Trial) -> Finding:
        layer, ex = trial.layer, trial.example
        function = self.function(layer)
        try:
            if self.needs_backward and not trial.has_backward:
                raise Skip(f"{layer.backward_name} is not part of the protocol for this example "
                           f"(test mode: only the forward is checked)")
            error = self.run(trial)
        except Fail as fail:
            return Finding(self.name, self.title, fail.function or function, Status.FAILED,
                           _with_cause(str(fail), fail.diagnosis), fail.error, ex,
                           diagnosis=fail.diagnosis)
        except ImplementationError as exc:
            diagnosis = diagnose_exception(exc)
            contract = layer.beyond_contract
            if (contract is not None and ex.draw.scale >= contract[0]
                    and floating_point_error(diagnosis) and contract[1] in str(exc)):
                return Finding(self.name, self.title, function, Status.WARNING,  # Layer docs
                               f"{exc} at values of magnitude {ex.draw.scale:g}: {contract[2]}",
                               None, ex)
            return Finding(self.name, self.title, function, Status.FAILED,
                           _with_cause(str(exc), diagnosis), None, ex, diagnosis=diagnosis)
        except Warn as warn:
            return Finding(self.name, self.title, warn.function or function, Status.WARNING,
                           str(warn), warn.error, ex)
        except Skip as skip:
            return Finding(self.name, self.title, function, Status.SKIPPED, str(skip), None, ex)
        return Finding(self.name, self.title, function, Status.PASSED, "", error, ex)


def _with_cause(message: str, diagnosis: str | None) -> str:
    return message if diagnosis is None else f"{message} — likely cause: {diagnosis}"


def _shapes(trial: Trial) -> None:
    forward_shapes(trial)
    if trial.has_backward:
        gradient_shapes(trial)


def _edits(trial: Trial) -> None:
    """Forward edits first (they fail or warn); then the backward's."""
    try:
        forward_edits(trial)
    except Warn as convention:
        if trial.has_backward:
            backward_edits(trial)
        raise convention
    if trial.has_backward:
        backward_edits(trial)


BATTERY: tuple[Check, ...] = (
    Check("forward", "forward matches the JAX twin", forward_matches, judges="forward",
          measures="jax", needs_backward=False),
    Check("vjp", "backward matches jax.vjp", backward_matches_vjp, measures="jax"),
    Check("finite_differences", "backward matches finite differences",
          backward_matches_finite_differences, measures="finite differences",
          tiers=("float64",)),
    Check("shapes", "gradient shapes and dtypes match the arguments", _shapes,
          needs_backward=False),
    Check("no_mutation", "no argument, dout or cache modified; no gradient aliases an input",
          _edits, needs_backward=False),
    Check("linearity", "backward is linear in dout; zero dout gives zero gradients",
          linear_in_dout, applies=lambda layer: not layer.is_loss),
    Check("batch", "batch rows equal single-example rows (batch size 1)",
          consistent_over_the_batch, needs_backward=False,
          applies=lambda layer: bool(layer.batched)),
    Check("properties", "the layer's own properties hold", layer_properties, judges="forward",
          needs_backward=False, applies=lambda layer: bool(layer.properties)),
)

#: The checks whose failures are wrong values (what grading scores first).
VALUE_CHECKS: tuple[str, ...] = tuple(c.name for c in BATTERY if c.measures is not None)


def checks_for(layer: Layer) -> tuple[Check, ...]:
    return tuple(check for check in BATTERY if check.applies(layer))


def run_battery(layer: Layer, impl: Implementation, example: Example,
                checks: tuple[Check, ...] | None = None) -> list[Finding]:
    """Every applicable check (or those given) on one example, sharing one trial."""
    trial = Trial(layer, impl, example)
    return [check(trial) for check in (checks or checks_for(layer))]


def check_named(name: str) -> Check:
    for check in BATTERY:
        if check.name == name:
            return check
    raise KeyError(name)


def checks_in_tier(checks: tuple[Check, ...], tier: str) -> tuple[Check, ...]:
    """The checks among ``checks`` that run in ``tier``."""
    return tuple(c for c in checks if check_tier(tier) in c.tiers)


def checks_available(layer: Layer, impl: Implementation, problems: dict[str, str]
                     ) -> tuple[Check, ...]:
    """The checks that can run: all when forward and backward are usable, the forward's checks
    when only the forward is, none otherwise."""
    usable = {n for n in layer.functions if n in impl.functions and n not in problems}
    if set(layer.functions) <= usable:
        return checks_for(layer)
    if layer.forward_name in usable:
        return tuple(c for c in checks_for(layer) if c.judges == "forward")
    return ()
