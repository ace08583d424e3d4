"""What is being checked, and checking it: an implementation with the layers it is judged on.

``Target`` is manual/, a user's file, a module, or a few functions given directly; ``run_target``
runs the battery over its layers (in this process, or in worker processes that load the same
file) and returns a ``Verdict``. ``bpcheck check``, the Python API and the pytest plugin all go
through here, so that they agree about a file.
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Callable

from bpcheck import profiles
from bpcheck.profiles import DEFAULT_EXAMPLES
from bpcheck.battery.checks import checks_available
from bpcheck.battery.diagnose import precision_loss
from bpcheck.battery.example import remember
from bpcheck.battery.runner import CheckRun, run_checks
from bpcheck.battery.verdict import Verdict, verdicts
from bpcheck.implementation import Implementation, text_of, user_line
from bpcheck.layer import Layer
from bpcheck.loader import LoadedFile, load
from bpcheck.standins import Missing
from bpcheck.workers import context as workers_context
from bpcheck.registry import REGISTRY


@dataclass(frozen=True)
class Target:
    """An implementation and the layers it is judged on. ``path``: the file it was loaded from
    (worker processes load it again; None for manual/ or functions given in this process);
    ``problems``: functions present but unusable, with why."""

    label: str
    impl: Implementation
    layers: tuple[Layer, ...]
    problems: dict[str, str] = field(default_factory=dict)
    path: str | None = None
    #: Whether worker processes can rebuild this target (manual/, or a file on disk).
    portable: bool = True
    #: Modules the file imports that are not available here, loaded as stand-ins
    #: (``bpcheck.standins``), and the NumPy aliases restored for it (``bpcheck.legacy``).
    stand_ins: tuple[Missing, ...] = ()
    numpy_aliases: tuple[str, ...] = ()


@cache
def _manual() -> Target:
    import manual

    return Target("manual/", Implementation.from_module(manual), REGISTRY)


def target_of(path: str | Path | None, numpy_aliases: bool = False) -> Target:
    """manual/ (None) or a user's file (``loader.load``; raises ``LoadError``), loaded once per
    process; ``numpy_aliases``: restore NumPy's removed aliases first (``--numpy-aliases``)."""
    return _manual() if path is None else _loaded(str(path), numpy_aliases)


@cache
def _loaded(path: str, numpy_aliases: bool = False) -> Target:
    return file_target(load(path, numpy_aliases=numpy_aliases), path)


def file_target(loaded: LoadedFile, label: str) -> Target:
    """The target a loaded file is, with what it was loaded with."""
    return Target(label, loaded.impl, loaded.layers, loaded.problems, str(loaded.path),
                  stand_ins=loaded.stand_ins, numpy_aliases=loaded.numpy_aliases)


def module_target(module: ModuleType, label: str | None = None) -> Target:
    """The protocol functions a module (already imported) defines."""
    impl = Implementation.from_module(module, label)
    from bpcheck.loader import protocol_problems

    return Target(impl.label, impl, REGISTRY, protocol_problems(impl, REGISTRY), portable=False)


def select(layers: tuple[Layer, ...], only: str | list[str] | None) -> tuple[Layer, ...]:
    """The layers named (by layer or function name) in ``only``; ValueError for an unknown
    name."""
    if not only:
        return layers
    wanted = {n.strip() for n in (only.split(",") if isinstance(only, str) else only) if n.strip()}
    known = {layer.name for layer in layers} | {n for layer in layers for n in layer.functions}
    unknown = sorted(wanted - known)
    if unknown:
        raise ValueError(f"unknown layer or function {', '.join(unknown)}")
    return tuple(layer for layer in layers if layer.name in wanted or wanted & set(layer.functions))


def check_layer(target: Target, layer: Layer, max_examples: int, shrink: bool = True,
                tiers: tuple[str, ...] = ("float64",)) -> list[CheckRun]:
    """The battery on one layer, in each tier.

    When the float32 tier is not among ``tiers`` and a float64 failure is diagnosed as a precision
    loss (the right formula computed in float32), the float32 tier runs too, for this layer only:
    its verdict (reported, not counted) tells whether the function is right at single precision.
    It costs the layer's examples once more and no compilation.
    """
    checks = checks_available(layer, target.impl, target.problems)
    if not checks:
        return []
    runs = []
    for tier in tiers:
        runs += run_checks(layer, target.impl, checks, max_examples=max_examples, shrink=shrink,
                           tier=tier)
    if "float32" not in tiers and any(r.failure is not None and precision_loss(r.failure.diagnosis)
                                      for r in runs):
        runs += run_checks(layer, target.impl, checks, max_examples=max_examples, shrink=shrink,
                           tier="float32")
    return runs


def _check_in_worker(path: str | None, layer_name: str, max_examples: int, profile: str,
                     shrink: bool, tiers: tuple[str, ...], numpy_aliases: bool = False
                     ) -> list[CheckRun]:
    profiles.load(profile)
    target = target_of(path, numpy_aliases)
    layer = next(layer for layer in target.layers if layer.name == layer_name)
    return check_layer(target, layer, max_examples, shrink, tiers)


def _warm_up(path: str | None, numpy_aliases: bool = False) -> None:
    """Import JAX and the engine, and load the file, in a worker while the main process does."""
    target_of(path, numpy_aliases)


def worker_pool(jobs: int | None, path: str | None, numpy_aliases: bool = False
                ) -> ProcessPoolExecutor | None:
    """Worker processes (``workers.context``: forked from a server that imported the engine),
    started at once and each loading the target while the main process loads it too. None for
    one job."""
    workers = jobs or os.cpu_count() or 1
    if workers < 2:
        return None
    pool = ProcessPoolExecutor(workers, mp_context=workers_context())
    for _ in range(workers):
        pool.submit(_warm_up, path, numpy_aliases)
    return pool


def run_target(
    target: Target, *, examples: int = DEFAULT_EXAMPLES, only: str | list[str] | None = None,
    tiers: tuple[str, ...] = ("float64",), shrink: bool = True, jobs: int | None = 1,
    pool: Executor | None = None, progress: Callable[[str, int, int], None] | None = None,
    profile: str | None = None,
) -> Verdict:
    """Run the battery over ``target``'s layers (those named in ``only``, else all) and return
    the verdict per function. ``jobs``: worker processes (None: one per core; a target that is not
    portable always runs here); ``pool``: workers already started (``worker_pool``);
    ``progress(layer, done, total)`` is told after each layer; ``profile``: the hypothesis
    profile (default: $HYPOTHESIS_PROFILE, else dev)."""
    if examples < 1:
        raise ValueError("examples must be at least 1")
    layers = select(target.layers, only)
    for layer in layers:  # its reports' reproduce lines rebuild from this very record
        remember(layer)
    impl, problems = target.impl, target.problems
    functions = [(name, layer.name) for layer in layers for name in layer.functions]
    missing = {name for name, _ in functions if name not in impl.functions}
    # The layers that compile the most programs go first, so that no worker is left with a long
    # one at the end: those whose reference cannot be padded to fewer shapes (autodiff), then the
    # row-independent ones, then the elementwise ones (one program each).
    checked = sorted((layer for layer in layers
                      if any(n in impl.functions and n not in problems for n in layer.functions)),
                     key=lambda layer: (layer.elementwise, layer.independent_rows))
    profile = profiles.load(profile)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(checked))) if target.portable else 1
    own_pool = None
    aliases = bool(target.numpy_aliases)
    if workers > 1 and pool is None:
        pool = own_pool = worker_pool(workers, target.path, aliases)
    started = time.perf_counter()
    runs: list[CheckRun] = []
    crashed: dict[str, tuple[str, str]] = {}  # layer -> (sentence, traceback)
    try:
        if workers == 1 or pool is None:
            for done, layer in enumerate(checked, 1):
                try:
                    runs += check_layer(target, layer, examples, shrink, tiers)
                except Exception as exc:  # a bug of bpcheck: the other layers go on
                    crashed[layer.name] = _crash(exc)
                if progress:
                    progress(layer.name, done, len(checked))
        else:
            def submit(executor: Executor, name: str):
                return executor.submit(_check_in_worker, target.path, name, examples, profile,
                                       shrink, tiers, aliases)

            futures = {submit(pool, layer.name): layer.name for layer in checked}
            died = []
            for done, future in enumerate(as_completed(futures), 1):
                try:
                    runs += future.result()
                except BrokenProcessPool:
                    died.append(futures[future])
                except Exception as exc:
                    crashed[futures[future]] = _crash(exc)
                if progress:
                    progress(futures[future], done, len(checked))
            # A worker that dies breaks the whole pool: each unfinished layer runs again in a
            # process of its own, so that only the layer whose code ends its process is named.
            for name in died:
                alone = ProcessPoolExecutor(1, mp_context=workers_context())
                try:
                    runs += submit(alone, name).result()
                except BrokenProcessPool:
                    crashed[name] = ("the process checking this layer died: its code ended it "
                                     "(os._exit?), crashed it or ran it out of memory", "")
                except Exception as exc:
                    crashed[name] = _crash(exc)
                finally:
                    alone.shutdown(cancel_futures=True)
    finally:
        if own_pool is not None:
            own_pool.shutdown(cancel_futures=True)
    problems = dict(problems)
    for layer in layers:
        for name in layer.functions if layer.name in crashed else ():
            if name in impl.functions:
                problems.setdefault(name, crashed[layer.name][0])
    rows = verdicts(runs, functions, missing, problems, counted=tiers)
    return Verdict(target.label, rows, time.perf_counter() - started, tiers=tiers,
                   profile=profile, examples_per_layer=examples, processes=workers,
                   stand_ins=target.stand_ins,
                   numpy_aliases=target.numpy_aliases,
                   internal_errors={name: trace for name, (_, trace) in crashed.items() if trace})


def _crash(exc: Exception) -> tuple[str, str]:
    """A layer's run that raised: one sentence for its functions' rows, the traceback for the
    JSON. A protocol function's error is caught where it is called, so this is either the code of
    a layer the file adds (its twin or sampler: the user's line is named) or a bug of bpcheck."""
    where = user_line(exc)
    kind = f"{type(exc).__name__}: {text_of(exc)}"
    if where:
        return (f"checking this layer raised {kind}{where}: in the layer's own twin or sampler?",
                "")
    return (f"bpcheck could not finish checking this layer ({kind}): a bug in bpcheck; please "
            f"report it with your file", "".join(traceback.format_exception(exc)))
