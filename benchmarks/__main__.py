"""Benchmarks: bpcheck side by side with its peers.

Detection power, cost to a verdict, suite throughput and the speed of the hand-written code.

    python -m benchmarks [--quick] [--json FILE] [--sections detection,cost,suite,training]

Sections (each prints a table; --json writes every number):

* detection — every file of mistakes/ × {cs231n-style numerical gradients, torch
  gradcheck, torch gradcheck fast_mode, jax check_grads, bpcheck}: caught or not; and the correct
  manual/ layers through the same checkers (false alarms).
* cost — forward calls and wall time of each checker on a correct layer at growing shapes, and
  the ratio to bpcheck's verdict; full-Jacobian peers only where they fit the time budget.
* suite — `bpcheck check` (and, in the full run, `pytest tests/test_properties.py`) cold and warm:
  examples per second, the share of time compiling, programs compiled.
* training — one training step of a 784-1024-1024-10 MLP, manual/ against jax.jit(value_and_grad)
  and a plain NumPy matmul.

--quick: one peer trial per mistake, the smallest and largest shape per layer with a 5 s budget,
the suite on `--only affine,relu,softmax_loss`, fewer timing rounds (a few minutes in all).
Needs the `bench` extra (torch, CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

SECTIONS = ("detection", "cost", "suite", "training")


def _machine() -> dict[str, Any]:
    import numpy

    info = {"platform": platform.platform(), "machine": platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "load_average_at_start": os.getloadavg()}  # other jobs on a shared machine
    try:
        import jax
        import torch

        info.update(jax=jax.__version__, torch=torch.__version__)
    except ImportError:
        pass
    return info


def run_detection(args, console: Console, log: Callable[[str], None]) -> dict:
    from benchmarks import detection, report

    rows = detection.run(args.trials, progress=log)
    console.print(report.detection_table(rows, args.trials))
    return {"trials": args.trials, "rows": [row.as_json() for row in rows],
            "summary": detection.summary(rows)}


def run_cost(args, console: Console, log: Callable[[str], None]) -> dict:
    from benchmarks import cost, report

    cases, verdicts = cost.run(args.quick, args.budget, progress=log)
    console.print(report.cost_table(cases, verdicts, args.budget))
    console.print(report.ratio_table(cases, verdicts))
    console.print(report.default_verdict_table(verdicts))
    targets = cost.targets(cases, verdicts)
    console.print(report.targets_table(targets))
    from dataclasses import asdict

    return {"budget_seconds": args.budget, "cases": [c.as_json() for c in cases],
            "default_verdicts": {k: asdict(v) for k, v in verdicts.items()}, "targets": targets}


def run_suite(args, console: Console, log: Callable[[str], None]) -> dict:
    from benchmarks import suite

    log("suite: bpcheck check, cold then warm" + ("" if args.quick else ", then pytest"))
    if args.quick:
        rows = suite.measure(("bpcheck",), extra=("--only", "affine,relu,softmax_loss"))
    else:
        rows = suite.measure(("bpcheck", "properties"), with_breakdown=True)
    console.print(suite.table(rows))
    for row in rows:
        if "breakdown" in row:
            console.print(suite.breakdown_table(row["breakdown"]))
    return {"rows": rows, "target_examples_per_second_warm": 300}


def run_training(args, console: Console, log: Callable[[str], None]) -> dict:
    from benchmarks import report, training_step

    log("training: manual step vs jax.jit(value_and_grad) vs matmul")
    timing = training_step.measure(repeats=5 if args.quick else 15)
    console.print(report.training_table(timing))
    return timing.as_json()


#: One entry per section. Grading throughput (submissions per minute of `bpcheck grade`) is
#: measured by `python -m benchmarks.grading`, next to these sections.
RUNNERS = {"detection": run_detection, "cost": run_cost, "suite": run_suite,
           "training": run_training}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few minutes)")
    parser.add_argument("--json", type=Path, default=None, help="also write every number as JSON")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated, among {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds allowed per peer run in the cost section (default 60; 5 "
                             "with --quick)")
    parser.add_argument("--trials", type=int, default=None,
                        help="random shapes per peer and mistake (default 3; 1 with --quick)")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)}; choose among {', '.join(SECTIONS)}")
    args.budget = args.budget if args.budget is not None else (5.0 if args.quick else 60.0)
    args.trials = args.trials if args.trials is not None else (1 if args.quick else 3)

    import bpcheck.jaxsetup  # noqa: F401  (float64 before any JAX array)

    console = Console(width=max(Console().width, 180))  # the tables are wide; logs are files
    started = time.perf_counter()

    def log(message: str) -> None:
        console.print(f"[dim][{time.perf_counter() - started:6.0f} s] {message}[/]", highlight=False)

    results: dict[str, Any] = {"command": " ".join(["python -m benchmarks", *(argv or sys.argv[1:])]),
                               "machine": _machine(), "quick": args.quick}
    for section in sections:
        results[section] = RUNNERS[section](args, console, log)
    results["seconds"] = time.perf_counter() - started
    results["machine"]["load_average_at_end"] = os.getloadavg()
    log(f"done in {results['seconds']:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        console.print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
