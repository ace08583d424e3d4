"""Every call the battery makes on one example, planned up front and made together.

The checks of one example need the implementation's forward and backward at the example itself,
the backward on more douts (linearity) and each row of the batch alone (batch consistency). All of
them follow from the example (its seed fixes the extra douts), so they are made in one batch: one
round trip when the implementation is sandboxed, where a round trip costs as much as the calls
themselves. Finite differences' directions, also fixed by the seed, are planned here too.

Finite differences differentiate the implementation's own forward once it is shown right at the
example; in a sandbox they differentiate its JAX twin instead (equal to it there): its stencil
points in one vectorised call cost ~0.3 ms, while sending them to the child and back was measured
at ~5 ms per example.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpcheck import finite_diff
from bpcheck.implementation import Evaluation, Implementation, evaluations
from bpcheck.layer import Layer
from bpcheck.battery.example import Example
from bpcheck.tiers import in_tier
from bpcheck.tolerances import FD_ELEMENTWISE_MAX

#: Backward calls on one forward's cache: dout, then linearity's d2, a·dout + b·d2 and zero.
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
    """The example's directions (fixed by its seed), computed once per example."""
    kept = ex.__dict__.get("_stencil_plan")
    if kept is not None:
        return kept
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
    plan = StencilPlan(ex.args, positions, tuple(candidates))
    object.__setattr__(ex, "_stencil_plan", plan)
    return plan


def linear_combination(ex: Example) -> tuple[list[np.ndarray], float, float]:
    """dout, a second dout d2, a·dout + b·d2 and zero, with the a and b used."""
    rng = np.random.default_rng(ex.draw.seed ^ 0x11EA)
    d1, d2 = ex.dout, in_tier(rng.standard_normal(ex.dout.shape), ex.draw.tier)
    a, b = rng.uniform(-2.0, 2.0, size=2)
    combination = in_tier(a * d1 + b * d2, ex.draw.tier)  # every dout in the example's dtype
    return [d1, d2, combination, np.zeros_like(d1)], float(a), float(b)


def _rows(layer: Layer, ex: Example) -> list[tuple[tuple[Any, ...], list[Any]]]:
    """The batch check's requests: each row of the batch alone (batch size 1)."""
    n = np.shape(ex.args[layer.batched[0]])[0]
    return [(tuple(a[i:i + 1] if p in layer.batched else a for p, a in enumerate(ex.args)),
             [] if ex.dout is None else [ex.dout[i:i + 1]]) for i in range(n)]


@dataclass(frozen=True)
class Evaluated:
    """``full``: the forward at the example's arguments, then the backward on dout and on
    linearity's douts; ``singles``: the batch's rows, one example each."""

    full: Evaluation
    singles: tuple[Evaluation, ...]


def evaluated(layer: Layer, impl: Implementation, ex: Example) -> Evaluated:
    """The implementation's calls on this example, made once per example and implementation and
    shared by every check."""
    kept = ex.__dict__.get("_evaluated")
    if kept is None or kept[0] is not impl:
        douts = [] if layer.is_loss else linear_combination(ex)[0]
        rows = _rows(layer, ex) if layer.batched else []
        full, *singles = evaluations(layer, impl, [(ex.args, douts), *rows])
        kept = (impl, Evaluated(full, tuple(singles)))
        object.__setattr__(ex, "_evaluated", kept)
    return kept[1]
