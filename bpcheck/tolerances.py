"""Every tolerance bpcheck uses, and the one comparison that applies them.

Two kinds of agreement are judged, and the README explains each number:

* ``ANALYTIC`` — two exact computations of the same quantity in float64 (manual vs ``jax.vjp``,
  forward vs the JAX twin, batch vs per-example, backward linearity). They differ only by
  rounding, a few ulps per operation, so we ask for agreement to ``rtol`` of the larger max-norm
  of the two arrays, plus a tiny ``atol`` for results whose exact value is 0 but whose computed
  value is rounding noise.
* finite differences are judged against their own error estimate (see ``finite_diff``); only the
  safety factor and the step live here.

A layer record may carry an override (``Tolerance``) for a documented reason; none does today.
The float32 tier (``bpcheck.tiers``) judges the analytic comparisons with ``FLOAT32`` instead;
``tolerance_for`` picks an example's tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

EPS64 = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Tolerance:
    """``|actual - expected| <= atol + rtol * max(‖actual‖∞, ‖expected‖∞)``, entry by entry."""

    rtol: float
    atol: float


ANALYTIC = Tolerance(rtol=1e-10, atol=1e-13)

EPS32 = float(np.finfo(np.float32).eps)
#: What a float64 result computed in float32 (a float32 intermediate, an ``astype``) still meets:
#: rounding at single precision, a few ulps per operation over a short chain, with room for the
#: cancellation in x − μ. A difference that fails ANALYTIC but passes this is a precision loss,
#: not a wrong derivation (which is off by O(1)). 200·eps32 ≈ 2.4e-5.
SINGLE_PRECISION = Tolerance(rtol=200 * EPS32, atol=200 * EPS32 * 1e-3)

#: The float32 tier's analytic tolerance (``bpcheck.tiers``): a layer computing in float32 on
#: float32 inputs against the exact VJP at those inputs. Rounding at single precision, a few ulps
#: per operation, amplified by the conditioning the tier's inputs allow (the cancellation in x − μ
#: and in batchnorm's and layernorm's projected dx, bounded by the float32 tier's wobble).
#: Measured on manual/ (python -m benchmarks.float32_errors): over 1,000 examples per record, at
#: most 18 eps32 for every layer and model but layernorm's dx, 32; over 8,000 layernorm examples,
#: 74 eps32 at worst and 1 example above 64. 256·eps32 ≈ 3.1e-5 leaves 3.5× over that worst case
#: and is four orders below a factor-2, sign or transpose mistake (O(1)); a gradient computed in
#: float16 (~2e-4) fails.
#: The atol is rtol·1, not rtol·1e-3 as in ANALYTIC: a float32 result is off by ~eps32 of its
#: inputs' size (dout and the arguments are O(1)), not of its own, so an array far smaller than
#: its inputs is rounding noise at that level — tanh' or a softmax's dx at |x| ≈ 4 are ~1e-3,
#: computed from a float32 output whose 1 − t keeps ~4 of its 7 digits (measured at scale 40:
#: 2,800 eps32 with atol = rtol·1e-3, 3 eps32 with atol = rtol).
FLOAT32 = Tolerance(rtol=256 * EPS32, atol=256 * EPS32)


#: Central-difference step (absolute; directions have unit max-norm). With Richardson
#: extrapolation over steps h and 2h the truncation error is O(h^4) and rounding ~eps/h.
FD_STEP = 1e-4
#: A finite-difference estimate passes when |analytic - estimate| is within this many times the
#: estimate's own error (truncation measured from h vs 2h, plus rounding eps·|terms|/h).
FD_SAFETY = 10.0
#: The relative error reported for a finite-difference estimate only counts where the derivative
#: is this many times its error bound (else both numbers are noise, e.g. saturated sigmoid).
FD_MEANINGFUL = 1e3
#: Per-element finite differences run on every example whose differentiable arguments hold at
#: most this many entries in all (a directional check runs on every example).
FD_ELEMENTWISE_MAX = 12
#: The batch check evaluates each row alone in batches of up to this many rows. In a larger batch
#: it evaluates this many rows alone (the first, the last and a seeded sample of the others) and
#: the remaining rows together as one smaller batch: every row and the parameter gradients' sum
#: are still compared, at a cost of BATCH_SINGLES_MAX + 1 calls instead of N (docs: checks).
BATCH_SINGLES_MAX = 16

#: A failure's diagnosis names a factor (−1, 2, 1/2, N, 1/N) only when the least-squares factor
#: c = ⟨yours, reference⟩/⟨reference, reference⟩ is this close to it (relative), on top of yours
#: matching c·reference to ``ANALYTIC``. A real factor mistake fits to ~1e-15; a fit within 1e-6 of
#: a named value by coincidence is what this guards against (no diagnosis beats a wrong one).
DIAGNOSIS_FACTOR_RTOL = 1e-6


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing two arrays: pass/fail and the worst entry."""

    ok: bool
    error: float  # worst |actual - expected| / (scale + atol/rtol): passes when <= rtol
    index: tuple[int, ...] | None  # where the worst entry is
    actual: float | None
    expected: float | None
    scale: float

    def describe(self) -> str:
        if self.index is None:
            return f"relative error {self.error:.2e}"
        return (
            f"worst entry {list(self.index)}: yours {self.actual!r}, reference {self.expected!r} "
            f"(error {self.error:.2e} relative to max-norm {self.scale:.3g})"
        )


def compare(actual: np.ndarray, expected: np.ndarray, tol: Tolerance = ANALYTIC) -> Comparison:
    """Compare two arrays of the same shape; non-finite entries where the other is finite fail.

    The error is measured relative to the larger max-norm of the two arrays, so a gradient that is
    wrong by a factor (2, N, a sign) shows an error of order 1 whatever its size.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise ValueError(f"compare() needs equal shapes, got {a.shape} and {e.shape}")
    if a.size == 0:
        return Comparison(True, 0.0, None, None, None, 0.0)
    abs_a, abs_e = np.abs(a), np.abs(e)
    peak = max(float(abs_a.max()), float(abs_e.max()))
    if peak < np.inf:  # all finite (NaN fails this too): the common case, without masks
        diff = np.abs(a - e)
        scale = peak
    else:
        both_nan = np.isnan(a) & np.isnan(e)
        same_inf = np.isinf(a) & (a == e)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.where(both_nan | same_inf, 0.0, np.abs(a - e))
        diff = np.where(np.isnan(diff), np.inf, diff)
        finite = np.isfinite(a) & np.isfinite(e)
        scale = max(float(np.max(abs_a[finite], initial=0.0)),
                    float(np.max(abs_e[finite], initial=0.0)))
    flat = int(np.argmax(diff))
    worst = float(diff.flat[flat])
    # worst <= atol + rtol·scale, written as one normalised error that is a plain relative error
    # whenever the arrays are not all rounding noise (scale >> atol/rtol).
    error = worst / (scale + tol.atol / tol.rtol)
    index = tuple(int(i) for i in np.unravel_index(flat, a.shape))
    return Comparison(
        ok=bool(error <= tol.rtol),
        error=float(error),
        index=index,
        actual=float(a.flat[flat]),
        expected=float(e.flat[flat]),
        scale=scale,
    )
