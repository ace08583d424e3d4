"""The catalogue of mistakes itself (``mistakes/``): every file follows the format its reader
documents, a malformed one is refused with a sentence naming the file and the fault, a mistake's
functions load as a user's file would, and the example's mistakes are catalogue entries, verbatim.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bpcheck.registry import REGISTRY, layer_named
from mistakes import MISTAKES, CatalogueError, catalogue, named, read

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "buggy_layers.py"


def test_every_file_follows_the_format():
    mistakes = catalogue()
    assert len(mistakes) >= 40 and len({m.name for m in mistakes}) == len(mistakes)
    assert all(m.title and m.broken and m.diagnosis for m in mistakes)
    assert [m for m in mistakes if m.convention] == [
        named("relu_derivative_1_at_0"), named("softmax_vectorized_reg_unhalved"),
        named("temporal_softmax_loss_log_of_zero")]


def test_a_mistakes_functions_load_as_a_users_file():
    functions = named("affine_db_mean").functions()
    assert list(functions) == ["affine_forward", "affine_backward"]
    assert all(f.__module__.startswith("bpcheck_user_affine_db_mean") for f in functions.values())


def test_an_unknown_name_is_a_clear_error():
    with pytest.raises(CatalogueError, match="no mistake named 'affine_db_sum'.*affine_db_mean"):
        named("affine_db_sum")


VALID = (MISTAKES / "mse_loss_missing_2.py").read_text()

MALFORMED = {
    "unknown layer": (('LAYER = "mse_loss"', 'LAYER = "mse"'), "LAYER: no layer named 'mse'"),
    "unknown check": (('CATCHES = ("vjp", "finite_differences")', 'CATCHES = ("vjp", "grad")'),
                      "CATCHES names 'grad', which is not a check of the battery"),
    "check not for this layer": (('CATCHES = ("vjp", "finite_differences")',
                                  'CATCHES = ("vjp", "linearity")'),
                                 "'linearity', which does not apply to layer 'mse_loss'"),
    "broken function of another layer": (('BROKEN = ("mse_loss",)', 'BROKEN = ("relu_backward",)'),
                                         "BROKEN names relu_backward, not a function of layer"),
    "layer function not defined": (("def mse_loss(x, y):", "def mse(x, y):"),
                                   "the file does not define mse_loss"),
    "missing constant": (('CATCHES = ("vjp", "finite_differences")\n', ""),
                         "CATCHES not defined"),
    "no check at all": (('CATCHES = ("vjp", "finite_differences")', "CATCHES = ()"),
                        "exactly one of CATCHES .* and WARNS"),
    "a bare string for a tuple": (('BROKEN = ("mse_loss",)', 'BROKEN = "mse_loss"'),
                                  "BROKEN must be a tuple of distinct names"),
    "not a literal": (('DIAGNOSIS = "missing factor 2"', 'DIAGNOSIS = str(2)'),
                      "DIAGNOSIS must be a literal"),
    "no docstring": ((VALID[:VALID.index("LAYER")], "import numpy as np\n\n"),
                     "no module docstring"),
    "imports manual": (("\n\nLAYER", "\nimport manual\n\nLAYER"),
                       "line 5: imports manual; a mistake file imports NumPy only"),
}


@pytest.mark.parametrize("fault", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_file_is_refused_with_its_fault(fault, tmp_path):
    (old, new), message = MALFORMED[fault]
    assert old in VALID
    path = tmp_path / "mse_loss_faulty.py"
    path.write_text(VALID.replace(old, new))
    with pytest.raises(CatalogueError, match=message) as refused:
        read(path)
    assert str(refused.value).startswith(str(path))
    with pytest.raises(CatalogueError):
        catalogue(tmp_path)


def _functions(path: Path) -> dict[str, str]:
    """Each top-level function's source, comments included."""
    source = path.read_text()
    return {node.name: ast.get_source_segment(source, node)
            for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}


def test_the_examples_mistakes_are_catalogue_entries_verbatim():
    """examples/buggy_layers.py stays a plain user's file (it reads well, runs anywhere, and its
    traceback lines point into itself); each protocol layer in it is a copy of the catalogue entry
    its docstring names, function by function."""
    example = _functions(EXAMPLE)
    layers = [layer for layer in REGISTRY if set(layer.functions) <= set(example)]
    docstring = ast.get_docstring(ast.parse(EXAMPLE.read_text()))
    entries = [named(name) for name in re.findall(r"mistakes/(\w+)\.py", docstring)]
    assert sorted(m.layer for m in entries) == sorted(layer.name for layer in layers)
    assert not any(name in example for layer in REGISTRY for name in layer.functions
                   if layer not in layers)  # no half-defined protocol layer
    for mistake in entries:
        entry = _functions(mistake.path)
        for name in layer_named(mistake.layer).functions:
            assert example[name] == entry[name], f"{name} differs from {mistake.path.name}"
