"""The documentation cannot rot: the site builds strictly, the generated pages cover the registry,
every command the docs and the README show is still a valid command, and every output they show
comes from a real run (docs/runs/, recorded by tools/record_runs.py) that still tells the truth.

A command is checked by the program that would run it, without running it: bpcheck's own argument
parser, or the argparse parser of a ``python -m`` module (its ``parse_args`` intercepted, so a
13-minute benchmark is parsed, not run), the pytest plugin's options, the extras of pyproject.toml.
Placeholders in a synopsis (``N``, ``FILE``, ``[--force]``, ``float64|float32``) are filled in first.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RUNS = DOCS / "runs"
README = ROOT / "README.md"

sys.path.insert(0, str(ROOT / "tools"))
import record_runs  # noqa: E402

pytestmark = pytest.mark.xdist_group(name="docs")

#: A synopsis' placeholders and a value each parses with.
PLACEHOLDERS = {"N": "2", "S": "0", "FILE": "out.json", "NAMES": "affine", "SUBMISSIONS": "subs",
                "OUT": "out", "LAYER": "affine", "SECONDS": "1"}


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md")) + [README]


def shown_commands() -> list[tuple[str, str]]:
    """(where, command) for every command shown: each line of a sh/console block, each ``$``
    line of any block, and each inline code span that starts with a command name."""
    found = []
    for path in pages():
        text = path.read_text()
        where = str(path.relative_to(ROOT))
        for lang, block in re.findall(r"```(\w*)\n(.*?)```", text, re.S):
            for line in block.splitlines():
                if line.startswith("$ "):
                    found.append((where, line[2:]))
                elif lang in ("sh", "bash", "console") and line.strip() and not line.startswith("#"):
                    found.append((where, line.split("  #")[0].strip()))
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for span in re.findall(r"`([^`\n]+)`", prose):
            if re.match(r"(bpcheck \w|python3? -m \w|pytest -)", span):
                found.append((where, span))
    for run in RUNS.glob("*.txt"):
        found.append((str(run.relative_to(ROOT)), run.read_text().splitlines()[0][2:]))
    return found


def normalised(command: str) -> list[str]:
    words = []
    for word in shlex.split(command.replace("[", " ").replace("]", " ").replace("…", " ")):
        word = PLACEHOLDERS.get(word, word)
        if "|" in word and not word.startswith("-"):
            word = word.split("|")[0]
        if word.startswith("--") and "=" not in word and "|" in word:
            word = word.split("|")[0]
        words.append(word)
    return words


def pyproject_extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


PARSE_ONLY = """
import argparse, importlib.util, json, runpy, sys
original = argparse.ArgumentParser.parse_args
class Parsed(Exception):
    pass
def parse_only(self, args=None, namespace=None):
    original(self, args, namespace)
    raise Parsed
argparse.ArgumentParser.parse_args = parse_only
verdicts = {}
for words in json.loads(sys.argv[1]):
    module = words[0]
    try:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(module + ".__main__")
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        verdicts[" ".join(words)] = "no such module"
        continue
    if "argparse" not in open(spec.origin).read():  # reads sys.argv itself: it exists, that is all
        continue
    sys.argv = list(words)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        verdicts[" ".join(words)] = "it ran without parsing its arguments"
    except Parsed:
        pass
    except SystemExit as exc:
        verdicts[" ".join(words)] = f"its parser rejects it (exit {exc.code})"
print(json.dumps(verdicts))
"""


def python_modules_problems(commands: list[list[str]]) -> dict[str, str]:
    """Each ``python -m module args`` parsed by the module's own parser, all in one process."""
    if not commands:
        return {}
    done = subprocess.run([sys.executable, "-c", PARSE_ONLY, json.dumps(commands)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


#: The Debian packages .ci/run installs for the tests that need them (bubblewrap for grading's
#: isolation, chromium for the rendered HTML verdict).
DEBIAN_PACKAGES = {"bubblewrap", "chromium"}


def problem(command: str, modules: dict[str, str] | None = None) -> str | None:
    """Why ``command`` is not a valid command, or None. ``modules``: the verdicts of
    ``python_modules_problems`` (computed here when not given)."""
    from bpcheck.cli.main import build_parser

    for part in (p.strip() for p in command.split("&&")):
        words = normalised(part)
        if not words:
            continue
        name = Path(words[0]).name
        if name == "cd":
            continue
        if name in ("python3", "python") and words[1:3] == ["-m", "venv"]:
            continue
        if name == "pip" or words[1:3] == ["-m", "pip"]:
            extras = re.findall(r"\.\[([\w,]+)\]", part)
            unknown = {e for group in extras for e in group.split(",")} - pyproject_extras()
            if unknown:
                return f"no extra {sorted(unknown)} in pyproject.toml"
            continue
        if name == "apt-get":  # only the Debian packages the project's tests ask for
            packages = [w for w in words[2:] if not w.startswith("-")]
            if words[1:2] != ["install"] or not set(packages) <= DEBIAN_PACKAGES:
                return f"apt-get installs only {sorted(DEBIAN_PACKAGES)} here"
            continue
        if name == "bpcheck":
            try:
                build_parser().parse_args(words[1:])
            except SystemExit as exc:
                return f"bpcheck rejects it (exit {exc.code})"
            continue
        if name == "pytest":
            plugin = (ROOT / "bpcheck" / "pytest_plugin.py").read_text()
            for option in (w.split("=")[0] for w in words if w.startswith("--bpcheck")):
                if f'"{option}"' not in plugin:
                    return f"the pytest plugin has no option {option}"
            continue
        if name in ("python", "python3") and words[1] == "-m":
            verdicts = modules if modules is not None else python_modules_problems([words[2:]])
            if " ".join(words[2:]) in verdicts:
                return verdicts[" ".join(words[2:])]
            continue
        return f"no rule knows how to check {name!r}: add one to tests/test_docs.py"
    return None


def test_every_command_shown_is_valid():
    commands = list(dict.fromkeys(shown_commands()))
    assert len(commands) > 20
    modules = python_modules_problems([
        words[2:] for _, command in commands for part in command.split("&&")
        if (words := normalised(part.strip()))[:2] in (["python", "-m"], ["python3", "-m"])
        and words[2] != "venv" and words[2] != "pip"])
    bad = [f"{where}: `{command}`: {why}" for where, command in commands
           if (why := problem(command, modules))]
    assert not bad, "\n".join(bad)


def test_a_broken_command_is_seen():
    assert "rejects" in problem("bpcheck check --no-such-option")
    assert "rejects" in problem("python -m benchmarks --no-such-option")
    assert "no such module" in problem("python -m benchmarks.nothing_here")
    assert "no extra" in problem('pip install -e ".[nosuchextra]"')
    assert "no option" in problem("pytest --bpcheck-nope x")


def test_setup_commands_are_the_readmes_and_ci_runs_the_test_command():
    readme = README.read_text()
    setup = [b.strip() for b in re.findall(r"```sh\n(.*?)```", readme, re.S)
             if b.startswith("python3 -m venv")]
    assert len(setup) == 2
    started = (DOCS / "getting-started.md").read_text()
    assert all(f"```sh\n{command}\n```" in started for command in setup)
    assert setup[1] in (ROOT / ".ci" / "run").read_text()


def test_every_recorded_run_is_a_known_command_and_the_readme_shows_one_verbatim():
    recorded = {path.stem: path.read_text() for path in RUNS.glob("*.txt")}
    assert set(recorded) == set(record_runs.RUNS)
    for name, text in recorded.items():
        assert text.startswith(f"$ {record_runs.RUNS[name][0]}\n"), name
        included = f'--8<-- "runs/{name}.txt"'
        assert any(included in page.read_text() for page in DOCS.rglob("*.md")), name
    block = re.search(r"```text\n(\$ bpcheck check examples/buggy_layers.py\n.*?)```",
                      README.read_text(), re.S)
    assert block and block.group(1) == recorded["check_buggy"]


def _statuses(table: str) -> dict[str, str]:
    rows = re.findall(r"^│ (\w+)\s+│ (\w+)\s+│", table, re.M)
    return {function: status.lower() for function, status in rows}


def test_the_recorded_check_still_tells_the_truth(tmp_path):
    """The buggy file checked again (fewer examples): the same verdict per function."""
    recorded = _statuses((RUNS / "check_buggy.txt").read_text())
    assert recorded["affine_backward"] == "failed" and recorded["relu_backward"] == "warning"
    out = tmp_path / "verdict.json"
    subprocess.run([sys.executable, "-m", "bpcheck.cli.main", "check",
                    "examples/buggy_layers.py", "--examples", "30", "--jobs", "1", "--json",
                    str(out)], cwd=ROOT, capture_output=True, timeout=600)
    functions = json.loads(out.read_text())["functions"]
    now = {name: row["status"] for name, row in functions.items() if row["status"] != "missing"}
    assert now == recorded


def test_generated_protocol_pages_cover_every_record_and_docstring():
    import inspect

    import manual
    import mkdocs_hooks
    from bpcheck.registry import REGISTRY

    families = mkdocs_hooks.families()
    assert sum(len(records) for _, _, records in families) == len(REGISTRY)
    text = "".join(mkdocs_hooks.family_page(name, doc, records, "")
                   for name, doc, records in families)
    for layer in REGISTRY:
        assert f"## {layer.name} {{#{layer.name}}}" in text
        for function in layer.functions:
            docstring = inspect.getdoc(getattr(manual, function))
            assert docstring.split("\n\n", 1)[-1].strip() in text, function


def test_docs_build_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="MkDocs is not installed: the README's test command "
                        "installs it (pip install -c requirements-lock.txt -e '.[test,docs]')")
    pytest.importorskip("material", reason="mkdocs-material is not installed (the docs extra)")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(site)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("index.html", "protocol/layers/index.html", "contributing/mistakes/index.html",
                 "checking/notebooks/index.html"):
        assert (site / page).exists(), page
    layers = (site / "protocol" / "layers" / "index.html").read_text()
    assert "db = dout.sum(axis=0)" in layers
    started = (site / "getting-started" / "index.html").read_text()
    assert "likely cause: db is N = 5 times too small" in started  # the recorded run, included


def test_readme_is_short_and_its_links_exist():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert len(links) > 15
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert not missing, missing


#: Every section the README had before it was cut to a page (issue 18), and its home in the docs:
#: (page, a phrase of that section found there).
FORMER_SECTIONS = {
    "Set-up": ("getting-started.md", "requirements-lock.txt` pins the exact versions"),
    "What `bpcheck check` prints": ("checking/cli.md", "One row per protocol function"),
    "Check your own layers.py": ("checking/cli.md", "loads your file (it may import NumPy"),
    "A layer that is not in the protocol": ("checking/own-layers.md", "bilinear_sample"),
    "Grading a class": ("grading/index.md", "values_first = true"),
    "Gradescope": ("grading/gradescope.md", "run_autograder"),
    "What a submission cannot do": ("grading/security.md", "Answers are data, never code"),
    "Whole models and matrix identities": ("checks/models.md", "deep_column_net_loss"),
    "The spiral demo": ("demo.md", "neural networks case study"),
    "Shape letters and conventions": ("protocol/index.md", "| N | batch size (rows) |"),
    "The layers and their derivations": ("protocol/index.md", "generated"),
    "What is checked (the battery)": ("checks/battery.md", "what it proves"),
    "Tolerances, and why": ("checks/tolerances.md", "Analytic against analytic"),
    "The float32 tier": ("checks/tolerances.md", "## The float32 tier"),
    "Precision, profiles and speed": ("checks/speed.md", "jax_enable_x64"),
    "Benchmarks": ("benchmarks.md", "## Detection power"),
    "Cost to a verdict": ("benchmarks.md", "## Cost to a verdict"),
    "Suite throughput": ("benchmarks.md", "## Suite throughput"),
    "The hand-written code's speed": ("benchmarks.md", "## The hand-written code's speed"),
    "Mutation testing": ("mutation.md", "python -m mutation run"),
    "Adding a layer": ("contributing/adding-a-layer.md", "Three edits"),
    "Layout": ("contributing/architecture.md", "## Layout"),
}


@pytest.mark.parametrize("section", FORMER_SECTIONS)
def test_every_former_readme_section_has_a_home(section):
    page, phrase = FORMER_SECTIONS[section]
    assert phrase in (DOCS / page).read_text()


def test_python_shown_parses_and_calls_bpcheck_as_it_is():
    """Each Python block of the docs and the README compiles, and every ``bpcheck.name(...)`` it
    calls exists with the keywords it passes."""
    import ast
    import inspect

    import bpcheck

    blocks = [(path, block) for path in pages()
              for block in re.findall(r"```python\n(.*?)```", path.read_text(), re.S)]
    assert len(blocks) >= 5
    bad = []
    for path, block in blocks:
        python = "\n".join("" if line.lstrip().startswith("%") else line  # IPython magics
                           for line in block.splitlines())
        tree = ast.parse(python, str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "bpcheck"):
                continue
            name = node.func.attr
            if name not in bpcheck.__all__:
                bad.append(f"{path.name}: bpcheck.{name} is not public")
                continue
            parameters = inspect.signature(getattr(bpcheck, name)).parameters
            takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
            bad += [f"{path.name}: bpcheck.{name}() takes no {k.arg}=" for k in node.keywords
                    if k.arg and k.arg not in parameters and not takes_any]
    assert not bad, bad


def test_every_file_of_the_checkout_the_docs_name_exists():
    """A path in backticks (`bpcheck/battery/checks.py`) names a file or folder of the checkout,
    except the user's files and a grading run's output the pages use as examples."""
    theirs = ("cs231n/", "OUT/", "path/to/", "submissions/", "graded/",
              "mutation/.work/")  # the mutation run's scratch folder (git-ignored)
    missing = []
    for path in pages():
        for span in set(re.findall(r"`([\w.-]+/[\w./-]*)`", path.read_text())):
            if not span.startswith(theirs) and not (ROOT / span).exists():
                missing.append(f"{path.relative_to(ROOT)}: {span}")
    assert not missing, missing
