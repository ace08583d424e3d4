"""Central finite differences that carry their own error estimate, and kink detection.

phi(args) is a scalar function of the arguments (⟨dout, forward(args)⟩ for a layer, the loss for a
loss), measured with the magnitude of the terms it summed, for the rounding estimate.

The directional derivative along v is estimated at steps h and 2h:
    D(h) = (phi(x + h v) - phi(x - h v)) / 2h,   R = (4 D(h) - D(2h)) / 3   (Richardson, O(h^4)),
and its error bound is |D(h) - D(2h)| (the truncation error of D(h), far above R's) plus the
rounding error eps · magnitude / h. Four evaluations, whatever the size of the arguments; the
stencils of many directions can be evaluated in one call (``stacked_stencil``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from bpcheck.tolerances import EPS64, FD_STEP

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


#: The stencil's multiples of the step, in the order their values are measured.
STENCIL = (-2, -1, 1, 2)


def stencil(args: tuple[Any, ...], positions: Sequence[int],
            directions: Sequence[Sequence[np.ndarray]], step: float = FD_STEP) -> list[tuple[Any, ...]]:
    """The points x + k·h·v, for each direction v and each k in ``STENCIL``: 4 per direction."""
    return [shift(args, positions, v, k * step) for v in directions for k in STENCIL]


def stacked_stencil(args: tuple[Any, ...], positions: Sequence[int],
                    directions: Sequence[Sequence[np.ndarray]], step: float = FD_STEP,
                    ) -> list[np.ndarray]:
    """The same points, one array per differentiable argument: (4·len(directions), *its shape),
    to be evaluated in one call."""
    offsets = np.array([k * step for k in STENCIL])
    stacked = []
    for i, position in enumerate(positions):
        base = np.asarray(args[position], dtype=np.float64)
        moves = np.stack([v[i] for v in directions])  # (directions, *shape)
        points = base + offsets.reshape(1, -1, *([1] * base.ndim)) * moves[:, None]
        stacked.append(points.reshape(-1, *base.shape))
    return stacked


def estimates(measured: Sequence[tuple[float, float]], step: float = FD_STEP) -> list[Estimate]:
    """One estimate per direction from phi's (value, magnitude) at its 4 stencil points, in the
    order ``stencil`` gives them."""
    found = []
    for start in range(0, len(measured), len(STENCIL)):
        values = {k: measured[start + j][0] for j, k in enumerate(STENCIL)}
        magnitude = max(measured[start + j][1] for j in range(len(STENCIL)))
        d1 = (values[1] - values[-1]) / (2 * step)
        d2 = (values[2] - values[-2]) / (4 * step)
        rounding = ROUNDING_ULPS * EPS64 * magnitude / step
        found.append(Estimate((4 * d1 - d2) / 3, abs(d1 - d2) + rounding))
    return found


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
