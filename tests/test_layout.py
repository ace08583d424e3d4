"""The project's structural promises: who imports what, what is exported, records are validated."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import manual
from bpcheck.layer import KnownMistake, Layer, RegistryError
from bpcheck.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
STDLIB_OK = {"__future__", "typing", "functools", "math", "dataclasses", "collections", "warnings",
             "importlib", "pkgutil"}


def _imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(path.name, alias.name.split(".")[0]) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found.append((path.name, "." if node.level else node.module.split(".")[0]))
    return found


def test_manual_imports_numpy_only():
    bad = [(f, m) for f, m in _imports("manual") if m not in {"numpy", ".", "manual"} | STDLIB_OK]
    assert not bad, f"manual/ must import NumPy only; found {bad}"


def test_importing_manual_loads_no_jax():
    code = "import sys, manual; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    code += "{'jax', 'jaxlib', 'bpcheck', 'reference'}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_reference_never_imports_manual_nor_defines_derivatives():
    modules = {m for _, m in _imports("reference")}
    assert "manual" not in modules and "numpy" not in modules, modules
    source = " ".join(p.read_text() for p in (ROOT / "reference").glob("*.py"))
    for rule in ("custom_jvp", "custom_vjp", "defjvp", "defvjp"):
        assert rule not in source, f"reference/ must not define derivatives ({rule})"


@pytest.mark.parametrize("layer", REGISTRY, ids=lambda layer: layer.name)
def test_manual_exports_every_protocol_function(layer):
    for name in layer.functions:
        assert callable(getattr(manual, name, None)), f"manual.{name} is missing"
        assert name in manual.__all__


def _sample(dims, values):
    return (values.real((dims.n, dims.d)),)


@pytest.mark.parametrize("fields, problem", [
    (dict(name="not a name"), "identifier"),
    (dict(differentiable=(1,)), "differentiable"),
    (dict(differentiable=()), "at least one"),
    (dict(batched=(0, 0)), "batched"),
    (dict(magnitudes=(0.0,)), "magnitudes"),
])
def test_malformed_records_are_rejected(fields, problem):
    record = dict(name="scaled", reference=lambda x: 2.0 * x, sample=_sample) | fields
    with pytest.raises(RegistryError, match=problem):
        Layer(**record)


@pytest.mark.parametrize("mistakes, problem", [
    ([KnownMistake("twice", twin=lambda x: 4.0 * x)], "tuple"),
    (("a string",), "KnownMistake records"),
    ((KnownMistake(" ", twin=lambda x: 4.0 * x),), "needs a diagnosis"),
    ((KnownMistake("neither"),), "exactly one of twin and shapes"),
    ((KnownMistake("both", twin=lambda x: x, shapes=lambda x: {}),), "exactly one"),
    ((KnownMistake("other arguments", twin=lambda y, z: y),), "the twin's arguments"),
    ((KnownMistake("not callable", shapes={"dx": (1,)}),), "shapes must be a function"),
    ((KnownMistake("not random", twin=lambda x: x, reads=lambda *a: None),), "random layer"),
])
def test_malformed_known_mistakes_are_rejected(mistakes, problem):
    with pytest.raises(RegistryError, match=problem):
        Layer("scaled", lambda x: 2.0 * x, _sample, mistakes=mistakes)


def test_a_known_mistake_takes_the_twins_arguments():
    layer = Layer("scaled", lambda x: 2.0 * x, _sample,
                  mistakes=(KnownMistake("twice as large", twin=lambda x: 4.0 * x),))
    assert layer.with_twin(layer.mistakes[0].twin).mistakes == ()


def test_a_loss_may_have_several_gradients():
    record = Layer("pair_loss", lambda x, w, y: (x * w).sum(), _sample, differentiable=(0, 1))
    assert record.grad_names == ("dx", "dw") and record.functions == ("pair_loss",)


def test_record_names_protocol_functions():
    affine = next(layer for layer in REGISTRY if layer.name == "affine")
    assert affine.functions == ("affine_forward", "affine_backward")
    assert affine.grad_names == ("dx", "dw", "db")
    loss = next(layer for layer in REGISTRY if layer.name == "softmax_loss")
    assert loss.functions == ("softmax_loss",) and loss.grad_names == ("dx",)


def test_engine_runs_jax_in_float64():
    code = ("import bpcheck.registry, reference, jax.numpy as jnp; "
            "print(jnp.asarray(1.0).dtype, reference.softmax(jnp.ones(3)).dtype)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["float64", "float64"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:]]
    test_command = next(b for b in blocks if b.endswith("pytest"))
    assert test_command in (ROOT / ".ci" / "run").read_text()


# ---------------------------------------------------------------- the layers of bpcheck/

#: bpcheck's layers, lowest first: a module imports from its own layer or below, never above.
LAYERS = (
    ("leaves", ("jaxsetup", "programs", "profiles", "tolerances", "tiers", "finite_diff", "kinks",
                "outcomes", "standins", "legacy", "modelcall", "floating_point", "workers")),
    ("sampling", ("sampling",)),
    ("record", ("layer",)),
    ("sides", ("autodiff", "implementation")),
    ("registry", ("registry",)),
    ("loader", ("loader", "package")),
    ("battery", ("battery",)),
    ("grading", ("grading",)),
    ("surface", ("api", "pytest_plugin", "__init__")),
    ("cli", ("cli",)),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _bpcheck_graph() -> dict[str, set[str]]:
    """Each bpcheck module -> the bpcheck modules it imports (anywhere in it, TYPE_CHECKING and
    function-level imports included)."""
    modules = {_module_name(p): p for p in (ROOT / "bpcheck").rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                subs = [f"{base}.{alias.name}" for alias in node.names]
                # ``from package import submodule`` depends on the submodule, not on the package
                targets = [s for s in subs if s in modules] or [base]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target != "bpcheck":
                    edges.add(target)
        graph[name] = edges
    return graph


def _layer_of(module: str) -> int:
    short = module.split(".")[1] if "." in module else "__init__"
    for rank, (_, members) in enumerate(LAYERS):
        if short in members:
            return rank
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {__file__}")


def test_bpcheck_imports_only_downwards():
    graph = _bpcheck_graph()
    upward = sorted(f"{a} ({LAYERS[_layer_of(a)][0]}) imports {b} ({LAYERS[_layer_of(b)][0]})"
                    for a, targets in graph.items() for b in targets
                    if _layer_of(b) > _layer_of(a))
    assert not upward, "imports pointing up a layer:\n" + "\n".join(upward)


def test_bpcheck_import_graph_is_acyclic():
    graph = _bpcheck_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(module, path):
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
