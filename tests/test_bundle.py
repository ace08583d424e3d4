"""The Gradescope autograder zip: exactly the expected members at the root, executable scripts
that call `bpcheck gradescope`, no caches or tests, and identical bytes when built twice."""

import json
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from bpcheck.grading.bundle import PROJECT_PACKAGES, write_bundle

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ("run_autograder", "setup.sh")


@pytest.fixture
def project(tmp_path):
    """A small copy of the project layout, with the clutter a working checkout collects."""
    root = tmp_path / "project"
    files = {
        "pyproject.toml": "[project]\nname = 'bpcheck'\n",
        "requirements-lock.txt": "numpy==2.4.6\n",
        "README.md": "# bpcheck\n",
        "bpcheck/__init__.py": "",
        "bpcheck/cli.py": "def main(): ...\n",
        "bpcheck/sandbox/__init__.py": "",
        "manual/__init__.py": "",
        "manual/layers.py": "import numpy as np\n",
        "reference/__init__.py": "",
        # clutter that must stay out
        "bpcheck/__pycache__/cli.cpython-311.pyc": "compiled",
        "bpcheck/__pycache__/cli.cpython-311.pyc.4711": "a write in progress",
        "manual/stale.pyc": "compiled",
        "manual/tests/test_layers.py": "",
        "reference/.jax_cache/entry": "xla",
        "bpcheck.egg-info/PKG-INFO": "",
        ".venv/bin/python": "",
        ".jax_cache/entry": "xla",
        "tests/test_report.py": "",
        "examples/buggy_layers.py": "",
        "conftest.py": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def rubric(tmp_path):
    path = tmp_path / "my_rubric.toml"
    path.write_text('[points]\naffine_backward = 2.0\n')
    return path


def is_executable(entry: zipfile.ZipInfo) -> bool:
    mode = entry.external_attr >> 16
    return stat.S_ISREG(mode) and bool(mode & stat.S_IXUSR) and bool(mode & stat.S_IXOTH)


def test_bundle_holds_exactly_the_scripts_rubric_and_source(project, rubric, tmp_path):
    zip_path = write_bundle(tmp_path / "out" / "autograder.zip", project, rubric)
    assert zip_path == tmp_path / "out" / "autograder.zip"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert names == [
            "README.md", "bpcheck/__init__.py", "bpcheck/cli.py", "bpcheck/sandbox/__init__.py",
            "manual/__init__.py", "manual/layers.py", "pyproject.toml", "reference/__init__.py",
            "requirements-lock.txt", "rubric.toml", "run_autograder", "setup.sh",
        ]
        assert archive.read("rubric.toml") == rubric.read_bytes()
        assert archive.read("manual/layers.py") == b"import numpy as np\n"
        for entry in archive.infolist():
            assert is_executable(entry) == (entry.filename in SCRIPTS), entry.filename
            assert entry.date_time == (1980, 1, 1, 0, 0, 0)


def test_run_autograder_calls_bpcheck_gradescope(project, rubric, tmp_path):
    with zipfile.ZipFile(write_bundle(tmp_path / "a.zip", project, rubric)) as archive:
        script = archive.read("run_autograder").decode()
    assert script.startswith("#!/usr/bin/env bash\n")
    command = next(line for line in script.splitlines() if " gradescope " in line)
    assert command.split() == [
        "/autograder/venv/bin/bpcheck", "gradescope",
        "--submission", "/autograder/submission",
        "--results", "/autograder/results/results.json",
        "--allow-weak-isolation", "--rubric", "/autograder/source/rubric.toml",
    ]
    # the fallback a student sees when bpcheck stops early is valid Gradescope JSON
    fallback = re.search(r"<<'RESULTS'\n(.*?)\nRESULTS\n", script, re.S).group(1)
    assert json.loads(fallback)["score"] == 0


def test_without_a_rubric_there_is_no_rubric_flag_or_file(project, tmp_path):
    with zipfile.ZipFile(write_bundle(tmp_path / "a.zip", project)) as archive:
        assert "rubric.toml" not in archive.namelist()
        assert "--rubric" not in archive.read("run_autograder").decode()


def test_setup_installs_the_bundled_source_with_the_lock(project, tmp_path):
    with zipfile.ZipFile(write_bundle(tmp_path / "a.zip", project)) as archive:
        setup = archive.read("setup.sh").decode()
    assert setup.startswith("#!/usr/bin/env bash\n") and "set -euxo pipefail" in setup
    assert 'pip install -c "$SOURCE/requirements-lock.txt" "$SOURCE"' in setup
    assert "sys.version_info < (3, 11)" in setup and "python3.11" in setup


def test_setup_installs_bubblewrap_and_hides_the_solution_and_grader(project, tmp_path):
    with zipfile.ZipFile(write_bundle(tmp_path / "a.zip", project)) as archive:
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
    assert "apt-get install -y --no-install-recommends bubblewrap" in setup
    assert 'chmod -R go-rwx "$SOURCE"' in setup
    assert "for package in bpcheck manual reference" in setup
    hidden = setup.index('chmod -R go-rwx "$SOURCE"')
    assert setup.index("pip install") < hidden < setup.index('cp -r "$SOURCE/manual"')
    assert 'chmod 700 "$(dirname /autograder/results/results.json)"' in run


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_scripts_are_valid_bash(project, rubric, tmp_path):
    with zipfile.ZipFile(write_bundle(tmp_path / "a.zip", project, rubric)) as archive:
        archive.extractall(tmp_path / "x")
    for script in SCRIPTS:
        subprocess.run(["bash", "-n", str(tmp_path / "x" / script)], check=True)


def test_rebuilding_gives_identical_bytes(project, rubric, tmp_path):
    first = write_bundle(tmp_path / "first.zip", project, rubric).read_bytes()
    for stale in project.rglob("*.py"):  # a checkout touched later: mtimes must not matter
        stale.touch()
    second = write_bundle(tmp_path / "second.zip", project, rubric).read_bytes()
    assert first == second


def test_a_zip_written_inside_the_project_does_not_bundle_itself(project, tmp_path):
    inside = project / "bpcheck" / "autograder.zip"
    first = write_bundle(inside, project).read_bytes()
    assert first == write_bundle(inside, project).read_bytes()
    with zipfile.ZipFile(inside) as archive:
        assert not any(name.endswith(".zip") for name in archive.namelist())


def test_the_real_project_bundles_its_packages_without_caches(tmp_path):
    with zipfile.ZipFile(write_bundle(tmp_path / "a.zip", PROJECT_ROOT)) as archive:
        names = archive.namelist()
    for package in PROJECT_PACKAGES:
        assert f"{package}/__init__.py" in names
    assert "bpcheck/grading/bundle.py" in names and "bpcheck/cli/main.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")
                or n.startswith(("tests/", "examples/", ".jax_cache/", ".venv/"))]


def test_missing_source_or_rubric_is_one_clear_error(project, tmp_path):
    with pytest.raises(FileNotFoundError, match="rubric .* not found"):
        write_bundle(tmp_path / "a.zip", project, tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[points\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        write_bundle(tmp_path / "a.zip", project, bad)
    (project / "requirements-lock.txt").unlink()
    with pytest.raises(FileNotFoundError, match="requirements-lock.txt not found"):
        write_bundle(tmp_path / "a.zip", project)
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_setup_warms_the_jax_cache_by_grading_the_bundled_layers(tmp_path):
    """setup.sh's last step, run here with this environment's bpcheck, the real manual/ and a
    one-layer rubric: it grades the copy of manual/ and leaves compiled programs in the cache."""
    import sys

    from bpcheck.grading.bundle import SOURCE_DIR, VENV_DIR, WARM_UP, setup_script

    root = Path(__file__).resolve().parent.parent
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("examples = 2\n[points]\naffine_forward = 1\naffine_backward = 1\n")
    setup = setup_script(with_rubric=True)
    assert setup.endswith(WARM_UP.split("{command}")[1])
    warm = setup.split("WARM=$(mktemp -d)")[1]
    script = ("set -euo pipefail\nSOURCE=" + str(root) + "\nWARM=$(mktemp -d)" + warm).replace(
        f"{VENV_DIR}/bin/bpcheck", str(Path(sys.executable).with_name("bpcheck"))).replace(
        f"{SOURCE_DIR}/rubric.toml", str(rubric)).replace('rm -rf "$WARM"', 'cat "$WARM/results.json"')
    cache = tmp_path / "cache"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "BPCHECK_JAX_CACHE": str(cache)})
    assert done.returncode == 0, done.stderr
    assert "warming JAX's compilation cache failed" not in done.stdout
    assert json.loads(done.stdout[done.stdout.index("{"):])["score"] == 2.0
    assert any(cache.iterdir()), "no compiled program was cached"
