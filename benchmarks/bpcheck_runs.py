"""bpcheck as its users run it, with its cost counted: the default verdict on one layer of a file
(what ``bpcheck check FILE --only LAYER`` does, in this process), and the battery on one example
at a chosen shape.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.counting import CallCounter, reference_calls
from bpcheck import profiles
from bpcheck.battery.checks import checks_for
from bpcheck.profiles import DEFAULT_EXAMPLES
from bpcheck.implementation import Implementation
from bpcheck.layer import Layer
from bpcheck.battery.checks import checks_available
from bpcheck.loader import load
from bpcheck.registry import layer_named
from bpcheck.battery.runner import run_checks
from bpcheck.battery.example import Example
from bpcheck.battery.trial import Trial
from bpcheck.battery.verdict import verdicts

#: The CLI's default profile (fresh randomness) and examples per layer.
DEFAULT_PROFILE = "dev"


@dataclass
class BpcheckResult:
    caught: bool
    #: function name -> its status ("passed", "failed", "warning", "missing", "error")
    statuses: dict[str, str] = field(default_factory=dict)
    #: function name -> the message bpcheck prints (with its diagnosis), for failed functions and
    #: warnings
    messages: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    forward_calls: int = 0
    backward_calls: int = 0
    reference_calls: int = 0
    examples: int = 0  # drawn examples, each through the battery


def verdict_on(impl: Implementation, layer: Layer, problems: dict[str, str] | None = None, *,
               max_examples: int = DEFAULT_EXAMPLES, shrink: bool = True,
               derandomize: bool | None = None) -> BpcheckResult:
    """The default verdict on ``layer``: every available check over ``max_examples`` examples
    (profile ``dev``), with calls of the code under test and of the JAX twin counted.
    ``shrink`` and ``derandomize`` as in ``run_checks`` (the tests use a fixed, short run)."""
    profiles.load(DEFAULT_PROFILE)
    problems = problems or {}
    counter = CallCounter()
    counted = counter.implementation(impl)
    checks = checks_available(layer, impl, problems)
    started = time.perf_counter()
    with reference_calls() as jax_calls:
        runs = run_checks(layer, counted, checks, max_examples=max_examples, shrink=shrink,
                          derandomize=derandomize) if checks else []
    seconds = time.perf_counter() - started
    functions = [(name, layer.name) for name in layer.functions]
    missing = {name for name in layer.functions if name not in impl.functions}
    rows = verdicts(runs, functions, missing, problems)
    forward_runs = [r for r in runs if r.check == "forward"]
    examples = max((r.passed + r.skipped + r.warnings + (r.failure is not None)
                    for r in (forward_runs or runs)), default=0)
    return BpcheckResult(
        caught=any(row.status in ("failed", "error") for row in rows),
        statuses={row.function: row.status for row in rows},
        messages={row.function: row.message for row in rows
                  if row.status in ("failed", "error", "warning")},
        seconds=seconds, forward_calls=counter.forward_calls(layer),
        backward_calls=counter.backward_calls(layer), reference_calls=sum(jax_calls.values()),
        examples=examples)


def verdict_on_file(path: Path, layer_name: str, **options) -> BpcheckResult:
    """``bpcheck check PATH --only LAYER`` in this process."""
    loaded = load(path)
    layer = next(layer for layer in loaded.layers if layer.name == layer_name)
    return verdict_on(loaded.impl, layer, loaded.problems, **options)


@dataclass
class BatteryCost:
    """One example at a given shape through every check of the battery."""

    passed: bool
    stopped: bool = False
    seconds: float = 0.0
    forward_calls: int = 0
    backward_calls: int = 0
    reference_calls: int = 0
    seconds_per_check: dict[str, float] = field(default_factory=dict)
    compile_seconds: float = 0.0  # JAX tracing, lowering and compiling (or cache loading)
    failures: list[str] = field(default_factory=list)


def battery_at(impl: Implementation, example: Example, *, budget: float | None = None) -> BatteryCost:
    """Run every check that applies to the example's layer on it, timing each check (the first
    check's time includes the implementation's calls that all of them share: ``Trial``)."""
    from benchmarks.compile_time import compile_seconds

    layer = layer_named(example.layer)
    counter = CallCounter(None if budget is None else time.perf_counter() + budget)
    counted = counter.implementation(impl)
    cost = BatteryCost(passed=True)
    started = time.perf_counter()
    trial = Trial(layer, counted, example)  # the calls every check judges, made on first use
    with reference_calls() as jax_calls, compile_seconds() as compiling:
        for check in checks_for(layer):
            check_started = time.perf_counter()
            finding = check(trial)
            cost.seconds_per_check[check.name] = time.perf_counter() - check_started
            if finding.failed:
                if "Deadline" in finding.message:
                    cost.stopped = True
                    break
                cost.passed = False
                cost.failures.append(f"{check.name}: {finding.message[:200]}")
    cost.seconds = time.perf_counter() - started
    cost.forward_calls = counter.forward_calls(layer)
    cost.backward_calls = counter.backward_calls(layer)
    cost.reference_calls = sum(jax_calls.values())
    cost.compile_seconds = compiling.total
    return cost

