"""Precision tiers: the same battery on float64 inputs (the default) or on float32 inputs.

A tier is a property of an example (``Draw.tier``): the float32 tier draws the float64 tier's
examples (the same dimensions, magnitudes and seeds; one value style differs, below) and rounds
every floating-point array among the arguments, and dout, to float32
(integer labels, strings and Python scalars such as ``alpha`` or ``bn_param['eps']`` stay as they
are). The reference is ``jax.vjp`` in float64 at those rounded values (``autodiff`` upcasts them
before they reach JAX), so it is exact for the very inputs the implementation saw, and the JAX
programs are the float64 tier's own: no extra compilation.

What changes in the float32 tier (and nowhere else):

* tolerances: ``battery.example.tolerance_for`` gives ``FLOAT32`` (derived from float32's epsilon);
* values: a nearly-constant batch wobbles by 1e-1 with an exact spread, not 1e-4 (see
  ``sampling.NEARLY_CONSTANT``); the magnitudes are the float64 tier's, ±1e4 included;
* gradients may be float32 or float64 arrays (``GRADIENT_DTYPES``);
* finite differences do not run (their record, ``battery.checks.BATTERY``, says which tiers each
  check runs in): a float32 computation cannot be differenced at a float64 step, and the float64
  tier already proves each derivation against finite differences; the float32 tier asks only
  whether a derivation, computed in single precision, agrees with the exact VJP at single
  precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The tiers, the default first.
TIERS = ("float64", "float32")
#: The dtype a tier's floating-point arguments and dout are given in.
DTYPES = {"float64": np.float64, "float32": np.float32}
#: Gradient dtypes the ``shapes`` check accepts in each tier. In the float32 tier a float64
#: gradient is fine too (a float64 constant upcasts an expression; the values are still judged).
GRADIENT_DTYPES = {"float64": (np.float64,), "float32": (np.float32, np.float64)}


def check_tier(tier: str) -> str:
    """``tier`` itself, or a ValueError naming the tiers."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}")
    return tier


def in_tier(value: Any, tier: str) -> Any:
    """``value`` with every floating-point array (inside tuples, lists and dicts too) rounded to
    the tier's dtype; integer and boolean arrays, strings and Python scalars are returned as they
    are. In the float64 tier ``value`` itself is returned."""
    dtype = DTYPES[check_tier(tier)]
    if dtype is np.float64:
        return value
    if isinstance(value, np.ndarray):
        return value.astype(dtype) if np.issubdtype(value.dtype, np.floating) else value
    if isinstance(value, np.floating):
        return dtype(value)
    if isinstance(value, dict):
        return {k: in_tier(v, tier) for k, v in value.items()}
    if type(value) in (tuple, list):
        return type(value)(in_tier(v, tier) for v in value)
    return value


def gradient_dtype_ok(grad: np.ndarray, tier: str) -> bool:
    """Whether a gradient array's dtype is one the tier accepts."""
    return any(grad.dtype == d for d in GRADIENT_DTYPES[check_tier(tier)])


def describe_dtypes(tier: str) -> str:
    """"float64", or "float32 or float64": the dtypes a tier accepts, for a message."""
    return " or ".join(np.dtype(d).name for d in GRADIENT_DTYPES[check_tier(tier)])
