"""The catalogue of mistakes itself (``mistakes/``): every file follows the format its reader
documents, a malformed one is refused with a sentence naming the file and the fault, and a mistake's
functions load as a user's file would.
"""

from __future__ import annotations

import pytest

from mistakes import MISTAKES, CatalogueError, catalogue, named, read


def test_every_file_follows_the_format():
    mistakes = catalogue()
    assert len(mistakes) >= 40 and len({m.name for m in mistakes}) == len(mistakes)
    assert all(m.title and m.broken and m.diagnosis for m in mistakes)
    assert [m for m in mistakes if m.convention] == [named("relu_derivative_1_at_0")]


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

