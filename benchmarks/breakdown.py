"""Where the default suite's time goes, in one process: every registry layer through the battery
as `bpcheck check` runs it (100 examples per layer, profile ci), with each check timed and JAX's
compile time (tracing, lowering, XLA compile or cache load) taken from its monitoring events.

    BPCHECK_JAX_CACHE=DIR python -m benchmarks.breakdown   # prints JSON

The rest of the time — neither a check nor a compile — is hypothesis drawing and managing
examples, building them (NumPy values, the output shape) and the runner's bookkeeping.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace

from bpcheck import profiles
from bpcheck.battery.checks import checks_for
from bpcheck.profiles import DEFAULT_EXAMPLES


def measure(max_examples: int = DEFAULT_EXAMPLES) -> dict:
    import manual
    from benchmarks.compile_time import compile_seconds
    from bpcheck.implementation import Implementation
    from bpcheck.registry import REGISTRY
    from bpcheck.battery.runner import run_checks

    profiles.load("ci")
    impl = Implementation.from_module(manual)
    per_check: Counter = Counter()

    def timed(name, run):
        def run_timed(trial):
            started = time.perf_counter()
            try:
                return run(trial)
            finally:
                per_check[name] += time.perf_counter() - started
        return run_timed

    examples = 0
    started = time.perf_counter()
    with compile_seconds() as compiling:
        for layer in REGISTRY:
            checks = tuple(replace(c, run=timed(c.name, c.run)) for c in checks_for(layer))
            runs = run_checks(layer, impl, checks, max_examples=max_examples)
            examples += max(r.passed + r.skipped + r.warnings + (r.failure is not None) for r in runs)
    seconds = time.perf_counter() - started
    checks_total = sum(per_check.values())
    return {"layers": len(REGISTRY), "examples": examples, "seconds": seconds,
            "examples_per_second": examples / seconds,
            "check_seconds": dict(per_check), "compile_seconds": compiling.total,
            "compile_seconds_by_stage": {k.rsplit("/", 1)[-1]: v for k, v in compiling.seconds.items()},
            "programs_compiled": compiling.backend_compiles,
            "other_seconds": seconds - checks_total,
            "note": "compile time happens inside the checks (first call per shape); other = "
                    "hypothesis, example building, runner"}


if __name__ == "__main__":
    import bpcheck.jaxsetup  # noqa: F401

    print(json.dumps(measure()))
