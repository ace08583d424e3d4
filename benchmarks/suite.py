"""Speed of the suite: wall time of `pytest` and `bpcheck check`, cold and warm.

    python -m benchmarks.suite [--json FILE]

Cold means an empty JAX compilation cache (a fresh temporary folder via BPCHECK_JAX_CACHE) and no
hypothesis database; warm is the same command run again on that cache. The pytest runs use the
derandomized `ci` profile, so cold and warm compile exactly the same shapes. Prints a table and,
with --json, writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed, done


def measure() -> list[dict]:
    rows = []
    bin_dir = Path(sys.executable).parent
    pytest = [str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider"]
    for label, command in (
        ("pytest tests/test_properties.py", [*pytest, "tests/test_properties.py"]),
        ("pytest (everything)", pytest),
        ("bpcheck check (manual/)", [str(bin_dir / "bpcheck"), "check", "--json", "{json}"]),
    ):
        with tempfile.TemporaryDirectory() as scratch:
            env = dict(os.environ, BPCHECK_JAX_CACHE=str(Path(scratch) / "jax"),
                       HYPOTHESIS_PROFILE="ci", HYPOTHESIS_STORAGE_DIRECTORY=str(Path(scratch) / "h"))
            verdict = Path(scratch) / "verdict.json"
            argv = [a.replace("{json}", str(verdict)) for a in command]
            for state in ("cold", "warm"):
                seconds, _ = _timed(argv, env)
                programs = len(list((Path(scratch) / "jax").glob("*-cache")))
                row = {"command": label, "cache": state, "seconds": round(seconds, 2),
                       "programs_compiled": programs}
                if verdict.exists():
                    functions = json.loads(verdict.read_text())["functions"].values()
                    row["examples_checked"] = sum(f["examples"] for f in functions)
                rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    args = parser.parse_args()
    rows = measure()
    table = Table(title=f"bpcheck suite speed ({os.cpu_count()} cores, {platform.machine()}, "
                        f"Python {platform.python_version()})")
    for column in ("command", "cache", "wall s", "JAX programs in cache", "examples checked"):
        table.add_column(column, justify="left" if column in ("command", "cache") else "right")
    for row in rows:
        table.add_row(row["command"], row["cache"], f"{row['seconds']:.1f}",
                      str(row["programs_compiled"]), f"{row.get('examples_checked', '—'):,}"
                      if "examples_checked" in row else "—")
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.platform(), "cores": os.cpu_count(),
                                         "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
