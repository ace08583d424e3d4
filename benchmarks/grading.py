"""Grading throughput: submissions per minute, and the time to grade a mixed class.

    python -m benchmarks.grading [--jobs 1,2] [--copies 6] [--class-size 50] [--shards N]
                                 [--json FILE]

Builds, in a temporary folder, full correct submissions (manual/ copied as a package the
submission imports: every protocol function, the default rubric) and a mixed class (correct ones,
the single-mistake files of mistakes/, and the hostile submissions of the grading tests,
with their endless loops and memory bombs), then times ``bpcheck grade`` on them as a subprocess.
The JAX compilation cache is a fresh folder, warmed by one untimed run, so that the numbers are
the steady state of a grading machine. Each worker process still traces and lowers every program
it meets once (~60 ms each, the persistent cache only skips XLA's compile), so a worker's first
submission costs more than the others: "median own time" is a submission's own time as its
results.json records it.

With ``--shards N`` the mixed class is graded a second time as N ``bpcheck grade --shard i/N``
processes at once (the largest --jobs split between them), then merged with ``bpcheck grade
merge``: the time is from the first shard's start to the merge's end. Every number is printed with
the load average at its end (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from class_fixtures import HOSTILE, submission  # noqa: E402
from mistakes import catalogue  # noqa: E402


def _grade(submissions: Path, out: Path, jobs: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bpcheck.cli", "grade", str(submissions), "--out",
                    str(out), "--jobs", str(jobs), "--force"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _grade_sharded(submissions: Path, out: Path, shards: int, jobs: int,
                   env: dict[str, str]) -> float:
    """N shard processes at once into one OUT, then the merge; wall seconds for all of it."""
    started = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-m", "bpcheck.cli", "grade", str(submissions),
                                 "--out", str(out), "--jobs", str(jobs), "--force", "--shard",
                                 f"{i}/{shards}"], env=env, stdout=subprocess.DEVNULL)
               for i in range(shards)]
    for shard in running:
        if shard.wait() != 0:
            raise SystemExit(f"a shard failed (exit status {shard.returncode})")
    subprocess.run([sys.executable, "-m", "bpcheck.cli", "grade", "merge", str(out)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _load() -> str:
    """The load average (1, 5, 15 minutes), to print next to a time."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _execution_times(out: Path) -> list[float]:
    """Each graded submission's own time (its results.json), in the order they finished."""
    documents = [json.loads(p.read_text()) for p in out.glob("*/results.json")]
    return sorted(float(d.get("execution_time", 0.0)) for d in documents)


def _correct_class(folder: Path, copies: int) -> Path:
    folder.mkdir()
    for i in range(copies):
        submission(folder, f"correct_{i:02d}", "")
    return folder


def _mixed_class(folder: Path, size: int) -> tuple[Path, dict[str, int]]:
    folder.mkdir()
    hostile = sorted(HOSTILE)[: size // 3]
    mistakes = sorted(m.path for m in catalogue())[: size // 3]
    for name in hostile:
        submission(folder, f"hostile_{name}", HOSTILE[name][0])
    for path in mistakes:
        shutil.copy(path, folder / f"mistake_{path.name}")
    correct = size - len(hostile) - len(mistakes)
    for i in range(correct):
        submission(folder, f"correct_{i:02d}", "")
    return folder, {"correct": correct, "single-mistake files": len(mistakes),
                    "hostile": len(hostile)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time")
    parser.add_argument("--copies", type=int, default=6, help="correct submissions per timing")
    parser.add_argument("--class-size", type=int, default=50)
    parser.add_argument("--shards", type=int, default=0,
                        help="also grade the mixed class as this many shards, then merge")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be at least 1 (one is also graded, untimed, to warm the JAX "
                     "compilation cache)")
    console = Console()
    results: dict = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform()}, "throughput": {}}
    with tempfile.TemporaryDirectory(prefix="bpcheck-bench-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "BPCHECK_JAX_CACHE": str(tmp / "jax_cache")}
        correct = _correct_class(tmp / "correct", args.copies)
        console.print("warming the JAX compilation cache (untimed)…")
        _grade(correct, tmp / "warm", 1, env)
        table = Table(title=f"grading {args.copies} correct full submissions (every protocol "
                            f"function, default rubric)")
        for column in ("jobs", "wall s", "s per submission", "submissions per minute",
                       "median own time s", "load average after"):
            table.add_column(column, justify="right")
        for jobs in [int(j) for j in args.jobs.split(",")]:
            wall = _grade(correct, tmp / f"out_{jobs}", jobs, env)
            rate = args.copies / wall * 60
            own = _execution_times(tmp / f"out_{jobs}")
            median = own[len(own) // 2] if own else 0.0
            results["throughput"][jobs] = {"wall_seconds": wall, "per_minute": rate,
                                           "execution_times": own, "load": os.getloadavg()}
            table.add_row(str(jobs), f"{wall:.1f}", f"{wall / args.copies:.1f}", f"{rate:.1f}",
                          f"{median:.1f}", _load().removeprefix("load average "))
        console.print(table)
        if args.class_size <= 0:
            args.json and args.json.write_text(json.dumps(results, indent=2) + "\n")
            return 0
        mixed, makeup = _mixed_class(tmp / "mixed", args.class_size)
        jobs = max(int(j) for j in args.jobs.split(","))
        wall = _grade(mixed, tmp / "out_mixed", jobs, env)
        results["mixed_class"] = {"size": args.class_size, "makeup": makeup, "jobs": jobs,
                                  "wall_seconds": wall, "load": os.getloadavg()}
        console.print(f"a mixed class of {args.class_size} ({', '.join(f'{n} {k}' for k, n in makeup.items())}) "
                      f"with --jobs {jobs}: {wall:.1f} s ({args.class_size / wall * 60:.1f} per minute; "
                      f"{_load()})")
        if args.shards > 0:
            each = max(1, jobs // args.shards)
            wall = _grade_sharded(mixed, tmp / "out_sharded", args.shards, each, env)
            results["sharded"] = {"shards": args.shards, "jobs_each": each,
                                  "wall_seconds": wall, "load": os.getloadavg()}
            console.print(f"the same class as {args.shards} shards of --jobs {each} at once, "
                          f"then merged: {wall:.1f} s ({args.class_size / wall * 60:.1f} per "
                          f"minute; {_load()})")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
