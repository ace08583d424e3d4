"""Time JAX spends compiling, from its own monitoring events (in this process).

A compile is three stages, each reported by JAX as an event duration: tracing the Python function
to a jaxpr, lowering it to an MLIR module, and the XLA backend compile — which, with the
persistent cache warm, is a cache load instead. ``compile_seconds`` sums them while a block runs
and counts the backend compiles (one per distinct program and shape).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from bpcheck.jaxsetup import jax

TRACE = "/jax/core/compile/jaxpr_trace_duration"
LOWER = "/jax/core/compile/jaxpr_to_mlir_module_duration"
BACKEND = "/jax/core/compile/backend_compile_duration"
CACHE_HIT = "/jax/compilation_cache/cache_hits"


@dataclass
class CompileTime:
    seconds: dict[str, float] = field(default_factory=lambda: {TRACE: 0.0, LOWER: 0.0, BACKEND: 0.0})
    backend_compiles: int = 0  # distinct (program, shape) pairs built or loaded
    cache_hits: int = 0

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


@contextmanager
def compile_seconds() -> Iterator[CompileTime]:
    tally = CompileTime()

    def on_duration(event: str, duration: float, **_: object) -> None:
        if event in tally.seconds:
            tally.seconds[event] += duration
            tally.backend_compiles += event == BACKEND

    def on_event(event: str, **_: object) -> None:
        tally.cache_hits += event == CACHE_HIT

    jax.monitoring.register_event_duration_secs_listener(on_duration)
    jax.monitoring.register_event_listener(on_event)
    try:
        yield tally
    finally:
        jax.monitoring.unregister_event_duration_listener(on_duration)
        jax.monitoring.unregister_event_listener(on_event)
