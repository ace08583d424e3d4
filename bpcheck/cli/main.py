"""The command line: ``bpcheck check [FILE]`` verifies layer implementations against JAX.

Without FILE it checks the built-in manual/; with FILE, a user's layers.py. ``--tier`` chooses the
precision tier (float64, the default; float32; or both). Only this module prints. Exit status: 0
when every function present passes in the tiers asked for, 1 when any fails (or the file cannot
be loaded), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import cache
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

DEFAULT_EXAMPLES = 100
#: ``--tier`` choices and the tiers each runs (and counts).
TIER_CHOICES = {"float64": ("float64",), "float32": ("float32",), "both": ("float64", "float32")}
STATUS_STYLE = {"passed": "[green]passed[/]", "failed": "[bold red]FAILED[/]",
                "error": "[bold red]ERROR[/]", "warning": "[yellow]warning[/]",
                "missing": "[dim]missing[/]"}


@cache
def _target(path: str | None):
    """(implementation, layers, problems) for manual/ or a user's file, loaded once per process."""
    if path is None:
        import manual
        from bpcheck.implementation import Implementation
        from bpcheck.registry import REGISTRY

        return Implementation.from_module(manual), REGISTRY, {}
    from bpcheck import loader

    loaded = loader.load(path)
    return loaded.impl, loaded.layers, loaded.problems


def _check_layer(layer_name: str, path: str | None, max_examples: int, profile: str,
                 shrink: bool = True, tiers: tuple[str, ...] = ("float64",)) -> list:
    """Run the battery on one layer (in a worker process), in each tier: a list of CheckRun.

    When the float32 tier is not among ``tiers`` and a float64 failure is diagnosed as a precision
    loss (the right formula computed in float32), the float32 tier runs too, for this layer only:
    its verdict (reported, not counted) tells whether the function is right at single precision.
    It costs the layer's examples once more and no compilation (the same JAX programs serve both
    tiers, and this worker has just compiled them).
    """
    from bpcheck import profiles
    from bpcheck.battery.diagnose import precision_loss
    from bpcheck.battery.checks import checks_available
    from bpcheck.battery.runner import run_checks

    profiles.load(profile)
    impl, layers, problems = _target(path)
    layer = next(layer for layer in layers if layer.name == layer_name)
    checks = checks_available(layer, impl, problems)
    if not checks:
        return []
    runs = []
    for tier in tiers:
        runs += run_checks(layer, impl, checks, max_examples=max_examples, shrink=shrink,
                           tier=tier)
    if "float32" not in tiers and any(r.failure is not None and precision_loss(r.failure.diagnosis)
                                      for r in runs):
        runs += run_checks(layer, impl, checks, max_examples=max_examples, shrink=shrink,
                           tier="float32")
    return runs


def _format_error(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


#: A tier's verdict in a table cell beside its worst error (one column per tier fits 80 columns).
TIER_MARK = {"passed": "[green]✓[/]", "failed": "[bold red]✗[/]", "error": "[bold red]✗ error[/]",
             "warning": "[yellow]![/]"}


def _table(rows, title: str, console: Console) -> None:
    """One row per function; with more than one tier in play (``--tier both``, or the float32
    tier run after a precision loss), one column per tier instead of the status: its verdict and
    its worst error vs JAX."""
    from bpcheck.tiers import TIERS

    tiers = [t for t in TIERS if any(t in row.tiers for row in rows)]
    several = len(tiers) > 1
    table = Table(title=title, caption=(
        "per tier: ✓ passed, ✗ failed, ! warning, then its worst error against JAX"
        if several else None))
    table.add_column("function", no_wrap=True)
    if not several:
        table.add_column("status", no_wrap=True)
    for column in (*(tiers if several else ["vs JAX"]), "vs FD", "examples", "checks"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        if row.status == "missing":
            continue
        counted = row.counted_runs
        passed_checks = sum(r.failure is None for r in counted)
        checks = f"{passed_checks}/{len(counted)}" if counted else "—"
        examples = f"{row.examples:,}" if counted else "—"
        if several:
            verdicts = [f"{TIER_MARK.get(row.tiers.get(t), '—')} "
                        f"{_format_error(row.worst_vs_jax_in(t))}" for t in tiers]
        else:
            verdicts = [STATUS_STYLE[row.status], _format_error(row.worst_vs_jax)]
        table.add_row(row.function, *verdicts, _format_error(row.worst_vs_fd), examples, checks)
    console.print(table)
    missing = [row.function for row in rows if row.status == "missing"]
    if missing:
        console.print(f"[dim]not defined (not checked): {', '.join(missing)}[/]")


def _warm_up(path: str | None) -> None:
    """Import JAX and the engine, and load the file, in a worker while the main process does."""
    _target(path)


def _early_pool(jobs: int | None, path: str | None) -> ProcessPoolExecutor | None:
    """Worker processes started before the main one loads anything: their imports of JAX and of
    the file (~1.5 s each) overlap the main process's own instead of following it."""
    workers = jobs or os.cpu_count() or 1
    if workers < 2:
        return None
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    for _ in range(workers):
        pool.submit(_warm_up, path)
    return pool


def _run_layers(names, path, examples, profile, shrink, pool, console, tiers) -> list:
    runs = []
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True)
    with progress:
        task = progress.add_task("checking", total=len(names))
        if pool is None:
            for name in names:
                progress.update(task, description=f"checking {name}")
                runs.extend(_check_layer(name, path, examples, profile, shrink, tiers))
                progress.advance(task)
        else:
            futures = {pool.submit(_check_layer, n, path, examples, profile, shrink, tiers): n
                       for n in names}
            for future in as_completed(futures):
                runs.extend(future.result())
                progress.update(task, description=f"checked {futures[future]}")
                progress.advance(task)
    return runs


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from bpcheck import profiles

    if args.examples < 1:
        console.print("[red]error:[/] --examples must be at least 1")
        return 2
    profile = profiles.load(args.profile)
    path = None if args.file is None else str(args.file)
    usable = path is None or (args.file.is_file() and args.file.suffix == ".py")
    pool = None if args.only or args.jobs == 1 or not usable else _early_pool(args.jobs, path)
    try:
        return _check(args, console, profile, path, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _check(args, console, profile, path, pool) -> int:
    from bpcheck.loader import LoadError
    from bpcheck.battery.verdict import verdicts, write_json

    label = "manual/" if path is None else str(args.file)
    try:
        impl, layers, problems = _target(path)
    except LoadError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        if args.json is not None and not exc.usage:
            write_json(args.json, [], {"implementation": label, "error": str(exc)})
        return 2 if exc.usage else 1
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        known = {layer.name for layer in layers} | {n for layer in layers for n in layer.functions}
        unknown = sorted(wanted - known)
        if unknown:
            console.print(f"[red]error:[/] --only: unknown layer or function {', '.join(unknown)}")
            return 2
        layers = tuple(layer for layer in layers
                       if layer.name in wanted or wanted & set(layer.functions))
    functions = [(name, layer.name) for layer in layers for name in layer.functions]
    missing = {name for name, _ in functions if name not in impl.functions}
    if len(missing) == len(functions):
        console.print(f"[bold red]error:[/] {escape(label)} defines none of the protocol functions "
                      f"({', '.join(n for n, _ in functions[:4])}, …)")
        return 1
    # The layers that compile the most programs go first, so that no worker is left with a long
    # one at the end: those whose reference cannot be padded to fewer shapes (autodiff), then the
    # row-independent ones, then the elementwise ones (one program each).
    checked = [layer for layer in layers
               if any(n in impl.functions and n not in problems for n in layer.functions)]
    names = [layer.name for layer in sorted(checked, key=lambda layer: (
        layer.elementwise, layer.independent_rows))]
    jobs = max(1, min(args.jobs or os.cpu_count() or 1, len(names)))
    own_pool = None
    if pool is None and jobs > 1:
        pool = own_pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
    tiers = TIER_CHOICES[args.tier]
    started = time.perf_counter()
    try:
        runs = _run_layers(names, path, args.examples, profile, not args.no_shrink,
                           pool if jobs > 1 else None, console, tiers)
    finally:
        if own_pool is not None:  # an early pool is shut down by the caller that made it
            own_pool.shutdown(cancel_futures=True)
    elapsed = time.perf_counter() - started
    rows = verdicts(runs, functions, missing, problems, counted=tiers)
    title = f"bpcheck: {label} against jax.vjp and finite differences"
    if tiers != ("float64",):
        title += f" ({' and '.join(tiers)} tier{'s' * (len(tiers) > 1)})"
    _table(rows, title, console)
    for row in rows:
        if row.status in ("failed", "error", "warning"):
            console.print(f"\n[bold]{row.function}[/] {STATUS_STYLE[row.status]}")
            console.print(row.message, markup=False, highlight=False, soft_wrap=True)
    counts = {s: sum(r.status == s for r in rows) for s in STATUS_STYLE}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    examples = sum(row.examples for row in rows)
    console.print(f"{summary}; {examples:,} examples checked in {elapsed:.1f} s ({jobs} "
                  f"process{'es' * (jobs > 1)}, profile {profile}, {args.examples} examples per "
                  f"layer through every check, {' and '.join(tiers)} "
                  f"tier{'s' * (len(tiers) > 1)}).")
    if args.json is not None:
        write_json(args.json, rows, {"implementation": label, "elapsed_seconds": elapsed,
                                     "examples_per_layer": args.examples, "profile": profile,
                                     "tiers": list(tiers)})
    return 1 if counts["failed"] or counts["error"] else 0


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    import json

    from bpcheck.cli import demo

    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            console.print("[red]error:[/] --plot needs matplotlib: pip install -e \".[plot]\"")
            return 2
    started = time.perf_counter()
    progress = Progress(TextColumn("training {task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)
    with progress:
        tasks = {name: progress.add_task(name.replace("_", "-"), total=total) for name, total in
                 (("linear", demo.LINEAR_ITERATIONS), ("two_layer", demo.TWO_LAYER_ITERATIONS))}
        result = demo.run(args.seed, lambda name, done, _: progress.update(tasks[name], completed=done))
    elapsed = time.perf_counter() - started
    table = Table(title=f"spiral demo: {demo.CLASSES} classes × {demo.POINTS_PER_CLASS} points, "
                        f"seed {args.seed}")
    for column in ("model", "iterations", "loss", "accuracy (case study)", "grads vs JAX"):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for name, iterations, reported in (("linear", demo.LINEAR_ITERATIONS, "49%"),
                                       ("two_layer", demo.TWO_LAYER_ITERATIONS, "98%")):
        trained = result[name]
        verdict = (_format_error(trained.worst_error_vs_jax) if not trained.mismatches
                   else "[bold red]MISMATCH[/]")
        table.add_row(name.replace("_", "-"), f"{iterations:,}", f"{trained.losses[-1]:.4f}",
                      f"{trained.accuracy:.1%} ({reported})", verdict)
    console.print(table)
    mismatches = result["linear"].mismatches + result["two_layer"].mismatches
    for line in mismatches:
        console.print(f"[red]{escape(line)}[/]")
    console.print(f"trained in {elapsed:.1f} s with manual/ gradients, compared with jax.grad at "
                  f"{demo.CHECKPOINTS} checkpoints per model.")
    if args.json is not None:
        args.json.write_text(json.dumps(demo.summary(result), indent=2) + "\n")
    if args.plot is not None:
        demo.plot(result, args.plot)
        console.print(f"plot written to {args.plot}")
    return 1 if mismatches else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpcheck", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="verify layer implementations against JAX")
    check.add_argument("file", nargs="?", type=Path, help="a layers.py to check (default: manual/)")
    check.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                       help=f"examples per layer, each run through every check "
                            f"(default {DEFAULT_EXAMPLES})")
    check.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    check.add_argument("--profile", choices=("dev", "ci", "thorough"), default=None,
                       help="hypothesis profile (default: $HYPOTHESIS_PROFILE or dev)")
    check.add_argument("--only", metavar="NAMES", default=None,
                       help="comma-separated layers or functions to check (e.g. affine,softmax_loss)")
    check.add_argument("--no-shrink", action="store_true",
                       help="report the first failing example found instead of the smallest "
                            "(faster when something fails)")
    check.add_argument("--tier", choices=tuple(TIER_CHOICES), default="float64",
                       help="precision tier: float64 inputs and tolerances (default), float32 "
                            "inputs and float32 tolerances (for layers that compute in single "
                            "precision), or both")
    check.add_argument("--json", type=Path, default=None, help="also write the verdict as JSON")
    check.set_defaults(run=cmd_check)
    demo = commands.add_parser("demo", help="train a network with manual/ gradients")
    demo.add_argument("name", choices=("spiral",), help="which demo (the cs231n spiral case study)")
    demo.add_argument("--seed", type=int, default=0, help="data and initialisation seed")
    demo.add_argument("--json", type=Path, default=None, help="write accuracies and losses as JSON")
    demo.add_argument("--plot", type=Path, default=None,
                      help="draw decision regions and loss curves to a PNG (needs matplotlib)")
    demo.set_defaults(run=cmd_demo)
    from bpcheck.cli.grade import add_commands

    add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console()
    try:
        return args.run(args, console)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
