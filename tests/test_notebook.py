"""The example notebook (examples/student_session.ipynb) runs in a real Jupyter kernel, and what it
shows is what it claims: the buggy layer's verdict fails with its diagnosis and repro line, the
fixed file — reloaded by ``%autoreload``, not by hand — passes, a pair defined in a cell is checked,
and progress appears in the notebook.

Its committed outputs come from such a run (``python tools/run_notebook.py`` rewrites them); this
test executes it afresh and compares the statuses it shows with the committed ones, so neither can
rot.
"""

import json
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the docs extra is not installed: "
                               "pip install -c requirements-lock.txt -e '.[test,docs]'")
nbclient = pytest.importorskip("nbclient", reason="the docs extra is not installed")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "student_session.ipynb"

pytestmark = pytest.mark.xdist_group(name="notebook")


def execute(notebook, folder: Path, environment) -> None:
    """Run every cell in a kernel of this very Python (a kernelspec of its own, so that whatever
    ``python`` is on the PATH does not matter), in ``folder``."""
    spec = folder / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    environment.setenv("JUPYTER_PATH", str(folder / "jupyter"))
    work = folder / "work"
    work.mkdir()
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}}).execute()


def shown(cell) -> str:
    """What a cell shows: its HTML outputs (the verdict, the progress line) and its errors."""
    parts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        parts.append(data.get("text/html", "") or data.get("text/plain", ""))
        if output.get("output_type") == "error":
            parts.append(f"ERROR {output['ename']}: {output['evalue']}")
    return "\n".join(parts)


def statuses(cell) -> list[tuple[str, str]]:
    """(function, status) for each row of the verdict table a cell shows."""
    return re.findall(r"<tr><td>(\w+)</td><td class=\"status \w+\">(\w+)</td>", shown(cell))


def verdict_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and "bpcheck.check" in c.source]


def test_student_session_runs_and_shows_each_verdict(tmp_path, monkeypatch):
    committed = nbformat.read(NOTEBOOK, as_version=4)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    execute(notebook, tmp_path, monkeypatch)
    errors = [shown(c) for c in notebook.cells if "ERROR " in shown(c)]
    assert not errors, errors
    buggy, fixed, own_buggy, own_fixed = verdict_cells(notebook)

    assert statuses(buggy) == [("affine_forward", "passed"), ("affine_backward", "FAILED"),
                               ("relu_forward", "passed"), ("relu_backward", "passed")]
    assert "likely cause: db is N = " in shown(buggy)
    assert "reproduce: bpcheck.rebuild(&#x27;affine&#x27;" in shown(buggy)
    # progress was shown in the notebook: the bar's display, updated to its last line
    assert re.search(r"checked 2 layers in \d+\.\d s", shown(buggy))

    assert "%autoreload 2" in "".join(c.source for c in notebook.cells)
    assert statuses(fixed) == [(f, "passed") for f in
                               ("affine_forward", "affine_backward", "relu_forward", "relu_backward")]
    assert statuses(own_buggy) == [("swish_forward", "passed"), ("swish_backward", "FAILED")]
    assert "likely cause: dx does not multiply in the upstream gradient" in shown(own_buggy)
    assert statuses(own_fixed) == [("swish_forward", "passed"), ("swish_backward", "passed")]

    # the committed outputs tell the same story as this run
    assert [statuses(c) for c in verdict_cells(committed)] == \
        [statuses(c) for c in verdict_cells(notebook)]
