"""The command line: ``bpcheck check [FILE]`` verifies layer implementations against JAX.

Without FILE it checks the built-in manual/; with FILE, a user's layers.py. ``--tier`` chooses the
precision tier (float64, the default; float32; or both). Only this module prints. Exit status: 0
when every function present passes in the tiers asked for, 1 when any fails (or the file cannot
be loaded), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bpcheck.profiles import DEFAULT_EXAMPLES  # noqa: E402  (hypothesis only; no JAX)
#: ``--tier`` choices and the tiers each runs (and counts).
TIER_CHOICES = {"float64": ("float64",), "float32": ("float32",), "both": ("float64", "float32")}
# Keyed by bpcheck.outcomes.Status values (a Status is its own value as a str).
STATUS_STYLE = {"passed": "[green]passed[/]", "failed": "[bold red]FAILED[/]",
                "error": "[bold red]ERROR[/]", "warning": "[yellow]warning[/]",
                "missing": "[dim]missing[/]"}


def _format_error(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


def _table(rows, title: str, console: Console) -> None:
    """The verdict's table (``battery.render.table``: the same cells a notebook shows)."""
    from bpcheck.battery.render import rich_table

    console.print(rich_table(rows, title))


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from bpcheck import profiles
    from bpcheck.battery.target import worker_pool

    if args.examples < 1:
        console.print("[red]error:[/] --examples must be at least 1")
        return 2
    profile = profiles.load(args.profile)
    path = None if args.file is None else str(args.file)
    usable = path is None or (args.file.is_file() and args.file.suffix == ".py")
    pool = None if args.only or args.jobs == 1 or not usable else worker_pool(
        args.jobs, path, args.numpy_aliases)
    try:
        return _check(args, console, profile, path, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _check(args, console, profile, path, pool) -> int:
    from bpcheck.battery.target import run_target, select, target_of
    from bpcheck.battery.verdict import write_json
    from bpcheck.loader import LoadError

    label = "manual/" if path is None else str(args.file)
    try:
        target = target_of(path, args.numpy_aliases)
    except LoadError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        if args.json is not None and not exc.usage:
            write_json(args.json, [], {"implementation": label, "error": str(exc)})
        return 2 if exc.usage else 1
    try:
        layers = select(target.layers, args.only)
    except ValueError as exc:
        console.print(f"[red]error:[/] --only: {exc}")
        return 2
    functions = [name for layer in layers for name in layer.functions]
    if not any(name in target.impl.functions for name in functions):
        console.print(f"[bold red]error:[/] {escape(label)} defines none of the protocol functions "
                      f"({', '.join(functions[:4])}, …)")
        return 1
    tiers = TIER_CHOICES[args.tier]
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, transient=True)
    with bar:
        task = bar.add_task("checking", total=None)

        def progress(layer: str, done: int, total: int) -> None:
            bar.update(task, description=f"checked {layer}", completed=done, total=total)

        verdict = run_target(target, examples=args.examples, only=args.only, tiers=tiers,
                             shrink=not args.no_shrink, jobs=args.jobs, pool=pool,
                             progress=progress, profile=profile)
    verdict.label = label
    rows = verdict.rows
    title = f"bpcheck: {label} against jax.vjp and finite differences"
    if tiers != ("float64",):
        title += f" ({' and '.join(tiers)} tier{'s' * (len(tiers) > 1)})"
    _table(rows, title, console)
    for note in verdict.notes():
        console.print(f"[dim]{escape(note)}[/]")
    for row in rows:
        if row.status in ("failed", "error", "warning"):
            console.print(f"\n[bold]{row.function}[/] {STATUS_STYLE[row.status]}")
            console.print(row.message, markup=False, highlight=False, soft_wrap=True)
    jobs = verdict.processes
    console.print(f"{verdict.summary()} ({jobs} process{'es' * (jobs > 1)}, profile {profile}, "
                  f"{args.examples} examples per layer through every check, "
                  f"{' and '.join(tiers)} tier{'s' * (len(tiers) > 1)}).")
    if args.json is not None:
        verdict.write_json(args.json)
    return 0 if verdict.passed else 1


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


class _Parser(argparse.ArgumentParser):
    """bpcheck's parser: ``bpcheck grade merge …`` is the grade-merge command (``grade``'s own
    argument is a folder; one named merge is ``bpcheck grade ./merge``)."""

    def parse_known_args(self, args=None, namespace=None):
        from bpcheck.cli.grade import MERGE_COMMAND

        args = list(sys.argv[1:] if args is None else args)
        if args[:2] == ["grade", "merge"]:
            args[:2] = [MERGE_COMMAND]
        return super().parse_known_args(args, namespace)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bpcheck", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True,
                                     parser_class=argparse.ArgumentParser)
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
    check.add_argument("--numpy-aliases", action="store_true",
                       help="give NumPy back the aliases 1.24 removed (np.int, np.float, np.bool, "
                            "…), each the builtin it was, for a course whose files still use "
                            "them (reported with the verdict)")
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
