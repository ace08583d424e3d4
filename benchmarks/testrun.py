"""Where the default test run's time goes: CPU per test file, and the machine's busy and idle time.

    python -m benchmarks.testrun [--cold] [--top 25] [--json FILE] [-- PYTEST ARGUMENTS]

Runs README's test command (``pytest``: xdist over every core) with the derandomized ``ci``
profile, from this checkout, with this module loaded as a pytest plugin in every worker. The
plugin records each test's wall time (set-up and tear-down included: a module's fixture counts
in its first test), the CPU time of its worker process and of the child processes the test
waited for. The machine's busy and idle core-seconds over the whole run come from /proc/stat
(Linux only), so that what no test waited for (the xdist controller, forked grading workers,
sandboxed children of children) shows as the difference. ``--cold``: an empty program store (a
fresh ``BPCHECK_JAX_CACHE``), as in a fresh clone.

The floor of a run's wall time is its busy core-seconds over the cores: the table says what the
CPU is spent on, file by file, and how much of the run is processes the tests start on purpose.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Where each pytest process of the run writes its rows (set by ``main`` for the run it starts).
OUT_VARIABLE = "BPCHECK_TESTRUN_OUT"


# ------------------------------------------------------------------ the plugin, in each worker

_rows: list[tuple[str, float, float, float]] = []  # (test id, wall, own CPU, children's CPU)
_failed: list[str] = []


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    own, children = _cpu()
    started = time.perf_counter()
    yield
    own_after, children_after = _cpu()
    _rows.append((item.nodeid, time.perf_counter() - started, own_after - own,
                  children_after - children))


def pytest_runtest_logreport(report):
    if report.failed:
        _failed.append(report.nodeid)


def pytest_sessionfinish(session):
    folder = os.environ.get(OUT_VARIABLE)
    if not folder:
        return
    own, children = _cpu()
    name = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    if name == "controller" and session.config.pluginmanager.hasplugin("dsession"):
        children = 0.0  # its children are the workers, each counting itself
    Path(folder, f"{name}.json").write_text(json.dumps(
        {"rows": _rows, "failed": _failed, "process_cpu": own, "children_cpu": children}))


# ------------------------------------------------------------------ the run and its summary

def machine_time() -> tuple[float, float]:
    """Busy and idle core-seconds of the whole machine since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq + steal) / tick, (idle + iowait) / tick


def summarise(documents: dict[str, dict], wall: float, busy: float, idle: float) -> dict:
    """Per file: tests, wall, CPU in the worker and in waited-for children; and the totals."""
    files: dict[str, dict] = defaultdict(lambda: {"tests": 0, "wall": 0.0, "own": 0.0,
                                                  "children": 0.0})
    for document in documents.values():
        for test_id, seconds, own, children in document["rows"]:
            entry = files[test_id.split("::", 1)[0]]
            entry["tests"] += 1
            entry["wall"] += seconds
            entry["own"] += own
            entry["children"] += children
    in_tests = sum(f["own"] + f["children"] for f in files.values())
    failed = sorted(n for d in documents.values() for n in d.get("failed", ()))
    processes = sum(d["process_cpu"] + d["children_cpu"] for d in documents.values())
    return {"wall": wall, "busy": busy, "idle": idle, "cores": os.cpu_count() or 1,
            "in_tests": in_tests, "failed": failed,
            "outside_tests": processes - in_tests,  # start-up, collection, the controller
            "unattributed": busy - processes,  # processes no pytest process waited for
            "files": dict(sorted(files.items(), key=lambda kv: -(kv[1]["own"]
                                                                  + kv[1]["children"])))}


def run(cold: bool, arguments: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, HYPOTHESIS_PROFILE="ci", **{OUT_VARIABLE: scratch})
        if cold:
            env["BPCHECK_JAX_CACHE"] = str(Path(scratch) / "cache")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "-p", "benchmarks.testrun", *arguments]
        busy, idle = machine_time()
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        busy_after, idle_after = machine_time()
        if done.returncode not in (0, 1):  # 1: some test failed, still a measurement
            sys.exit(f"pytest ended with {done.returncode}:\n{done.stdout[-3000:]}"
                     f"\n{done.stderr[-3000:]}")
        documents = {p.stem: json.loads(p.read_text()) for p in Path(scratch).glob("*.json")}
    summary = summarise(documents, wall, busy_after - busy, idle_after - idle)
    summary["outcome"] = (done.stdout.strip().splitlines() or [""])[-1]
    return summary


def print_summary(summary: dict, top: int) -> None:
    from rich.console import Console
    from rich.table import Table

    busy, cores = summary["busy"], summary["cores"]
    table = Table(title=f"pytest, profile ci ({cores} cores, {platform.machine()}, Python "
                        f"{platform.python_version()}): {summary['wall']:.1f} s wall, "
                        f"{busy:.1f} core-s busy (a floor of {busy / cores:.1f} s), "
                        f"{summary['idle']:.1f} core-s idle; {summary['outcome']}")
    for column in ("file", "tests", "wall s", "CPU s", "in the worker", "in child processes",
                   "share of busy"):
        table.add_column(column, justify="left" if column == "file" else "right")
    files = list(summary["files"].items())
    for name, entry in files[:top]:
        cpu = entry["own"] + entry["children"]
        table.add_row(name, str(entry["tests"]), f"{entry['wall']:.1f}", f"{cpu:.1f}",
                      f"{entry['own']:.1f}", f"{entry['children']:.1f}", f"{cpu / busy:.0%}")
    rest = files[top:]
    if rest:
        cpu = sum(e["own"] + e["children"] for _, e in rest)
        table.add_row(f"{len(rest)} other files", str(sum(e["tests"] for _, e in rest)),
                      f"{sum(e['wall'] for _, e in rest):.1f}", f"{cpu:.1f}", "", "",
                      f"{cpu / busy:.0%}")
    for label, key in (("pytest processes outside tests (start-up, collection)",
                        "outside_tests"),
                       ("processes no test waited for (forked workers, sandboxes' children)",
                        "unattributed")):
        table.add_row(label, "", "", f"{summary[key]:.1f}", "", "", f"{summary[key] / busy:.0%}")
    console = Console(width=max(Console().width, 150))
    console.print(table)
    for name in summary["failed"]:  # its time is in the table all the same
        console.print(f"failed: {name}", highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="an empty program store")
    parser.add_argument("--top", type=int, default=25, help="files listed one by one")
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    parser.add_argument("pytest_arguments", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args()
    if not Path("/proc/stat").exists():
        sys.exit("benchmarks.testrun reads the machine's CPU time from /proc/stat: Linux only")
    summary = run(args.cold, args.pytest_arguments)
    print_summary(summary, args.top)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
