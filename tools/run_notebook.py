"""Execute examples/student_session.ipynb in place, so that its committed outputs come from a real
run (tests/test_notebook.py executes it again and compares). Needs the docs extra.

    .venv/bin/python tools/run_notebook.py
"""

import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "student_session.ipynb"


def main() -> int:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with tempfile.TemporaryDirectory() as work:  # the notebook writes its cs231n/ there
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": work}}).execute()
    for cell in notebook.cells:
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(notebook, NOTEBOOK)
    print(f"executed {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
