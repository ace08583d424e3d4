"""bpcheck as a project outside this checkout gets it: a wheel built from here, installed into a
fresh virtual environment, gives that project both ``pytest --bpcheck-impl its_layers.py`` (the
pytest plugin, found through its entry point) and the Python API.

The fresh environment takes bpcheck from the wheel alone; its dependencies (JAX, NumPy,
hypothesis, pytest, rich) are borrowed from this environment through a path file, so the test
needs no network and no download.
"""

import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.xdist_group(name="installed-wheel")

LAYERS = textwrap.dedent('''
    import numpy as np

    def affine_forward(x, w, b):
        return x.reshape(x.shape[0], -1) @ w + b, (x, w)

    def affine_backward(dout, cache):
        x, w = cache
        return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)

    def relu_forward(x):
        return np.maximum(x, 0.0), x

    def relu_backward(dout, cache):
        return dout * (cache > 0) * 2.0  # the planted mistake: an extra factor 2
''')

API_USE = textwrap.dedent('''
    import sys
    import bpcheck
    assert "/site-packages/bpcheck/" in bpcheck.__file__.replace("\\\\", "/"), bpcheck.__file__
    verdict = bpcheck.check("layers.py", examples=10)
    print("affine_backward", verdict["affine_backward"].status)
    print("relu_backward", verdict["relu_backward"].status)
    try:
        bpcheck.assert_passes("layers.py", only="relu", examples=10)
    except AssertionError as exc:
        print("assertion names", "relu_backward" in str(exc) and "2 times too large" in str(exc))
''')


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with bpcheck installed from a wheel of this checkout; its python."""
    root = tmp_path_factory.mktemp("installed")
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(dist), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("bpcheck-*.whl")
    env_dir = root / "env"
    venv.create(env_dir, with_pip=False)  # this environment's pip installs into it (--python)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True, text=True).stdout
    # The dependencies, not bpcheck: every entry of this environment's site-packages but
    # bpcheck's own (its editable finder and its metadata, entry points included). Their folder
    # is named site-packages, as an installed dependency's is: hypothesis takes a module outside
    # one for the project's own code and parses its source for constants (all of JAX's: 5.6 s
    # of the outside project's 8 s run).
    borrowed = root / "borrowed" / "site-packages"
    borrowed.mkdir(parents=True)
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("bpcheck", "__editable__", "_bpcheck")):
            (borrowed / entry.name).symlink_to(entry)
    (Path(site.strip()) / "borrowed_dependencies.pth").write_text(f"{borrowed}\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "-q", str(wheel)], check=True, capture_output=True, timeout=300)
    project = root / "project"
    project.mkdir()
    (project / "layers.py").write_text(LAYERS)
    return python


def test_an_outside_project_runs_the_battery_with_pytest(installed):
    project = installed.parent.parent.parent / "project"
    done = subprocess.run([str(installed), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--bpcheck-impl", "layers.py", "--bpcheck-examples", "10"],
                          cwd=project, capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert "1 failed, 1 passed" in out, out[-3000:]
    assert "bpcheck[layers.py::relu]" in out and "2 times too large" in out, out[-3000:]


def test_an_outside_project_uses_the_python_api(installed):
    project = installed.parent.parent.parent / "project"
    done = subprocess.run([str(installed), "-c", API_USE], cwd=project, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:3] == ["affine_backward passed", "relu_backward failed",
                                           "assertion names True"], done.stdout
