"""Counting what a checker costs: calls of the code under test, and of bpcheck's JAX reference.

``CallCounter`` wraps an ``Implementation``'s functions so that every call is counted by name
(``affine_forward``, ``affine_backward``, ``softmax_loss`` …) and, when a deadline is set, so that
the first call past it raises ``Deadline`` — the way a peer that needs O(parameters) evaluations
is stopped mid-run. ``reference_calls`` counts bpcheck's compiled ``jax.vjp`` / forward calls
(the twin's evaluations) by wrapping the names the battery looks them up by; it is benchmark
instrumentation only and restores them on exit.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from bpcheck.implementation import Implementation
from bpcheck.layer import Layer


class Deadline(Exception):
    """Raised from inside a counted call once the checker has run past its time budget."""


@dataclass
class CallCounter:
    """Counts calls per function name; ``deadline`` is a ``time.perf_counter()`` value or None."""

    deadline: float | None = None
    calls: Counter = field(default_factory=Counter)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            if self.deadline is not None and time.perf_counter() > self.deadline:
                raise Deadline(f"stopped after {sum(self.calls.values()):,} calls")
            self.calls[name] += 1
            return function(*args, **kwargs)

        counted.__name__ = getattr(function, "__name__", name)
        counted.__wrapped__ = function  # type: ignore[attr-defined]
        if callable(getattr(function, "scores", None)):  # a model's test-mode scores, uncounted
            counted.scores = function.scores  # type: ignore[attr-defined]
        return counted

    def implementation(self, impl: Implementation) -> Implementation:
        """The same implementation with every function counted."""
        return Implementation(impl.label, {n: self.wrap(n, f) for n, f in impl.functions.items()})

    def forward_calls(self, layer: Layer) -> int:
        """Forward evaluations: ``<name>_forward`` calls, or calls of the loss (value and dx)."""
        return self.calls[layer.forward_name]

    def backward_calls(self, layer: Layer) -> int:
        """``<name>_backward`` calls (0 for a loss, whose one call returns its gradient)."""
        return 0 if layer.is_loss else self.calls[layer.backward_name]


@contextmanager
def reference_calls() -> Iterator[Counter]:
    """Count bpcheck's JAX twin evaluations made by the battery and the diagnosis while the block
    runs: ``reference_vjp`` calls, and ``reference_forward`` points (finite differences evaluate
    the twin at all of an example's stencil points in one vectorised call; each point counts)."""
    from bpcheck import autodiff
    from bpcheck.battery import checks
    from bpcheck.battery import diagnose

    counts: Counter = Counter()
    # The battery's reference at an example's own point goes through autodiff.expected (computed
    # once per example), which calls autodiff.reference_vjp.
    patched = [(autodiff, "reference_vjp"), (checks, "reference_forward_stacked"),
               (diagnose, "reference_vjp")]
    originals = [getattr(module, name) for module, name in patched]

    def counting(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            if name == "reference_forward_stacked":  # (layer, args, stacked): one per point
                counts["reference_forward"] += len(args[2][0])
            else:
                counts[name] += 1
            return function(*args, **kwargs)
        return counted

    for (module, name), original in zip(patched, originals):
        setattr(module, name, counting(name, original))
    try:
        yield counts
    finally:
        for (module, name), original in zip(patched, originals):
            setattr(module, name, original)
