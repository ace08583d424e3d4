"""The command line: ``bpcheck check`` verifies manual/ against JAX and finite differences.

Only this module prints. Exit status: 0 when every function checked passes, 1 when any fails,
2 for a usage error.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

DEFAULT_EXAMPLES = 50


def _check_layer(layer_name: str, max_examples: int, profile: str) -> list:
    """Run the whole battery on one layer (in a worker process): a list of CheckRun."""
    import manual
    from bpcheck import profiles
    from bpcheck.implementation import Implementation
    from bpcheck.registry import layer_named
    from bpcheck.runner import run_checks

    profiles.load(profile)
    impl = Implementation.from_module(manual)
    return run_checks(layer_named(layer_name), impl, max_examples=max_examples)


def _format_error(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


def _table(rows, console: Console) -> None:
    table = Table(title="bpcheck: manual/ against jax.vjp and finite differences")
    table.add_column("function", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for column in ("vs JAX", "vs finite diff.", "examples", "checks"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        status = "[green]passed[/]" if row.status == "passed" else "[bold red]FAILED[/]"
        passed_checks = sum(r.failure is None for r in row.runs)
        table.add_row(row.function, status, _format_error(row.worst_vs_jax),
                      _format_error(row.worst_vs_fd), f"{row.examples:,}",
                      f"{passed_checks}/{len(row.runs)}")
    console.print(table)


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from bpcheck import profiles
    from bpcheck.registry import REGISTRY
    from bpcheck.verdict import verdicts, write_json

    if args.file is not None:
        console.print("[red]error:[/] checking your own file is not available yet; "
                      "run `bpcheck check` without a file to verify the built-in manual/.")
        return 2
    if args.examples < 1:
        console.print("[red]error:[/] --examples must be at least 1")
        return 2
    profile = profiles.load(args.profile)
    names = [layer.name for layer in REGISTRY]
    jobs = max(1, min(args.jobs or os.cpu_count() or 1, len(names)))
    started = time.perf_counter()
    runs = []
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True)
    with progress:
        task = progress.add_task("checking layers", total=len(names))
        if jobs == 1:
            for name in names:
                progress.update(task, description=f"checking {name}")
                runs.extend(_check_layer(name, args.examples, profile))
                progress.advance(task)
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=context) as pool:
                futures = {pool.submit(_check_layer, n, args.examples, profile): n for n in names}
                for future in as_completed(futures):
                    runs.extend(future.result())
                    progress.update(task, description=f"checked {futures[future]}")
                    progress.advance(task)
    elapsed = time.perf_counter() - started
    order = {name: i for i, name in enumerate(names)}
    runs.sort(key=lambda r: order[r.layer])
    rows = verdicts(runs)
    _table(rows, console)
    for row in rows:
        if row.failures:
            console.print(f"[bold red]{row.function}[/]")
            console.print(row.message, markup=False, highlight=False)
    failed = sum(row.status == "failed" for row in rows)
    examples = sum(row.examples for row in rows)
    console.print(f"{len(rows) - failed} of {len(rows)} functions passed; {examples:,} examples "
                  f"checked in {elapsed:.1f} s ({jobs} process{'es' * (jobs > 1)}, "
                  f"profile {profile}, {args.examples} examples per layer through every check).")
    if args.json is not None:
        write_json(args.json, rows, {"implementation": "manual", "elapsed_seconds": elapsed,
                                     "examples_per_check": args.examples, "profile": profile})
    return 1 if failed else 0


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
    check.add_argument("--json", type=Path, default=None, help="also write the verdict as JSON")
    check.set_defaults(run=cmd_check)
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
