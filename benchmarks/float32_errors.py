"""The worst normalised error of manual/ in the float32 tier, per layer, check and magnitude: the
measurement behind ``tolerances.FLOAT32``.

    python -m benchmarks.float32_errors [EXAMPLES_PER_LAYER [LAYER,...]]   # JSON, worst first

Examples are the float32 tier's own (``build_example`` with ``tier="float32"``), drawn from the
registry's pools with plain NumPy randomness rather than hypothesis (no shrinking, no health
checks: a measurement, not a test). Each runs through the float32 tier's checks with the
tolerance opened up to rtol 1 (the same atol/rtol ratio as ``FLOAT32``), so the errors reported
are exactly the numbers ``FLOAT32`` is compared with, in units of float32's epsilon too.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from unittest import mock

import numpy as np

from bpcheck import tolerances
from bpcheck.sampling import BATCH_SIZES, FEATURE_SIZES, TRAILING_SHAPES, Dims, Draw

#: rtol 1 and FLOAT32's atol/rtol ratio: every error below 1 passes, so each is recorded.
OPEN = tolerances.Tolerance(rtol=1.0, atol=tolerances.FLOAT32.atol / tolerances.FLOAT32.rtol)


def random_draw(rng: np.random.Generator, magnitudes: tuple[float, ...]) -> Draw:
    """A float32-tier draw from the strategies' pools."""
    pick = lambda pool: pool[int(rng.integers(len(pool)))]  # noqa: E731
    dims = Dims(n=pick(BATCH_SIZES), d=pick(FEATURE_SIZES), m=pick(FEATURE_SIZES),
                c=pick(FEATURE_SIZES), trailing=pick(TRAILING_SHAPES), split=bool(rng.integers(2)))
    return Draw(dims, pick(magnitudes), bool(rng.integers(2)), int(rng.integers(2**32)),
                tier="float32")


def measure(examples: int = 300, seed: int = 0, only: tuple[str, ...] = ()) -> dict:
    """The worst error per (layer, check, magnitude) over ``examples`` per layer (all layers, or
    those named in ``only``), and every failure's report."""
    import manual
    from bpcheck.battery.checks import checks_for, run_battery
    from bpcheck.implementation import Implementation
    from bpcheck.registry import REGISTRY
    from bpcheck.battery.example import build_example
    from bpcheck.battery.checks import checks_in_tier

    impl = Implementation.from_module(manual)
    rng = np.random.default_rng(seed)
    worst: dict = defaultdict(float)
    failures = []
    with mock.patch.object(tolerances, "FLOAT32", OPEN):
        for layer in (r for r in REGISTRY if not only or r.name in only):
            checks = checks_in_tier(checks_for(layer), "float32")
            for _ in range(examples):
                example = build_example(layer, random_draw(rng, layer.magnitudes))
                for finding in run_battery(layer, impl, example, checks):
                    if finding.failed:
                        failures.append(finding.report())
                    elif finding.error is not None:
                        key = (layer.name, finding.check, example.draw.scale)
                        worst[key] = max(worst[key], finding.error)
    rows = sorted(worst.items(), key=lambda item: -item[1])
    return {
        "examples_per_layer": examples,
        "worst": [{"layer": name, "check": check, "scale": scale, "error": error,
                   "in_eps32": error / tolerances.EPS32}
                  for (name, check, scale), error in rows],
        "failures": failures,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    names = tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else ()
    print(json.dumps(measure(count, only=names), indent=1))
