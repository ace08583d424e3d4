"""Record the runs the documentation and the README show: each command is run for real and its
output written to ``docs/runs/<name>.txt``, its first line the command (``$ ...``). The pages
include these files (``--8<--``); the README pastes ``check_buggy.txt``, and tests/test_docs.py
checks that its copy is identical, that every run's command is still valid, and reruns the
buggy-file check to compare its verdicts with the recording.

    .venv/bin/python tools/record_runs.py            # every run
    .venv/bin/python tools/record_runs.py check_buggy

Terminal width 80 and no colour, as a reader's terminal. Two things are normalised, nothing
else: the checkout's absolute path (a traceback or warning quoting the file names it) becomes
relative, and the scratch project of the pytest run is called ``~/course``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS_DIR = ROOT / "docs" / "runs"
BIN = Path(sys.executable).parent

#: name -> (command as shown, the folder it runs in: "repo" or "project"). The project is a
#: scratch folder holding examples/buggy_layers.py as layers.py, as a student's course would.
RUNS = {
    "check_buggy": ("bpcheck check examples/buggy_layers.py", "repo"),
    "check_only": ("bpcheck check --only affine,softmax_loss", "repo"),
    "pytest_plugin": ("pytest --bpcheck-impl layers.py -q", "project"),
    "demo_spiral": ("bpcheck demo spiral", "repo"),
}


def record(name: str) -> Path:
    command, where = RUNS[name]
    environment = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb",
                   "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("FORCE_COLOR", None)
    with tempfile.TemporaryDirectory() as scratch:
        folder = ROOT
        if where == "project":
            folder = Path(scratch) / "course"
            folder.mkdir()
            shutil.copy(ROOT / "examples" / "buggy_layers.py", folder / "layers.py")
        done = subprocess.run(command, shell=True, cwd=folder, env=environment,
                              capture_output=True, text=True, timeout=900)
        output = done.stdout + done.stderr
        output = output.replace(f"{folder}/", "").replace(str(folder), "~/course")
    lines = [line.rstrip() for line in output.splitlines()]
    path = RUNS_DIR / f"{name}.txt"
    path.write_text(f"$ {command}\n" + "\n".join(lines).rstrip() + "\n")
    print(f"{path.relative_to(ROOT)}: exit {done.returncode}, {len(lines)} lines")
    return path


def main(names: list[str]) -> int:
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    for name in names or RUNS:
        record(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
