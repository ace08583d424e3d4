"""``python -m mutation run``: the mutation score of the property suite over manual/.

    python -m mutation run                      # every function of manual/ (~16 min on 2 cores)
    python -m mutation run manual/layers.py     # only these files' functions
    python -m mutation report                   # the last run's report again
    python -m mutation report --entries         # plus an equivalents.toml entry per survivor

Exit status: 0 when every surviving mutant is a known equivalent, 1 when some survive, 2 when the
run itself failed (see the workspace's mutmut.log).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from mutation import equivalents, report, selection, workspace

RESULT = "result.json"
LOG = "mutmut.log"
PROGRESS = re.compile(r"(\d+)/(\d+)\s+🎉 (\d+) 🫥 (\d+)\s+⏰ (\d+)\s+🤔 (\d+)\s+🙁 (\d+)")


def _mutmut() -> str:
    beside = Path(sys.executable).with_name("mutmut")
    if beside.exists():
        return str(beside)
    raise SystemExit("mutmut is not installed: pip install -e '.[mutation]'")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # conftest.py loads this profile first; mutation/profile.py then replaces it (ci, no shrink).
    env["HYPOTHESIS_PROFILE"] = "ci"
    # Compiled JAX programs do not depend on where bpcheck was copied: reuse the checkout's cache.
    env.setdefault("BPCHECK_JAX_CACHE", str(workspace.CHECKOUT / ".jax_cache"))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _progress(log: Path) -> str | None:
    try:
        tail = log.read_bytes()[-4000:].decode("utf-8", "replace")
    except OSError:
        return None
    found = PROGRESS.findall(tail)
    if not found:
        return None
    done, total, killed, no_tests, timeout, suspicious, survived = found[-1]
    return (f"{done}/{total} mutants: {killed} killed, {timeout} timeout, {survived} survived, "
            f"{no_tests} without tests")


def run(args: argparse.Namespace) -> int:
    root = Path(args.workspace).resolve()
    started = time.monotonic()
    if args.keep and (root / "mutants").exists():
        print(f"reusing {root} (mutmut keeps verdicts of unchanged functions)")
    else:
        workspace.build(root, tuple(args.files))
        print(f"workspace: {root}")
    log = root / LOG
    command = [_mutmut(), "run", "--max-children", str(args.jobs)]
    print("running:", " ".join(command), f"(log: {log})", flush=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(command, cwd=root, env=_environment(), stdout=out,
                                   stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(args.nice))
        try:
            while process.poll() is None:
                time.sleep(args.progress_every)
                line = _progress(log)
                if line:
                    print(f"  [{(time.monotonic() - started) / 60:5.1f} min] {line}", flush=True)
        except KeyboardInterrupt:
            process.terminate()
            process.wait()
            raise
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        print(f"mutmut failed (exit {process.returncode}); see {log}", file=sys.stderr)
        return 2
    return _report(root, elapsed=elapsed, entries=args.entries)


def _report(root: Path, *, elapsed: float | None = None, entries: bool = False) -> int:
    outcome = report.collect(root)
    stats = root / "mutants" / "mutmut-stats.json"
    gaps = selection.gaps(stats) if stats.exists() and not _partial(root) else None
    if elapsed is None and (root / RESULT).exists():
        import json

        elapsed = json.loads((root / RESULT).read_text("utf-8")).get("elapsed_seconds")
    print(report.render(outcome, elapsed=elapsed, gaps=gaps))
    report.save(outcome, root / RESULT, elapsed=elapsed)
    if entries and outcome.survivors:
        print("\n# entries for mutation/equivalents.toml (replace each reason):\n")
        for mutant in outcome.survivors:
            print(equivalents.entry(mutant))
    return 1 if outcome.survivors else 0


def _partial(root: Path) -> bool:
    """A run over some files only: the registry cross-check would report the rest as gaps."""
    text = (root / "pyproject.toml").read_text("utf-8")
    return "only_mutate" in text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="mutate manual/ and run the tests per mutant")
    run_parser.add_argument("files", nargs="*", help="only these files (e.g. manual/layers.py)")
    run_parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                            help="mutants tested at once (default: the number of cores)")
    run_parser.add_argument("--nice", type=int, default=10, help="niceness of the run (default 10)")
    run_parser.add_argument("--keep", action="store_true",
                            help="reuse the workspace and mutmut's verdicts of unchanged functions")
    run_parser.add_argument("--progress-every", type=float, default=60.0, metavar="SECONDS")
    for sub in (run_parser, commands.add_parser("report", help="print the last run's report")):
        sub.add_argument("--workspace", default=str(workspace.DEFAULT_WORKSPACE))
        sub.add_argument("--entries", action="store_true",
                         help="print an equivalents.toml entry for each survivor")
    args = parser.parse_args(argv)
    try:  # a broken equivalents file is reported before a run, not after it
        equivalents.load()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        return run(args)
    return _report(Path(args.workspace).resolve(), entries=args.entries)


if __name__ == "__main__":
    sys.exit(main())
