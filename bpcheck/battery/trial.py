"""One example against one implementation: a ``Trial`` holds every call the battery makes on it,
planned up front and made together, and the reference values, computed once.

The checks of one example need the implementation's forward and backward at the example itself,
the backward on more douts (linearity) and the batch's rows alone (batch consistency). All of
them follow from the example (its seed fixes the extra douts), so they are made in one batch: one
round trip when the implementation is sandboxed, where a round trip costs as much as the calls
themselves. Finite differences' directions, also fixed by the seed, are planned here too.

Finite differences differentiate the implementation's own forward once it is shown right at the
example; in a sandbox they differentiate its JAX twin instead (equal to it there): its stencil
points in one compiled call cost ~0.3 ms (a small conv net's, ~5 ms), while sending them to the
child and back was measured at ~5 ms per example.

Where the protocol defines no backward for the example (batchnorm in test mode: ``Layer.backward_in``)
no backward is called, and the checks that judge one skip the example.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from bpcheck import finite_diff
from bpcheck.autodiff import reference_vjp
from bpcheck.battery.example import Example, tolerance_for
from bpcheck.implementation import (
    Evaluation, Implementation, ImplementationError, evaluations, outputs_of,
)
from bpcheck.layer import Layer
from bpcheck.tiers import in_tier
from bpcheck.tolerances import BATCH_SINGLES_MAX, FD_ELEMENTWISE_MAX, Tolerance

#: Backward calls on one forward's cache: dout, then linearity's d2, a·dout + b·d2 and zero;
#: then, for a layer with several outputs, dout with every output's part but one zeroed
#: (``douts_alone``).
LINEARITY_DOUTS = 4


@dataclass(frozen=True)
class Direction:
    """One finite-difference direction: ``what`` it is called in a report, the gradient entry it
    isolates ((argument index, index) for a unit direction, None for a random one), one array per
    differentiable argument, and whether it is judged (its stencil touches no kink)."""

    what: str
    entry: tuple[int, tuple[int, ...]] | None
    vectors: list[np.ndarray]
    judged: bool


@dataclass(frozen=True)
class StencilPlan:
    """The finite-difference directions of one example: a random one, then (on a tiny input, or
    near a kink) unit directions, entry by entry; on a large input near a kink, a random
    FD_ELEMENTWISE_MAX of the entries (all of them would cost O(parameters) calls on a realistic
    network)."""

    args: tuple[Any, ...]
    positions: tuple[int, ...]
    candidates: tuple[Direction, ...]

    @property
    def judged(self) -> list[Direction]:
        return [d for d in self.candidates if d.judged]

    def points(self) -> list[tuple[Any, ...]]:
        """The arguments at the judged directions' stencil points, 4 per direction."""
        return finite_diff.stencil(self.args, self.positions, [d.vectors for d in self.judged])


def stencil_plan(layer: Layer, ex: Example) -> StencilPlan:
    """The example's directions (fixed by its seed)."""
    positions = layer.differentiable
    shapes = [tuple(np.shape(ex.args[p])) for p in positions]
    rng = np.random.default_rng(ex.draw.seed ^ 0x5EED)
    direction = finite_diff.random_direction(shapes, rng)
    near_kink = finite_diff.crosses_kink(layer.kinks, ex.args, positions, direction)
    candidates = [Direction("along a random direction", None, direction, not near_kink)]
    entries = sum(int(np.prod(s)) for s in shapes)
    if near_kink or entries <= FD_ELEMENTWISE_MAX:
        units = [(i, index) for i, shape in enumerate(shapes) for index in np.ndindex(*shape)]
        if entries > FD_ELEMENTWISE_MAX:
            units = [units[k] for k in sorted(rng.choice(entries, FD_ELEMENTWISE_MAX, False))]
        for i, index in units:
            unit = finite_diff.unit_direction(shapes, i, index)
            candidates.append(Direction(
                f"{layer.grad_names[i]}{list(index)}", (i, index), unit,
                not finite_diff.crosses_kink(layer.kinks, ex.args, positions, unit)))
    return StencilPlan(ex.args, positions, tuple(candidates))


def linear_combination(ex: Example) -> tuple[list[tuple[np.ndarray, ...]], float, float]:
    """dout, a second dout d2, a·dout + b·d2 and zero (each a tuple, one array per output), with
    the a and b used."""
    rng = np.random.default_rng(ex.draw.seed ^ 0x11EA)
    d1 = ex.douts
    d2 = tuple(in_tier(rng.standard_normal(d.shape), ex.draw.tier) for d in d1)
    a, b = rng.uniform(-2.0, 2.0, size=2)
    combination = tuple(in_tier(a * x + b * y, ex.draw.tier) for x, y in zip(d1, d2))
    return [d1, d2, combination, tuple(np.zeros_like(d) for d in d1)], float(a), float(b)


def douts_alone(ex: Example) -> list[tuple[np.ndarray, ...]]:
    """For a layer with several outputs, the example's dout with all but one output's part zeroed,
    one per output (an LSTM step's backward on dnext_h alone, then on dnext_c alone); none for one
    output."""
    if len(ex.douts) < 2:
        return []
    return [tuple(d if j == k else np.zeros_like(d) for j, d in enumerate(ex.douts))
            for k in range(len(ex.douts))]


def batch_groups(layer: Layer, ex: Example) -> tuple[np.ndarray, ...]:
    """The batch check's split of the batch's rows: each row alone when there are at most
    BATCH_SINGLES_MAX of them; else the first, the last and a seeded sample of the others alone
    (BATCH_SINGLES_MAX in all), and the remaining rows together, in order."""
    n = np.shape(ex.args[layer.batched[0]])[0]
    if n <= BATCH_SINGLES_MAX:
        return tuple(np.array([i]) for i in range(n))
    rng = np.random.default_rng(ex.draw.seed ^ 0xBA7C)
    inner = rng.choice(np.arange(1, n - 1), BATCH_SINGLES_MAX - 2, replace=False)
    alone = np.sort(np.concatenate([[0, n - 1], inner]))
    rest = np.setdiff1d(np.arange(n), alone)
    return (*(np.array([i]) for i in alone), rest)


def _group_requests(layer: Layer, ex: Example, groups: tuple[np.ndarray, ...], backward: bool
                    ) -> list[tuple[tuple[Any, ...], list[Any]]]:
    """The batch check's requests: the example restricted to each group of rows."""
    return [(tuple(a[rows] if p in layer.batched else a for p, a in enumerate(ex.args)),
             [tuple(d[rows] for d in ex.douts)] if backward else []) for rows in groups]


@dataclass(frozen=True)
class Evaluated:
    """``full``: the forward at the example's arguments, then the backward on dout and on
    linearity's douts; ``parts``: the batch's rows in ``groups`` (see ``batch_groups``), one
    evaluation per group."""

    full: Evaluation
    groups: tuple[np.ndarray, ...]
    parts: tuple[Evaluation, ...]


class Trial:
    """One example against one implementation: the calls every check judges (made once, on
    first use) and the reference values (computed once, read-only)."""

    def __init__(self, layer: Layer, impl: Implementation, example: Example):
        self.layer, self.impl, self.example = layer, impl, example

    def __repr__(self) -> str:
        return f"Trial({self.layer.name!r}, {self.impl.label!r}, {self.example!r})"

    @property
    def tolerance(self) -> Tolerance:
        return tolerance_for(self.layer, self.example)

    @cached_property
    def gradient_tolerance(self) -> Tolerance:
        """The tolerance for one gradient of this example: ``tolerance``, with its absolute floor
        raised to rtol × the largest reference gradient of the example. A gradient that is
        exactly zero in theory (a bias before batchnorm) is computed as a sum of terms as large
        as the others, whose rounding cancels only to eps times their size: FullyConnectedNet's
        db1 came out 2.6e-13 beside a dW1 of 28.6, past ANALYTIC's 1e-13 (docs: tolerances)."""
        tolerance = self.tolerance
        _, grads = self.expected
        scale = max((float(np.max(np.abs(g), initial=0.0)) for g in grads), default=0.0)
        if not np.isfinite(scale):
            return tolerance
        return Tolerance(tolerance.rtol, max(tolerance.atol, tolerance.rtol * scale))

    @cached_property
    def has_backward(self) -> bool:
        """Whether the protocol defines the backward at this example (see ``Layer.backward_in``)."""
        return self.layer.has_backward(self.example.args)

    @cached_property
    def evaluated(self) -> Evaluated:
        """The implementation's calls on this example, made together."""
        layer, ex = self.layer, self.example
        backward = self.has_backward and not layer.is_loss
        douts = linear_combination(ex)[0] + douts_alone(ex) if backward else []
        groups = batch_groups(layer, ex) if layer.batched else ()
        full, *parts = evaluations(layer, self.impl,
                                   [(ex.args, douts), *_group_requests(layer, ex, groups, backward)])
        return Evaluated(full, groups, tuple(parts))

    @cached_property
    def twin_args(self) -> tuple[Any, ...]:
        """The twin's arguments: the example's, and a random layer's choices as the
        implementation made them (read from its outputs; any fixed choice if it has none)."""
        if self.layer.observed is None:
            return self.example.args
        try:
            outputs = outputs_of(self.layer, self.evaluated.full)
        except ImplementationError:
            outputs = None
        if outputs is not None and np.shape(self.layer.observed(self.example.args, outputs)) != (
                np.shape(self.layer.observed(self.example.args, None))):
            outputs = None  # read from an output of the wrong shape: its own checks say so
        return self.layer.twin_args(self.example.args, outputs)

    @cached_property
    def expected(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """The twin's outputs (a tuple, one per output; (loss,) for a loss) and ``jax.vjp`` of
        it at the example's own dout; read-only."""
        out, grads = reference_vjp(self.layer, self.twin_args, self.example.dout)
        outputs = tuple(out) if isinstance(out, tuple) else (out,)
        for array in (*outputs, *grads):
            array.flags.writeable = False
        return outputs, grads

    @cached_property
    def expected_alone(self) -> list[tuple[np.ndarray, ...]]:
        """``jax.vjp``'s gradients at each of ``douts_alone``, in order; read-only."""
        found = []
        for douts in douts_alone(self.example):
            _, grads = reference_vjp(self.layer, self.twin_args, douts)
            for array in grads:
                array.flags.writeable = False
            found.append(grads)
        return found

    @cached_property
    def stencil(self) -> StencilPlan:
        """The finite-difference directions (fixed by the example's seed)."""
        return stencil_plan(self.layer, self.example)
