"""Fixed costs: what a fresh process pays before and around its first verdict.

    python -m benchmarks.startup [--rounds 3] [--root CHECKOUT] [--json FILE]

Each command runs as a new process, first on an empty program store (``BPCHECK_JAX_CACHE`` a
fresh folder: cold, every reference program traced, lowered and compiled) and then again on it
(warm: loaded from ``bpcheck.programs``), best of ``--rounds``:

* ``import``: ``import bpcheck`` and the battery (JAX included);
* ``one layer``: ``bpcheck check --only relu --jobs 1`` (import, one layer's programs, 100
  examples through the battery);
* ``a worker``: ``bpcheck check --only affine,relu --jobs 2``, whose two worker processes (forked
  from a server that has imported bpcheck: ``bpcheck.workers``) load their layer's programs;
* ``grade one``: ``bpcheck grade`` of one correct full submission (manual/ as a package, every
  protocol function), ``--jobs 1``: the grader's programs and a sandboxed child.

Prints a table of seconds, with the load average at the end of each command (the machine may be
shared). ``--root``: run another checkout's code (an older commit, for a before-and-after), from
its folder, with this environment's Python.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from class_fixtures import submission  # noqa: E402

PYTHON = sys.executable


def _commands(tmp: Path) -> dict[str, list[str]]:
    graded = tmp / "class"
    graded.mkdir()
    submission(graded, "correct", "")
    return {
        "import": [PYTHON, "-c", "import bpcheck, bpcheck.battery.target"],
        "one layer": [PYTHON, "-m", "bpcheck.cli", "check", "--only", "relu", "--jobs", "1"],
        "a worker": [PYTHON, "-m", "bpcheck.cli", "check", "--only", "affine,relu", "--jobs", "2"],
        "grade one": [PYTHON, "-m", "bpcheck.cli", "grade", str(graded), "--out", str(tmp / "out"),
                      "--jobs", "1", "--force", "--allow-weak-isolation"],
    }


def _seconds(argv: list[str], cache: Path, root: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True,
                          env={**os.environ, "BPCHECK_JAX_CACHE": str(cache),
                               "PYTHONPATH": str(root)})
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: a verdict with failures is still a verdict
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bpcheck-startup-") as tmp:
        tmp = Path(tmp)
        for name, command in _commands(tmp).items():
            cold, warm = [], []
            for round_ in range(args.rounds):
                cache = tmp / f"store-{name.replace(' ', '_')}-{round_}"
                cold.append(_seconds(command, cache, args.root.resolve()))
                warm.append(_seconds(command, cache, args.root.resolve()))
            results[name] = {"cold": min(cold), "warm": min(warm),
                             "load_average": os.getloadavg()[0]}
    table = Table(title=f"fixed costs of {args.root.resolve()}, best of {args.rounds} (seconds)")
    for column in ("command", "cold store", "warm store", "load average"):
        table.add_column(column, justify="right")
    for name, row in results.items():
        table.add_row(name, f"{row['cold']:.2f}", f"{row['warm']:.2f}", f"{row['load_average']:.1f}")
    Console().print(table)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
