"""The Gradescope bundle, end to end, the way Gradescope runs it.

``bpcheck gradescope-bundle`` writes the zip; it is unpacked into a fresh tree that bubblewrap
mounts as ``/autograder``, in a view of this machine that holds its ``/usr``, ``/etc`` and the
package index's folders under ``/opt`` but neither this checkout nor its venv. There ``setup.sh``
runs as Gradescope runs it (root, working directory ``/autograder``): it makes its own venv and
installs bpcheck from the bundled source and the package index. Then a student's submission is put
in ``/autograder/submission`` with its ``submission_metadata.json`` and ``run_autograder`` runs;
``results.json`` must validate against the schema written from Gradescope's specification and
say what the submission got right, with Markdown, a leaderboard and a hidden check as the rubric
asks.

It takes ~25 s on a quiet machine (most of it installing JAX into the new venv), so it is marked
``e2e``: it runs when BPCHECK_E2E=1, which .ci/run sets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from bpcheck.cli import main as cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(name="gradescope-e2e")]
ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json")
                    .read_text())
SETUP_SECONDS = 900  # setup.sh: a venv and JAX from the package index
RUN_SECONDS = 300
RUBRIC = """examples = 3
[points]
relu_forward = 1
relu_backward = 2
[checks.vjp]
visibility = "hidden"
[gradescope]
output_format = "md"
leaderboard = true
"""
STUDENT = """import numpy as np
def relu_forward(x):
    return np.maximum(x, 0), x
def relu_backward(dout, cache):
    return dout * (cache < 0)
"""
METADATA = {"users": [{"email": "student@example.edu", "name": "A Student", "id": 1}],
            "assignment": {"title": "backprop", "total_points": 3.0}}


def _system_python() -> str | None:
    """A Python >= 3.11 under /usr (the tree bound into the harness), as setup.sh looks for."""
    for name in ("python3.13", "python3.12", "python3.11", "python3"):
        path = Path("/usr/bin") / name
        if path.exists() and subprocess.run(
                [str(path), "-c", "import sys, venv; sys.exit(sys.version_info < (3, 11))"],
                capture_output=True).returncode == 0:
            return str(path)
    return None


def _harness(tree: Path) -> list[str]:
    """bwrap arguments that show ``tree`` as /autograder in a view without this checkout."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        pytest.skip("bubblewrap is not installed: `apt-get install bubblewrap` (Debian's package; "
                    ".ci/run installs it) to stand a fresh tree in for /autograder")
    if _system_python() is None:
        pytest.skip("no Python >= 3.11 with venv under /usr/bin for setup.sh to find (without "
                    "one it would apt-get install it, which this harness cannot)")
    args = [bwrap, "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "sbin", "lib", "lib64"):
        if os.path.islink(f"/{name}"):
            args += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
    if os.path.isdir("/opt"):  # a local package index or wheel folder that pip's config names
        args += ["--ro-bind", "/opt", "/opt"]
    return args + ["--bind", str(tree), "/autograder", "--tmpfs", "/tmp", "--tmpfs", "/root",
                   "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--unshare-ipc",
                   "--die-with-parent", "--chdir", "/autograder", "--clearenv",
                   "--setenv", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
                   "--setenv", "HOME", "/root", "--setenv", "LANG", "C.UTF-8"]


def _run(harness: list[str], command: list[str], seconds: int, log: Path) -> None:
    with log.open("w") as handle:
        done = subprocess.run([*harness, *command], stdout=handle, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=seconds)
    assert done.returncode == 0, f"{command[-1]} failed:\n{log.read_text()[-3000:]}"


@pytest.fixture(scope="module")
def autograded(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradescope")
    tree = root / "autograder"
    (tree / "source").mkdir(parents=True)
    harness = _harness(tree)
    (root / "rubric.toml").write_text(RUBRIC)
    assert cli.main(["gradescope-bundle", str(root / "autograder.zip"),
                     "--rubric", str(root / "rubric.toml")]) == 0
    with zipfile.ZipFile(root / "autograder.zip") as archive:
        for entry in archive.infolist():
            archive.extract(entry, tree / "source")
            (tree / "source" / entry.filename).chmod((entry.external_attr >> 16) & 0o777)
    shutil.copy(tree / "source" / "run_autograder", tree / "run_autograder")
    _run(harness, ["bash", "/autograder/source/setup.sh"], SETUP_SECONDS, root / "setup.log")
    (tree / "submission").mkdir()
    (tree / "submission" / "layers.py").write_text(STUDENT)
    (tree / "submission_metadata.json").write_text(json.dumps(METADATA))
    _run(harness, ["/autograder/run_autograder"], RUN_SECONDS, root / "run.log")
    sees_checkout = subprocess.run([*harness, "test", "-e", str(ROOT)]).returncode == 0
    return {"results": json.loads((tree / "results" / "results.json").read_text()),
            "sees_checkout": sees_checkout, "setup": (root / "setup.log").read_text()}


def test_the_harness_cannot_see_this_checkout(autograded):
    assert not autograded["sees_checkout"]
    assert sys.prefix not in autograded["setup"]  # nothing came from this venv


def test_results_validate_against_gradescopes_specification(autograded):
    jsonschema.validate(autograded["results"], SCHEMA)


def test_the_student_is_graded_with_the_rubrics_presentation(autograded):
    results = autograded["results"]
    functions = results["extra_data"]["bpcheck"]["functions"]
    assert functions["relu_forward"]["status"] == "passed"
    assert functions["relu_backward"]["status"] == "failed"
    assert results["score"] == 1.0
    assert results["output_format"] == "md" and "| `relu_backward` | failed |" in results["output"]
    assert "relu_backward: backward matches jax.vjp" in results["output"]  # the hidden check
    assert {e["name"] for e in results["leaderboard"]} == {"score", "functions right"}
    assert results["extra_data"]["bpcheck"]["submission"] == "student@example.edu"
    assert results["extra_data"]["bpcheck"]["isolation"]["per_submission_uid"]
