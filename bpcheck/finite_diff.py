"""Central finite differences that carry their own error estimate, and kink detection.

``phi(args) -> (value, magnitude)`` is a scalar function of the arguments (⟨dout, forward(args)⟩ for
a layer, the loss for a loss) and a magnitude of the terms it summed, for the rounding estimate.

The directional derivative along v is estimated at steps h and 2h:
    D(h) = (phi(x + h v) - phi(x - h v)) / 2h,   R = (4 D(h) - D(2h)) / 3   (Richardson, O(h^4)),
and its error bound is |D(h) - D(2h)| (the truncation error of D(h), far above R's) plus the
rounding error eps · magnitude / h. Four evaluations, whatever the size of the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from bpcheck.tolerances import EPS64, FD_STEP

Phi = Callable[[tuple[Any, ...]], tuple[float, float]]
#: Rounding is estimated generously: this many ulps of the summed terms per evaluation.
ROUNDING_ULPS = 16.0


@dataclass(frozen=True)
class Estimate:
    value: float  # the extrapolated directional derivative
    error: float  # a bound on its error (truncation + rounding)


def shift(args: tuple[Any, ...], positions: Sequence[int], direction: Sequence[np.ndarray], t: float):
    """``args`` with ``args[p] + t * direction[i]`` at each differentiable position p."""
    moved = list(args)
    for position, v in zip(positions, direction):
        moved[position] = np.asarray(args[position], dtype=np.float64) + t * v
    return tuple(moved)


def directional(
    phi: Phi, args: tuple[Any, ...], positions: Sequence[int], direction: Sequence[np.ndarray],
    step: float = FD_STEP,
) -> Estimate:
    values: dict[int, float] = {}
    magnitude = 0.0
    for k in (-2, -1, 1, 2):
        value, size = phi(shift(args, positions, direction, k * step))
        values[k] = value
        magnitude = max(magnitude, size)
    d1 = (values[1] - values[-1]) / (2 * step)
    d2 = (values[2] - values[-2]) / (4 * step)
    rounding = ROUNDING_ULPS * EPS64 * magnitude / step
    return Estimate((4 * d1 - d2) / 3, abs(d1 - d2) + rounding)


def crosses_kink(
    kinks: Callable[..., np.ndarray] | None, args: tuple[Any, ...], positions: Sequence[int],
    direction: Sequence[np.ndarray], step: float = FD_STEP,
) -> bool:
    """Whether the stencil x ± 2h·v touches a kink: a kink quantity is 0 or changes sign on it.

    Kink quantities are affine in the arguments for every layer we have (relu: x; hinge: margins),
    so checking the stencil's ends and centre is exact.
    """
    if kinks is None:
        return False
    low = np.asarray(kinks(*shift(args, positions, direction, -2 * step)))
    mid = np.asarray(kinks(*args))
    high = np.asarray(kinks(*shift(args, positions, direction, 2 * step)))
    return bool(np.any(mid == 0) or np.any(low * mid <= 0) or np.any(mid * high <= 0))


def random_direction(shapes: Sequence[tuple[int, ...]], rng: np.random.Generator) -> list[np.ndarray]:
    """One standard-normal direction per argument, scaled to unit max-norm."""
    direction = []
    for shape in shapes:
        v = rng.standard_normal(shape)
        peak = np.max(np.abs(v), initial=0.0)
        direction.append(v / peak if peak > 0 else v)
    return direction


def unit_direction(shapes: Sequence[tuple[int, ...]], i: int, index: tuple[int, ...]):
    """The direction along entry ``index`` of argument ``i``: zero everywhere else."""
    direction = [np.zeros(s) for s in shapes]
    direction[i][index] = 1.0
    return direction
