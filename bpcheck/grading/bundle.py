"""The zip an instructor uploads to Gradescope as a "Programming assignment" autograder.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` there once (as root) to
build the grading image, copies ``run_autograder`` to ``/autograder/run_autograder`` and runs it
for every submission, which it places in ``/autograder/submission``; the script must leave
``/autograder/results/results.json``. Both scripts sit at the zip's root, executable.

``setup.sh`` installs bpcheck from the bundled source, pinned by ``requirements-lock.txt``, into its
own virtual environment ``/autograder/venv`` with a Python >= 3.11. Gradescope's default base image
is Ubuntu 22.04, whose ``python3`` is 3.10, and its harness runs on that ``python3``, so the script
never replaces it: it uses a ``python3.X`` >= 3.11 already on the image if there is one, else
installs ``python3.11`` (deadsnakes' build when that PPA is reachable; 22.04's own package is a
3.11.0 release candidate).

``setup.sh`` also installs bubblewrap, which isolates each submission's child (its own namespaces
and uid), and leaves the bundled source and the installed bpcheck, manual and reference readable
by root alone, so that the child cannot read the solution or the grader even where the container
forbids bubblewrap's namespaces. Gradescope grades one submission per container, as root: there
``run_autograder`` accepts the weak isolation (a uid of its own per submission, the audit hook)
when bubblewrap cannot run, and results.json's ``isolation`` says which was in force.

The zip is deterministic: entries sorted, a fixed timestamp and fixed permission bits, so that
building twice from the same sources gives identical bytes.
"""

from __future__ import annotations

import json
import shlex
import stat
import tomllib
import zipfile
from pathlib import Path

AUTOGRADER_DIR = "/autograder"
SOURCE_DIR = f"{AUTOGRADER_DIR}/source"
VENV_DIR = f"{AUTOGRADER_DIR}/venv"
SUBMISSION_DIR = f"{AUTOGRADER_DIR}/submission"
RESULTS_FILE = f"{AUTOGRADER_DIR}/results/results.json"
RUBRIC_NAME = "rubric.toml"

PROJECT_FILES = ("pyproject.toml", "requirements-lock.txt", "README.md")
PROJECT_PACKAGES = ("bpcheck", "manual", "reference")
EXCLUDED_DIRECTORIES = {"__pycache__", ".jax_cache", ".venv", "tests", ".pytest_cache",
                        ".hypothesis", ".mypy_cache", ".ruff_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
EXCLUDED_FILES = {".DS_Store"}

ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold
SCRIPT_MODE = stat.S_IFREG | 0o755
FILE_MODE = stat.S_IFREG | 0o644
UNIX_CREATOR = 3  # "made on Unix": unzip then honours the permission bits

SETUP_SH = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. It installs bpcheck
# from the source in this zip, pinned by requirements-lock.txt, into {VENV_DIR} with a
# Python >= 3.11. The image's own python3 stays as it is: Gradescope's harness runs on it.
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE={SOURCE_DIR}
VENV={VENV_DIR}

at_least_311() {{ "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }}

find_python() {{
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null && at_least_311 "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}}

if ! PYTHON=$(find_python); then
    # Ubuntu 22.04 (Gradescope's default base image) has Python 3.10; its own python3.11 package
    # is a 3.11.0 release candidate, so take deadsnakes' build when the PPA is reachable.
    apt-get update
    apt-get install -y --no-install-recommends software-properties-common gpg-agent
    add-apt-repository -y ppa:deadsnakes/ppa || echo "no deadsnakes PPA: Ubuntu's python3.11"
    apt-get update
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=$(command -v python3.11)
fi
"$PYTHON" --version

if ! "$PYTHON" -m venv "$VENV"; then
    # Debian and Ubuntu ship venv's pip bootstrap as a separate package.
    VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    apt-get update
    apt-get install -y --no-install-recommends "python$VERSION-venv"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -c "$SOURCE/requirements-lock.txt" "$SOURCE"
"$VENV/bin/bpcheck" --help >/dev/null

# bubblewrap gives each submission's child namespaces of its own (bpcheck's README, "What a
# submission cannot do"); without it the child still runs under a uid of its own.
if ! command -v bwrap >/dev/null; then
    (apt-get update && apt-get install -y --no-install-recommends bubblewrap) ||
        echo "bubblewrap could not be installed: submissions run under a uid of their own only"
fi
# The solution and the grader, readable by root alone: the child's uid cannot open them however
# it asks. NumPy and the rest of the environment stay readable: the child runs on them.
chmod -R go-rwx "$SOURCE"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for package in bpcheck manual reference; do
    if [ -e "$SITE/$package" ]; then chmod -R go-rwx "$SITE/$package"; fi
done
"""

#: The end of setup.sh: the bundled manual/, copied as a submission of its own (the sandbox lets
#: no submission import manual itself), graded once the way run_autograder grades, so that JAX's
#: persistent compilation cache, built into the image, holds the programs a container's grading
#: meets: each student's examples differ (their seed comes from their name), but their shapes are
#: drawn from the same small pools. Measured here: a correct full submission graded by
#: `bpcheck gradescope` on a cold cache took 45.9 s, after this warm-up 22.4 s. A failure here
#: only loses that head start.
WARM_UP = """
WARM=$(mktemp -d)
mkdir -p "$WARM/submission"
cp -r "$SOURCE/manual" "$WARM/submission/mylayers"
echo 'from mylayers import *' > "$WARM/submission/layers.py"
{command} || echo "warming JAX's compilation cache failed: grading works, only slower"
rm -rf "$WARM"
"""


def _gradescope_command(submission: str, results: str, with_rubric: bool) -> list[str]:
    command = [f"{VENV_DIR}/bin/bpcheck", "gradescope", "--submission", submission,
               "--results", results, "--allow-weak-isolation"]
    if with_rubric:
        command += ["--rubric", f"{SOURCE_DIR}/{RUBRIC_NAME}"]
    return command


def setup_script(with_rubric: bool) -> str:
    """setup.sh: install bpcheck, then warm JAX's compilation cache (``WARM_UP``)."""
    command = shlex.join(_gradescope_command("WARM_SUBMISSION", "WARM_RESULTS", with_rubric))
    command = command.replace("WARM_SUBMISSION", '"$WARM/submission"').replace(
        "WARM_RESULTS", '"$WARM/results.json"')
    return SETUP_SH + WARM_UP.format(command=command)

# Shown to the student when bpcheck stops before writing any results (a broken image, say).
FALLBACK_RESULTS = {
    "score": 0.0,
    "output": "The autograder stopped before it could grade this submission. This is not a "
              "verdict on your code: please tell your instructor, who can regrade it.",
    "visibility": "visible",
    "tests": [],
}


def run_autograder_script(with_rubric: bool) -> str:
    """The run_autograder script: grade the submission with ``bpcheck gradescope``."""
    command = _gradescope_command(SUBMISSION_DIR, RESULTS_FILE, with_rubric)
    return f"""\
#!/usr/bin/env bash
# Gradescope runs this for every submission (working directory {AUTOGRADER_DIR}). bpcheck grades
# {SUBMISSION_DIR} in its sandbox and writes {RESULTS_FILE}. One submission per container, as
# root: where bubblewrap cannot run, the child still has a uid of its own that can read neither
# the solution nor the grader (setup.sh), hence --allow-weak-isolation.
set -uo pipefail
mkdir -p "$(dirname {RESULTS_FILE})"
chmod 700 "$(dirname {RESULTS_FILE})"
rm -f {RESULTS_FILE}
{shlex.join(command)}
status=$?
echo "bpcheck gradescope exited with status $status"
if [ ! -s {RESULTS_FILE} ]; then
    cat > {RESULTS_FILE} <<'RESULTS'
{json.dumps(FALLBACK_RESULTS, indent=2)}
RESULTS
fi
exit 0
"""


def _excluded(relative: Path) -> bool:
    return (any(part in EXCLUDED_DIRECTORIES or part.endswith(EXCLUDED_SUFFIXES)
                for part in relative.parts)
            or relative.name in EXCLUDED_FILES)


def project_sources(project_root: Path) -> dict[str, Path]:
    """{name in the zip: file} for the source that installs bpcheck (no caches, no tests)."""
    project_root = Path(project_root)
    sources = {}
    for name in PROJECT_FILES:
        path = project_root / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: is {project_root} bpcheck's project root?")
        sources[name] = path
    for package in PROJECT_PACKAGES:
        directory = project_root / package
        if not (directory / "__init__.py").is_file():
            raise FileNotFoundError(f"{directory}/__init__.py not found: is {project_root} "
                                    f"bpcheck's project root?")
        for path in directory.rglob("*"):
            relative = path.relative_to(project_root)
            if path.is_file() and not path.is_symlink() and not _excluded(relative):
                sources[relative.as_posix()] = path
    return sources


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    entry = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
    entry.create_system = UNIX_CREATOR
    entry.external_attr = mode << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, data, compresslevel=9)


def write_bundle(zip_path: Path, project_root: Path, rubric: Path | None = None) -> Path:
    """Write the Gradescope autograder zip to zip_path and return it.

    Holds setup.sh and run_autograder (executable), rubric.toml when a rubric is given, and
    pyproject.toml, requirements-lock.txt, README.md and the bpcheck, manual and reference
    packages from project_root. Raises FileNotFoundError for a missing source or rubric and
    ValueError for a rubric that is not TOML.
    """
    zip_path = Path(zip_path)
    partial = zip_path.with_name(zip_path.name + ".partial")
    own_files = {zip_path.resolve(), partial.resolve()}  # a zip written inside a package
    members: dict[str, tuple[bytes, int]] = {
        name: (path.read_bytes(), FILE_MODE)
        for name, path in project_sources(project_root).items() if path.resolve() not in own_files
    }
    if rubric is not None:
        rubric = Path(rubric)
        if not rubric.is_file():
            raise FileNotFoundError(f"rubric {rubric} not found")
        text = rubric.read_bytes()
        try:
            tomllib.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"rubric {rubric} is not valid TOML: {exc}") from None
        members[RUBRIC_NAME] = (text, FILE_MODE)
    members["setup.sh"] = (setup_script(rubric is not None).encode(), SCRIPT_MODE)
    members["run_autograder"] = (run_autograder_script(rubric is not None).encode(), SCRIPT_MODE)

    zip_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for name in sorted(members):
                data, mode = members[name]
                _add(archive, name, data, mode)
        partial.replace(zip_path)
    finally:
        partial.unlink(missing_ok=True)
    return zip_path
