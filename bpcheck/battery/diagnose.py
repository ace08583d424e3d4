"""What is most likely wrong with a failing gradient — said only when the evidence is clear.

Per failure (from one example, the wrong array and the reference): a transpose, a factor −1, 2,
1/2, N or 1/N (N the batch size), the upstream gradient not multiplied in, a diagonal-only
Jacobian, a reduction over the wrong axis or a kept dimension, NaN/inf where the reference is
finite; and the layer's own known mistakes (``Layer.mistakes``): outputs, gradients or gradient
shapes equal to a wrong twin's, whose programs are compiled only once a check has failed. Across
examples (for the runner): only failing at batch size 1, only failing at large magnitudes, a value
mistake hidden behind a raised floating-point error. And whether a mismatch lies only at a kink,
where it is a convention, not a mistake.

Every function returns None (or False) rather than guess: no diagnosis is better than a wrong one.
Shapes: ``actual`` and ``expected`` are a gradient and its reference, both shaped like the argument
they differentiate (e.g. dw: (D, M)); ``dout`` has the output's shape.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, NamedTuple

import numpy as np

from bpcheck import legacy
from bpcheck.autodiff import reference_forward, reference_vjp
from bpcheck.sampling import BATCH_SIZES, Draw, Sizes
from bpcheck.battery.example import Example
from bpcheck.tolerances import DIAGNOSIS_FACTOR_RTOL, SINGLE_PRECISION, Tolerance, compare
from bpcheck.battery.example import tolerance_for
from bpcheck.outcomes import Status

from bpcheck.layer import Layer

#: The Jacobian's diagonal costs one compiled VJP per entry; examples hold at most ~40 entries.
DIAGONAL_MAX_ENTRIES = 256


# ---------------------------------------------------------------- shapes


def _without_ones(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def diagnose_shape(
    name: str, actual_shape: tuple[int, ...], expected_shape: tuple[int, ...], n: int | None
) -> str | None:
    """Why ``name`` has ``actual_shape`` where ``expected_shape`` is due (n: the batch size N)."""
    actual, expected = tuple(actual_shape), tuple(expected_shape)
    if actual == expected:
        return None
    if len(actual) == 2 and actual == expected[::-1]:
        return (f"{name} has the transposed shape {actual}: check the order of the matrix product "
                f"(e.g. x.T @ dout, not dout.T @ x)")
    if len(actual) > len(expected) and _without_ones(actual) == _without_ones(expected):
        hint = "use sum(axis=0) without keepdims" if actual == (1, *expected) else (
            "reduce without keepdims=True")
        return f"{name} kept a dimension ({actual} where {expected} is due): {hint}"
    if actual == () and len(expected) == 1:
        return (f"{name} is a scalar where {expected} is due: it was reduced over every axis; "
                f"sum over axis 0 (the batch) only")
    if len(actual) == 1 and len(expected) == 1 and actual[0] == n != expected[0]:
        return (f"{name} has one entry per example ({actual}, N = {n}) where one per feature "
                f"{expected} is due: reduced over the wrong axis; sum over axis 0 (the batch)")
    if actual and len(actual) < len(expected) and actual == _without_ones(expected):
        argument = name[1:] if name.startswith("d") else name
        return (f"{name} lost the size-1 axes of {argument}'s shape {expected}: return it with "
                f"{argument}'s shape (e.g. .reshape({argument}.shape))")
    return None


def diagnose_gradient_shape(
    layer: Layer, args: tuple[Any, ...], name: str, actual_shape: tuple[int, ...],
    expected_shape: tuple[int, ...],
) -> str | None:
    """Why gradient ``name`` of ``layer`` at the forward's ``args`` has ``actual_shape``: a known
    mistake of the layer that returns exactly that shape, else ``diagnose_shape``."""
    actual = tuple(actual_shape)
    if actual == tuple(expected_shape):
        return None
    for mistake in layer.mistakes:
        if mistake.shapes is not None and tuple(mistake.shapes(*args).get(name, ())) == actual:
            return mistake.diagnosis
    return diagnose_shape(name, actual, expected_shape, batch_size(layer, args))


# ---------------------------------------------------------------- values


class _Case(NamedTuple):
    """One failing gradient: ``actual`` and ``expected`` share the argument's shape."""

    layer: Layer
    example: Example
    index: int  # position among layer.grad_names
    name: str
    actual: np.ndarray
    expected: np.ndarray
    tolerance: Tolerance
    twin_args: tuple[Any, ...]  # the twin's arguments (a random layer's choices at the end)


def batch_size(layer: Layer, args: tuple[Any, ...]) -> int | None:
    """N: axis 0 of the first batched argument; for a layer that couples its batch (batchnorm),
    axis 0 of its input; None for a loss without a batch axis (an identity, a column-convention
    model), about which no batch-size claim is made."""
    if not layer.batched and layer.is_loss:
        return None
    shape = np.shape(args[layer.batched[0] if layer.batched else 0])
    return int(shape[0]) if shape else 1


def diagnose_non_finite(what: str, actual: np.ndarray, expected: np.ndarray) -> str | None:
    """NaN or inf in ``actual`` where ``expected`` (same shape) is finite."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    bad = ~np.isfinite(a) & np.isfinite(e)
    if a.shape != e.shape or not bad.any():
        return None
    kinds = " and ".join(k for k, m in (("NaN", np.isnan(a)), ("inf", np.isinf(a))) if (m & bad).any())
    return (f"{what} has {kinds} in {int(bad.sum())} of {a.size} entries where the reference is "
            f"finite: overflow or log(0)?")


#: Ends the precision-loss diagnosis; ``precision_loss`` recognises a diagnosis by it.
PRECISION_LOSS = "a precision loss"


def diagnose_precision(what: str, actual: np.ndarray, expected: np.ndarray,
                       tier: str = "float64") -> str | None:
    """A difference at single precision: right formula, computed in float32 somewhere. Only in
    the float64 tier: in the float32 tier single precision is what is asked for."""
    if tier != "float64":
        return None
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape or not (np.isfinite(a).all() and np.isfinite(e).all()):
        return None
    result = compare(a, e, SINGLE_PRECISION)
    if not result.ok:
        return None
    return (f"{what} agrees with the reference only to {result.error:.1e} (relative), the "
            f"precision of float32: {PRECISION_LOSS} (a float32 array, constant or astype on "
            f"the way), not a wrong derivation")


def precision_loss(diagnosis: str | None) -> bool:
    """Whether a diagnosis (possibly several joined by "; ") includes the precision loss."""
    return diagnosis is not None and f"float32: {PRECISION_LOSS}" in diagnosis


def _precision(case: _Case) -> str | None:
    return diagnose_precision(case.name, case.actual, case.expected, case.example.draw.tier)


def _transposed(case: _Case) -> str | None:
    a, e = case.actual, case.expected
    if a.ndim != 2 or min(a.shape) < 2:
        return None
    if a.shape[0] == a.shape[1] and compare(a, e.T, case.tolerance).ok and not compare(
            e, e.T, case.tolerance).ok:
        return f"{case.name} is transposed (e.g. dout.T @ x where x.T @ dout is due)"
    if a.shape[0] != a.shape[1] and compare(a, e.T.reshape(a.shape), case.tolerance).ok:
        return (f"{case.name} is transposed, then reshaped back to {a.shape} "
                f"(e.g. dout.T @ x where x.T @ dout is due)")
    return None


def _named_factors(name: str, n: int | None) -> dict[float, str]:
    """The factors a diagnosis may name, most specific first, with what each one means."""
    factors = {-1.0: f"{name} has the wrong sign (exactly −1 times the correct gradient)"}
    if n is not None and n > 1:
        factors[float(n)] = (f"{name} is N = {n} times too large: a sum over the batch where "
                             f"the mean is due (a missing 1/N)?")
        factors[1.0 / n] = (f"{name} is N = {n} times too small: a mean over the batch where "
                            f"the sum is due (an extra 1/N)?")
    two = {2.0: f"{name} is 2 times too large: an extra factor 2?",
           0.5: f"{name} is half the correct value: a missing factor 2 (d(x²)/dx = 2x)?"}
    for value, text in two.items():  # N = 2: both readings are possible, so say both
        factors[value] = f"{factors[value]} Or: {text}" if value in factors else text
    return factors


def _factor(case: _Case) -> str | None:
    a, e = case.actual, case.expected
    with np.errstate(all="ignore"):
        ee, ae = float(np.sum(e * e)), float(np.sum(a * e))
    if not (np.isfinite(ee) and np.isfinite(ae)) or ee == 0.0:
        return None
    c = ae / ee
    n = batch_size(case.layer, case.example.args)
    for value, text in _named_factors(case.name, n).items():
        if abs(c - value) <= DIAGNOSIS_FACTOR_RTOL * abs(value):
            return text if compare(a, c * e, case.tolerance).ok else None
    return None


def _gradient_for(case: _Case, dout: np.ndarray) -> np.ndarray:
    """The reference gradient of this argument for another upstream gradient (same shape)."""
    return reference_vjp(case.layer, case.twin_args, dout)[1][case.index]


def jacobian_diagonal(layer: Layer, example: Example, index: int) -> np.ndarray | None:
    """diag(J)[k] = ∂out_k/∂x_k for the argument at ``layer.differentiable[index]``.

    Only when out and that argument have the same shape (dout.shape); one VJP per entry with a
    unit cotangent, reusing the compiled program. Returns an array of dout's shape, or None.
    """
    dout = example.dout
    position = layer.differentiable[index]
    if (not isinstance(dout, np.ndarray) or layer.observed is not None
            or dout.shape != np.shape(example.args[position])):
        return None
    if dout.size > DIAGONAL_MAX_ENTRIES:
        return None
    diagonal = np.empty(dout.shape)
    for k in range(dout.size):
        unit = np.zeros(dout.shape)
        unit.flat[k] = 1.0
        diagonal.flat[k] = reference_vjp(layer, example.args, unit)[1][index].flat[k]
    return diagonal


def _upstream_ignored(case: _Case) -> str | None:
    dout = case.example.dout
    if not isinstance(dout, np.ndarray):  # a loss, or several upstream gradients
        return None
    if compare(case.actual, _gradient_for(case, np.ones_like(dout)), case.tolerance).ok:
        return (f"{case.name} does not multiply in the upstream gradient: it equals the gradient "
                f"for dout = ones (multiply by dout)")
    return None


def _diagonal_only(case: _Case) -> str | None:
    diagonal = jacobian_diagonal(case.layer, case.example, case.index)
    if diagonal is None:
        return None
    if compare(case.actual, diagonal, case.tolerance).ok:
        return (f"{case.name} is the local derivative ∂out/∂x alone: the upstream gradient dout "
                f"is not multiplied in")
    dout = case.example.dout
    if compare(case.actual, dout * diagonal, case.tolerance).ok:
        return (f"{case.name} uses only the diagonal of the Jacobian (dout ⊙ ∂out_k/∂x_k): the "
                f"terms ∂out_j/∂x_k for j ≠ k are missing (e.g. softmax's dx taken as "
                f"dout ⊙ p ⊙ (1 − p) instead of p ⊙ (dout − Σ dout ⊙ p))")
    return None


def _known_mistake(case: _Case) -> str | None:
    """The gradient equals jax.vjp of one of the layer's known wrong twins (``KnownMistake``)."""
    for mistake in case.layer.mistakes:
        if mistake.twin is None:
            continue
        twin_args = case.twin_args
        if mistake.reads is not None:  # choices the backward made itself, read from its gradient
            choices = mistake.reads(case.example.args, case.example.dout, case.actual)
            if choices is None:
                continue
            twin_args = (*case.example.args, choices)
        wrong = case.layer.with_twin(mistake.twin)
        _, grads = reference_vjp(wrong, twin_args, case.example.dout)
        if compare(case.actual, np.asarray(grads[case.index]), case.tolerance).ok:
            return mistake.diagnosis
    return None


_RULES: tuple[Callable[[_Case], str | None], ...] = (
    _precision, _known_mistake, _transposed, _factor, _upstream_ignored, _diagonal_only,
)


def diagnose_outputs(layer: Layer, outputs: tuple[np.ndarray, ...], twin_args: tuple[Any, ...],
                     tolerance: Tolerance) -> str | None:
    """A forward whose every output (``outputs``, in ``layer.outputs`` order; the loss for a
    loss) equals one of the layer's known wrong twins' at the twin's arguments ``twin_args``."""
    for mistake in layer.mistakes:
        if mistake.twin is None or mistake.reads is not None:
            continue
        wrong = reference_forward(layer.with_twin(mistake.twin), twin_args)
        wrong = wrong if isinstance(wrong, tuple) else (wrong,)
        if len(wrong) == len(outputs) and all(
                np.shape(out) == np.shape(w) and compare(np.asarray(out, dtype=np.float64),
                                                         np.asarray(w), tolerance).ok
                for out, w in zip(outputs, wrong)):
            return mistake.diagnosis
    return None


def diagnose_values(
    layer: Layer, example: Example, grad_index: int, actual: np.ndarray, expected: np.ndarray,
    twin_args: tuple[Any, ...] | None = None,
) -> str | None:
    """The most likely mistake behind a gradient that differs from the reference, or None.

    ``actual`` and ``expected`` (the reference VJP for ``example.dout``) have the same shape, that
    of the argument ``layer.differentiable[grad_index]``. ``twin_args``: the twin's arguments
    when they are not the example's (a random layer's observed choices).
    """
    name = layer.grad_names[grad_index]
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return diagnose_shape(name, a.shape, e.shape, batch_size(layer, example.args))
    non_finite = diagnose_non_finite(name, a, e)
    if non_finite is not None or not (np.isfinite(a).all() and np.isfinite(e).all()):
        return non_finite
    case = _Case(layer, example, grad_index, name, a, e, tolerance_for(layer, example),
                 example.args if twin_args is None else twin_args)
    for rule in _RULES:
        text = rule(case)
        if text is not None:
            return text
    return None


def diagnose_exception(exc: BaseException) -> str | None:
    """An error raised by the implementation that was a floating-point warning (under pytest's
    ``error::RuntimeWarning``, or ``np.seterr(all='raise')``), or that of code from an older
    course year (a NumPy alias removed in 1.24, a float from Python 3's ``/`` used as a shape:
    ``legacy.explain``, read from the message, so that a sandbox's error is explained too)."""
    cause = exc.__cause__
    if isinstance(cause, (RuntimeWarning, FloatingPointError)):
        return f"{FLOATING_POINT} ({cause}): overflow or log(0)?"
    return legacy.explain(str(exc))


#: Begins the diagnosis of a floating-point error raised by the implementation.
FLOATING_POINT = "a floating-point error in your code"


def floating_point_error(diagnosis: str | None) -> bool:
    """Whether a diagnosis is (or includes) a floating-point error the implementation raised."""
    return diagnosis is not None and FLOATING_POINT in diagnosis


# ---------------------------------------------------------------- kinks


def _mismatch(a: np.ndarray, e: np.ndarray, tol: Tolerance) -> np.ndarray:
    """Boolean mask (the arrays' shape) of the entries ``compare`` would reject."""
    finite = np.isfinite(a) & np.isfinite(e)
    scale = max(float(np.max(np.abs(a[finite]), initial=0.0)),
                float(np.max(np.abs(e[finite]), initial=0.0)))
    with np.errstate(invalid="ignore"):
        close = np.abs(a - e) <= tol.atol + tol.rtol * scale
    same = (np.isnan(a) & np.isnan(e)) | (np.isinf(a) & (a == e))
    return ~(close | same)


def _kinks_at_zero(layer: Layer, example: Example, shape: tuple[int, ...]) -> np.ndarray | None:
    """Mask of the entries where the layer's kink quantity is exactly 0, if it has ``shape``."""
    if layer.kinks is None:
        return None
    kinks = np.asarray(layer.kinks(*example.args))
    return (kinks == 0) if kinks.shape == shape else None


def kink_only(
    layer: Layer, example: Example, grad_index: int, actual: np.ndarray, expected: np.ndarray,
    tolerance: Tolerance,
) -> bool:
    """Whether ``actual`` differs from ``expected`` (same shape) only where the kink quantity is 0
    and agrees with it everywhere else: a different convention at a non-differentiable point."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    at_kink = _kinks_at_zero(layer, example, a.shape)
    if at_kink is None or a.shape != e.shape or not np.isfinite(a[at_kink]).all():
        return False
    bad = _mismatch(a, e, tolerance)
    return bool(bad.any() and not (bad & ~at_kink).any()
                and compare(a[~at_kink], e[~at_kink], tolerance).ok)


def _kink_location(layer: Layer, example: Example) -> tuple[str, bool]:
    """How to name the kink ("x = 0"), and whether it is an argument at 0."""
    kinks = np.asarray(layer.kinks(*example.args))
    for position, arg in enumerate(example.args):
        if isinstance(arg, np.ndarray) and arg.shape == kinks.shape and np.array_equal(arg, kinks):
            return f"{layer.arg_names[position]} = 0", True
    return f"{layer.kinks.__name__.strip('_').replace('_', ' ')} = 0", False


def _slope(values: np.ndarray, dout: np.ndarray | None, mask: np.ndarray) -> float | None:
    """The one local derivative values/dout over ``mask`` (where dout ≠ 0), if there is one."""
    if dout is None:
        return None
    usable = mask & (dout != 0)
    if not usable.any():
        return None
    slopes = values[usable] / dout[usable]
    return float(slopes[0]) if np.allclose(slopes, slopes[0], rtol=1e-9, atol=1e-12) else None


def kink_message(
    layer: Layer, example: Example, grad_index: int, actual: np.ndarray, expected: np.ndarray
) -> str:
    """The warning for a ``kink_only`` difference, naming the convention bpcheck follows."""
    name = layer.grad_names[grad_index]
    where, is_argument = _kink_location(layer, example)
    text = (f"{name} differs from JAX only at {where}, where {layer.name} is not differentiable: "
            f"bpcheck follows JAX")
    at_kink = _kinks_at_zero(layer, example, np.shape(actual))
    bad = _mismatch(np.asarray(actual), np.asarray(expected),
                    tolerance_for(layer, example)) & at_kink
    ours = _slope(np.asarray(expected), example.dout, bad)
    yours = _slope(np.asarray(actual), example.dout, bad)
    if is_argument and ours is not None and yours is not None:
        text += f" ({layer.name}'(0) = {ours + 0.0:g}); yours uses {yours + 0.0:g} there"
    return text


# ---------------------------------------------------------------- patterns across examples


class Seen(NamedTuple):
    """One example a check ran on: its batch size, its magnitude and whether the check failed."""

    n: int
    scale: float
    failed: bool


#: Large magnitudes: the registry draws 1, 40 and 1e4; 40 is where exp starts to need care.
LARGE_SCALE = 40.0
#: Probes of the other side (N > 1, or scale 1) that must all pass, on fresh seeds.
PASSING_PROBES = 6
#: Probes at batch size 1 (fresh seeds, same dimensions), of which FAILING_NEEDED must fail.
FAILING_PROBES, FAILING_NEEDED = 4, 3
BATCH_ONE = "only fails at batch size 1: a squeeze, or an axis chosen from the data's shape?"
LARGE_ONLY = ("only fails for large magnitudes (the same example scaled to 1 passes): overflow or "
              "log(0) — subtract the max / use log-sum-exp")


def _seeds(seed: int, count: int) -> list[int]:
    rng = np.random.default_rng(seed ^ 0xD1A6)
    return [int(s) for s in rng.integers(0, 2**32, size=count)]


def _fails(judge: Callable[[Draw], str], draw: Draw) -> bool | None:
    """True if the check fails on ``draw``, False if it passes (or warns), None if skipped."""
    status = judge(draw)
    return None if status == Status.SKIPPED else status == Status.FAILED


def _all_pass(judge: Callable[[Draw], str], draws: list[Draw]) -> bool:
    """Every draw passes (stopping at the first failure); at least half were judged."""
    judged = 0
    for draw in draws:
        outcome = _fails(judge, draw)
        if outcome:
            return False
        judged += outcome is not None
    return 2 * judged >= len(draws)


def _with_batch(dims: Any, n: int) -> Any:
    """``dims`` with batch size ``n``: the shared ``Dims`` or a layer's own ``Sizes``."""
    return Sizes({**dims, "n": n}) if isinstance(dims, Sizes) else replace(dims, n=n)


def _only_batch_one(failing: Draw, seen: list[Seen], judge: Callable[[Draw], str]) -> bool:
    if any(s.failed and s.n != 1 for s in seen) or getattr(failing.dims, "n", None) != 1:
        return False
    sizes = [n for n in BATCH_SIZES if n > 1]
    seeds = _seeds(failing.seed, PASSING_PROBES + FAILING_PROBES)
    others = [replace(failing, dims=_with_batch(failing.dims, sizes[i % len(sizes)]), seed=s)
              for i, s in enumerate(seeds[:PASSING_PROBES])]
    if not sizes or not _all_pass(judge, others):
        return False
    ones = [replace(failing, seed=s) for s in seeds[PASSING_PROBES:]]
    return sum(bool(_fails(judge, d)) for d in ones) >= FAILING_NEEDED


def _only_large(failing: Draw, seen: list[Seen], judge: Callable[[Draw], str]) -> bool:
    if any(s.failed and s.scale < LARGE_SCALE for s in seen) or failing.scale < LARGE_SCALE:
        return False
    if _fails(judge, replace(failing, scale=1.0)) is not False:  # the same values, scaled to 1
        return False
    seeds = _seeds(failing.seed ^ 0x5CA1E, PASSING_PROBES)
    return _all_pass(judge, [replace(failing, scale=1.0, seed=s) for s in seeds])


#: Draws probed (the failing draw at the other batch sizes, fresh seeds) behind a failure that
#: raised a floating-point error.
ELSEWHERE_PROBES = 3


def diagnosis_elsewhere(failing: Draw, probe: Callable[[Draw], Any]) -> str | None:
    """Behind a failure that raised a floating-point error (0/0 on a batch whose every entry is
    masked), a mistake may show by value where nothing raises. ``probe(draw)`` runs the same check
    and returns its Finding; the failing draw is probed at the other batch sizes (fresh seeds,
    the same magnitude) and the first diagnosis of a failure that did not raise is returned, with
    the batch size it was seen at. Runs only after such a failure."""
    n = getattr(failing.dims, "n", None)
    sizes = [m for m in BATCH_SIZES if m != n]
    if n is None or not sizes:
        return None
    for i, seed in enumerate(_seeds(failing.seed ^ 0xE15E, ELSEWHERE_PROBES)):
        size = sizes[i % len(sizes)]
        finding = probe(replace(failing, dims=_with_batch(failing.dims, size), seed=seed))
        if finding.status == Status.FAILED and finding.diagnosis is not None and not (
                floating_point_error(finding.diagnosis)):
            return f"where nothing raises (batch size {size}): {finding.diagnosis}"
    return None


def failure_pattern(
    layer: Layer, failing: Example, seen: list[Seen], judge: Callable[[Draw], str]
) -> str | None:
    """A pattern across examples behind one check's failure, or None.

    ``seen``: every example the run judged; ``judge(draw)`` runs the same check on the example
    built from ``draw`` and returns its status. Probes change one thing of the failing draw (the
    batch size with fresh seeds, or the magnitude with the same seed) and run only on failure.
    """
    parts = []
    if batch_size(layer, failing.args) == 1 and _only_batch_one(failing.draw, seen, judge):
        parts.append(BATCH_ONE)
    if _only_large(failing.draw, seen, judge):
        parts.append(LARGE_ONLY)
    return "; ".join(parts) or None
