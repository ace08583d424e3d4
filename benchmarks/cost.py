"""Cost to a verdict: wall time and evaluations of each checker on a correct layer (manual/).

Cases: affine (N, D, M) from (4, 8, 8) to (128, 1024, 1024), softmax_loss with C up to 1000,
batchnorm (N, D) up to (128, 1024), and a 3-layer relu MLP (D, H, H, C) up to (784, 256, 256, 10).
Every checker sees the same example per case (``draws.example_at``). Calls of the code under test
are counted by wrapping its functions; a loss's one call (value and gradient) counts as a forward.

The full-Jacobian peers (cs231n, torch gradcheck) need 2P + 1 forward calls for P differentiable
entries, and torch keeps two P × (outputs) Jacobians in memory. They are run only when a timing
of this case's forward and backward predicts they finish within the budget and their Jacobians
fit in ``JACOBIAN_MEMORY``; otherwise the table gives the evaluations they would need and the
predicted time. A run that still overruns is stopped at the budget and marked so.

bpcheck's cost has two parts: the battery on this one example (every check, at this shape), and
its default verdict on the layer (100 examples over its small shape pools, profile ``dev``), which
does not depend on the case; its verdict on a layer at a shape is both together.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from benchmarks.bpcheck_runs import BatteryCost, BpcheckResult, battery_at, verdict_on
from benchmarks.draws import describe_shape, differentiable_entries, example_at
from benchmarks.peers import PeerResult, Subject, run_peer, warm_up
from bpcheck.implementation import Implementation
from bpcheck.registry import layer_named

CASES: dict[str, list[dict[str, Any]]] = {
    "affine": [dict(n=4, d=8, m=8), dict(n=16, d=64, m=64), dict(n=32, d=256, m=256),
               dict(n=64, d=512, m=512), dict(n=128, d=1024, m=1024)],
    "softmax_loss": [dict(n=16, c=10), dict(n=64, c=100), dict(n=128, c=1000)],
    "batchnorm": [dict(n=16, d=16), dict(n=64, d=128), dict(n=128, d=1024)],
    "mlp_loss": [dict(n=8, sizes=(8, 16, 16, 4)), dict(n=32, sizes=(64, 128, 128, 10)),
                 dict(n=64, sizes=(784, 256, 256, 10))],
}
FULL_JACOBIAN = ("cs231n", "torch")
CONSTANT_COST = ("torch-fast", "jax")
#: torch's full gradcheck holds a numerical and an analytical Jacobian, P × outputs doubles each.
JACOBIAN_MEMORY = 2e9
#: bpcheck's battery at a shape is O(1) in P for most layers; it gets at least this budget (its
#: finite differences fall back to one stencil per entry when a direction crosses a kink).
BPCHECK_BUDGET = 30.0
#: Per-call overhead of the peers' own Python (measured here: ~5 µs cs231n, ~40 µs torch).
OVERHEAD = {"cs231n": 5e-6, "torch": 4e-5}


@dataclass
class CaseCost:
    layer: str
    shape: str
    entries: int  # P
    outputs: int
    peers: dict[str, PeerResult | None] = field(default_factory=dict)
    #: checker -> (forward calls needed, predicted seconds, why it was not run), when not run
    not_run: dict[str, tuple[int, float, str]] = field(default_factory=dict)
    battery: BatteryCost | None = None

    def as_json(self) -> dict:
        data = asdict(self)
        data["not_run"] = {k: {"forward_calls_needed": v[0], "predicted_seconds": v[1],
                               "reason": v[2]} for k, v in self.not_run.items()}
        return data


def _seconds_per_call(subject: Subject, args: tuple, dout, repeats: int = 3) -> tuple[float, float]:
    """(forward, backward) seconds per call of the code under test at this shape (best of a few)."""
    forward = backward = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        value, cache = subject.value_and_cache(args)
        forward = min(forward, time.perf_counter() - started)
        if not subject.layer.is_loss:
            started = time.perf_counter()
            subject.impl.functions[subject.layer.backward_name](dout, cache)
            backward = min(backward, time.perf_counter() - started)
    return forward, 0.0 if subject.layer.is_loss else backward


def _prediction(checker: str, entries: int, outputs: int, forward: float, backward: float
                ) -> tuple[int, float, str | None]:
    """(forward calls needed, predicted seconds, reason not to run or None)."""
    calls = 2 * entries + 1
    overhead = OVERHEAD[checker]
    seconds = calls * (forward + overhead)
    if checker == "torch":
        seconds += outputs * (backward + overhead)
        memory = 2 * 8.0 * entries * outputs
        if memory > JACOBIAN_MEMORY:
            return calls, seconds, f"Jacobians need {memory / 1e9:.1f} GB"
    return calls, seconds, None


def cost_of_case(layer_name: str, shape: dict[str, Any], impl: Implementation, budget: float
                 ) -> CaseCost:
    layer = layer_named(layer_name)
    example = example_at(layer_name, shape)
    args, dout = example.args, example.dout
    subject = Subject(layer, impl)
    outputs = 1 if layer.is_loss else int(np.size(dout))
    case = CaseCost(layer_name, describe_shape(layer_name, shape),
                    differentiable_entries(layer, args), outputs)
    forward, backward = _seconds_per_call(subject, args, dout)
    for checker in (*FULL_JACOBIAN, *CONSTANT_COST):
        if checker in FULL_JACOBIAN:
            calls, seconds, reason = _prediction(checker, case.entries, outputs, forward, backward)
            if reason is None and seconds > budget:
                reason = f"predicted {_duration(seconds)} > budget {budget:g} s"
            if reason is not None:
                case.not_run[checker] = (calls, seconds, reason)
                case.peers[checker] = None
                continue
        case.peers[checker] = run_peer(checker, layer, impl, args, dout, budget=budget)
    case.battery = battery_at(impl, example, budget=max(budget, BPCHECK_BUDGET))
    return case


def default_verdicts(impl: Implementation, layers: list[str]) -> dict[str, BpcheckResult]:
    """bpcheck's default verdict per layer (independent of the case's shape)."""
    return {name: verdict_on(impl, layer_named(name)) for name in layers}


def run(quick: bool, budget: float, progress=None) -> tuple[list[CaseCost], dict[str, BpcheckResult]]:
    import manual

    impl = Implementation.from_module(manual)
    warm_up()
    cases = []
    for layer_name, shapes in CASES.items():
        for shape in (shapes[0], shapes[-1]) if quick else shapes:
            if progress:
                progress(f"cost: {layer_name} {describe_shape(layer_name, shape)}")
            cases.append(cost_of_case(layer_name, shape, impl, budget))
    if progress:
        progress("cost: bpcheck's default verdicts")
    return cases, default_verdicts(impl, list(CASES))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def targets(cases: list[CaseCost], verdicts: dict[str, BpcheckResult]) -> dict[str, Any]:
    """The issue's targets on the largest affine case: ≥ 1000× fewer forward evaluations than any
    full-Jacobian check, and ≤ 2× the wall time of torch gradcheck(fast_mode=True)."""
    largest = [c for c in cases if c.layer == "affine"][-1]
    default = verdicts["affine"]
    battery = largest.battery
    full_needed = min(largest.peers[k].forward_calls if largest.peers.get(k) else largest.not_run[k][0]
                      for k in FULL_JACOBIAN)
    fast = largest.peers["torch-fast"]
    verdict_calls = battery.forward_calls + default.forward_calls
    verdict_seconds = battery.seconds + default.seconds
    return {
        "case": f"affine {largest.shape}",
        "full_jacobian_forward_calls": full_needed,
        "bpcheck_forward_calls": {"this_shape": battery.forward_calls, "with_default_run": verdict_calls},
        "forward_call_ratio": {"this_shape": full_needed / max(1, battery.forward_calls),
                               "with_default_run": full_needed / max(1, verdict_calls)},
        "torch_fast_seconds": fast.seconds,
        "bpcheck_seconds": {"this_shape": battery.seconds, "with_default_run": verdict_seconds},
        "wall_ratio_to_torch_fast": {"this_shape": battery.seconds / fast.seconds,
                                     "with_default_run": verdict_seconds / fast.seconds},
        "bpcheck_seconds_per_check": battery.seconds_per_check,
        "bpcheck_compile_seconds": battery.compile_seconds,
    }
