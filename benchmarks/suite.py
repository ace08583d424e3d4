"""Speed of the suite: wall time of `pytest` and `bpcheck check`, cold and warm, with throughput.

    python -m benchmarks.suite [--json FILE]

Cold means an empty JAX compilation cache (a fresh temporary folder via BPCHECK_JAX_CACHE) and no
hypothesis database; warm is the same command run again on that cache. Every run uses the
derandomized `ci` profile, so cold and warm compile exactly the same shapes. For `bpcheck check`
JAX logs each compile (JAX_LOG_COMPILES), from which the table takes the time spent compiling —
tracing, lowering to MLIR and the XLA compile, or with a warm cache its load — summed over the
worker processes, and the number of programs compiled (one per distinct program and shape per
process). Examples are drawn examples, each run through the whole battery; example-checks count
each (example, check) pair. Prints a table and, with --json, writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTEST = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"]
BPCHECK = [str(BIN / "bpcheck"), "check", "--json", "{json}"]


@dataclass(frozen=True)
class Command:
    label: str
    argv: tuple[str, ...]
    processes: int  # worker processes sharing the work (both cores)


COMMANDS = {
    "properties": Command("pytest tests/test_properties.py", (*PYTEST, "tests/test_properties.py"), 2),
    "pytest": Command("pytest (everything)", tuple(PYTEST), 2),
    "bpcheck": Command("bpcheck check (manual/)", tuple(BPCHECK), 2),
}
_FINISHED = re.compile(r"Finished (?:tracing|jaxpr to MLIR module conversion|XLA compilation)"
                       r" .* in ([0-9.]+) sec")


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed, done


def compile_log(stderr: str) -> dict[str, float]:
    """Seconds compiling and programs compiled, from JAX_LOG_COMPILES lines."""
    return {"compile_seconds": sum(float(m) for m in _FINISHED.findall(stderr)),
            "programs_compiled": stderr.count("Compiling "),
            "cache_hits": stderr.count("Persistent compilation cache hit")}


def _examples(verdict: Path) -> dict[str, int]:
    """Drawn examples (the forward check runs once per example) and (example, check) pairs."""
    functions = json.loads(verdict.read_text())["functions"].values()
    drawn = sum(f["checks"]["forward"]["passed"] + f["checks"]["forward"]["warnings"]
                + f["checks"]["forward"]["skipped"]
                for f in functions if "forward" in f.get("checks", {}))
    return {"examples": drawn, "example_checks": sum(f["examples"] for f in functions)}


def breakdown(env: dict[str, str]) -> dict:
    """``benchmarks.breakdown`` in a fresh process on the given (warm) cache: one process, each
    check timed, compile time from JAX's events."""
    quiet = {k: v for k, v in env.items() if k != "JAX_LOG_COMPILES"}
    _, done = _timed([sys.executable, "-m", "benchmarks.breakdown"], quiet)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(names: tuple[str, ...] = ("properties", "pytest", "bpcheck"),
            extra: tuple[str, ...] = (), with_breakdown: bool = False) -> list[dict]:
    """Each command cold then warm, on its own fresh JAX cache; ``extra`` arguments go to
    ``bpcheck check`` (e.g. ``--only`` for a short run). ``with_breakdown``: after the warm
    ``bpcheck check``, where its time goes in one process (a row of its own)."""
    rows = []
    for name in names:
        command = COMMANDS[name]
        with tempfile.TemporaryDirectory() as scratch:
            cache = Path(scratch) / "jax"
            env = dict(os.environ, BPCHECK_JAX_CACHE=str(cache), HYPOTHESIS_PROFILE="ci",
                       HYPOTHESIS_STORAGE_DIRECTORY=str(Path(scratch) / "h"), JAX_LOG_COMPILES="1")
            verdict = Path(scratch) / "verdict.json"
            argv = [a.replace("{json}", str(verdict)) for a in command.argv]
            if name == "bpcheck":
                argv += list(extra)
            for state in ("cold", "warm"):
                seconds, done = _timed(argv, env)
                row = {"command": command.label + (" " + " ".join(extra) if name == "bpcheck"
                                                   and extra else ""),
                       "cache": state, "seconds": round(seconds, 2),
                       "programs_in_cache": len(list(cache.glob("*-cache")))}
                if verdict.exists():
                    row.update(_examples(verdict))
                    row["examples_per_second"] = round(row["examples"] / seconds, 1)
                    row["example_checks_per_second"] = round(row["example_checks"] / seconds, 1)
                    log = compile_log(done.stderr)
                    row.update(log)
                    row["compile_share"] = round(
                        log["compile_seconds"] / (seconds * command.processes), 3)
                rows.append(row)
            if name == "bpcheck" and with_breakdown:
                rows.append({"command": "in one process: where the time goes", "cache": "warm",
                             "breakdown": breakdown(env)})
    return rows


def table(rows: list[dict]) -> Table:
    table = Table(title=f"Suite throughput ({os.cpu_count()} cores, {platform.machine()}, "
                        f"Python {platform.python_version()}; profile ci)")
    columns = ("command", "cache", "wall s", "examples", "examples/s", "example-checks/s",
               "compiling s (share)", "programs compiled", "programs in cache")
    for column in columns:
        table.add_column(column, justify="left" if column in ("command", "cache") else "right")
    for row in rows:
        if "breakdown" in row:
            continue
        has = "examples" in row
        table.add_row(
            row["command"], row["cache"], f"{row['seconds']:.1f}",
            f"{row['examples']:,}" if has else "—",
            f"{row['examples_per_second']:,.0f}" if has else "—",
            f"{row['example_checks_per_second']:,.0f}" if has else "—",
            f"{row['compile_seconds']:.1f} ({row['compile_share']:.0%})" if has else "—",
            f"{row['programs_compiled']:,}" if has else "—", str(row["programs_in_cache"]))
    return table


def breakdown_table(result: dict) -> Table:
    """Where one process's time goes over the default suite (warm cache)."""
    seconds = result["seconds"]
    table = Table(title=f"Where the time goes: `bpcheck check`'s work in one process, warm cache "
                        f"({result['examples']:,} examples, {seconds:.1f} s, "
                        f"{result['examples_per_second']:.0f} examples/s)")
    table.add_column("part")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    table.add_column("per example", justify="right")
    parts = [(f"check: {name}", value) for name, value in
             sorted(result["check_seconds"].items(), key=lambda item: -item[1])]
    parts += [("  of which JAX compiling (trace, lower, load)", result["compile_seconds"]),
              ("hypothesis, building examples, runner", result["other_seconds"])]
    for name, value in parts:
        table.add_row(name, f"{value:.1f}", f"{value / seconds:.0%}",
                      f"{1e3 * value / result['examples']:.2f} ms")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    args = parser.parse_args()
    rows = measure()
    Console(width=max(Console().width, 160)).print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.platform(), "cores": os.cpu_count(),
                                         "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
