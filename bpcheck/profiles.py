"""Hypothesis settings profiles, shared by pytest and the command line.

``dev`` (the default) explores with fresh randomness each run; ``ci`` is derandomized so that a CI
run is reproducible; ``thorough`` is for local runs before a release. Choose one with the
``HYPOTHESIS_PROFILE`` environment variable. Deadlines are off: the first example of each new shape
includes a JAX compilation (~0.15 s), which is not the code under test being slow.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

EXAMPLES = {"dev": 50, "ci": 50, "thorough": 1000}
#: Examples per layer that ``bpcheck check`` and the Python API draw, each through every check
#: (the pytest suite draws the profile's ``EXAMPLES``; grading its rubric's).
DEFAULT_EXAMPLES = 100

# No "explain" phase: after shrinking it replays the failing example hundreds of times to annotate
# which parts matter (seconds per failure); bpcheck's own report already names the example, the
# check, the worst entry and a line that rebuilds the example. The runner drops it too.
_PHASES = tuple(phase for phase in Phase if phase is not Phase.explain)
_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True,
               phases=_PHASES)
settings.register_profile("dev", max_examples=EXAMPLES["dev"], **_common)
settings.register_profile("ci", max_examples=EXAMPLES["ci"], derandomize=True, **_common)
settings.register_profile("thorough", max_examples=EXAMPLES["thorough"], **_common)


def load(name: str | None = None) -> str:
    """Load the profile named (default: $HYPOTHESIS_PROFILE, else ``dev``); return its name."""
    chosen = name or os.environ.get("HYPOTHESIS_PROFILE") or "dev"
    if chosen not in EXAMPLES:
        raise ValueError(f"unknown hypothesis profile {chosen!r}; choose one of {', '.join(EXAMPLES)}")
    settings.load_profile(chosen)
    return chosen
