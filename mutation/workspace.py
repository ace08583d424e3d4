"""The scratch project mutmut runs in, so that nothing in the checkout is touched.

mutmut reads its settings from ``[tool.mutmut]`` in the current directory's ``pyproject.toml``
and writes its mutants to ``./mutants/``. The checkout's own ``pyproject.toml`` is not ours to
change, so the run happens in a copy: ``manual/`` (the code mutated), ``reference/``, ``bpcheck/``,
``tests/``, ``conftest.py`` and this package, with a generated ``pyproject.toml`` that keeps the
checkout's pytest settings but not its ``addopts`` (no xdist: one pytest process per mutant).

One adjustment to the copy of ``manual/``: mutmut 3 does not mutate decorated functions (it cannot
put its trampoline under a decorator), and 14 of manual/'s functions carry
``@ignore_underflow``. The copy therefore applies that decorator after the definition instead
(``name = ignore_underflow(name)`` at the end of the module), which calls the same function with the
same error state, and leaves every line of the function itself as it is.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

#: The checkout this package lives in.
CHECKOUT = Path(__file__).resolve().parent.parent
#: Default workspace: inside this package, ignored by git through its own .gitignore.
DEFAULT_WORKSPACE = CHECKOUT / "mutation" / ".work"
#: What the copy holds besides manual/.
ALSO_COPY = ("bpcheck", "reference", "conftest.py", "mutation")
#: The test files that verify manual/ (the rest test the checker, the CLI, the loader…).
TEST_FILES = (
    "tests/test_properties.py",
    "tests/test_networks.py",
    "tests/test_identities.py",
    "tests/test_training.py",
)
#: Decorators moved below the definition in the copy (see the module docstring).
MOVED_DECORATORS = ("ignore_underflow",)

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".work", ".hypothesis")


def redecorate(source: str, decorators: tuple[str, ...] = MOVED_DECORATORS) -> str:
    """``source`` with each module-level ``@<decorator>`` line removed and the decorator applied
    after the module's last line instead: ``name = decorator(name)``. Only bare decorators of
    top-level functions are moved; the function's own lines are not changed."""
    kept, applied, pending = [], [], []
    for line in source.splitlines():
        if line.startswith("@") and line[1:].strip() in decorators:
            pending.append(line[1:].strip())
            continue
        if pending:
            match = re.match(r"def (\w+)\(", line)
            if match:
                applied += [f"{match.group(1)} = {name}({match.group(1)})"
                            for name in reversed(pending)]
                pending = []
            elif not line.startswith("@"):
                raise ValueError(f"@{pending[0]} is not followed by a top-level def: {line!r}")
        kept.append(line)
    if not applied:
        return source
    tail = ["", "", "# mutation/workspace.py: decorators applied after the definitions (mutmut "
            "does not mutate decorated functions)", *applied]
    return "\n".join(kept + tail) + "\n"


def _pytest_settings() -> dict:
    """The checkout's ``[tool.pytest.ini_options]`` without ``addopts`` (xdist, -n auto)."""
    data = tomllib.loads((CHECKOUT / "pyproject.toml").read_text("utf-8"))
    options = dict(data.get("tool", {}).get("pytest", {}).get("ini_options", {}))
    options.pop("addopts", None)
    return options


def _toml_table(name: str, values: dict) -> str:
    # json.dumps renders str, list of str, bool and numbers as valid TOML values.
    body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items())
    return f"[{name}]\n{body}\n"


def mutmut_settings(only: tuple[str, ...] = ()) -> dict:
    """The ``[tool.mutmut]`` table: mutate manual/, trace and run only TEST_FILES, one process per
    mutant with the ``mutation`` hypothesis profile (``mutation.profile``)."""
    settings = {
        "source_paths": ["manual"],
        "also_copy": list(ALSO_COPY),
        "pytest_add_cli_args": ["-p", "no:xdist", "-p", "no:cacheprovider",
                                "-p", "mutation.profile"],
        "pytest_add_cli_args_test_selection": list(TEST_FILES),
        # A mutant whose tests run this much longer than the clean run counts as a timeout.
        "timeout_multiplier": 10.0,
        "timeout_constant": 10.0,
        "use_git_change_detection": False,
        # JAX is not fork-safe once its backend runs: mutmut's default "fork" isolation collects
        # the stats in its main process and forks every mutant from it, and those children then
        # hang. The fork server only imports and collects the tests (JAX imported, no backend, one
        # thread) before it forks a child per mutant.
        "process_isolation": "forkserver",
        "forkserver_warmup": "collect",
        "mutate_only_covered_lines": False,
    }
    if only:
        settings["only_mutate"] = list(only)
    return settings


def build(workspace: Path, only: tuple[str, ...] = ()) -> Path:
    """A fresh copy of the project at ``workspace`` (removed first), ready for ``mutmut run``."""
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    (workspace / ".gitignore").write_text("*\n")
    for name in ("manual", "tests", *ALSO_COPY):
        source = CHECKOUT / name
        if source.is_dir():
            shutil.copytree(source, workspace / name, ignore=_IGNORED)
        else:
            shutil.copy2(source, workspace / name)
    for path in sorted((workspace / "manual").glob("*.py")):
        text = path.read_text("utf-8")
        moved = redecorate(text)
        if moved != text:
            path.write_text(moved, "utf-8")
    (workspace / "pyproject.toml").write_text(
        "# Generated by mutation/workspace.py for a mutmut run; not the project's pyproject.\n\n"
        + _toml_table("tool.pytest.ini_options", _pytest_settings()) + "\n"
        + _toml_table("tool.mutmut", mutmut_settings(only)),
        "utf-8",
    )
    return workspace
