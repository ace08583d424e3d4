"""The catalogue of classic hand-derivation mistakes: one plug-in file each in ``mistakes/``.

It is the only list of mistakes in the project. ``tests/test_checker.py`` runs each one through
the checks it names, ``tests/test_diagnose.py`` takes its broken functions from here by name,
``benchmarks/`` runs bpcheck and its peers on every file, and ``examples/buggy_layers.py`` copies
three of them verbatim (``tests/test_catalogue.py`` keeps the copies equal).

The format
----------
Each file is a cs231n-API ``layers.py``: NumPy only (it never imports ``manual``, ``reference``
or ``bpcheck``), so that it loads as a user's file, in the grading sandbox and in the peers'
benchmark (or, for a model, the course's class or classifier function by its registry name:
``TwoLayerNet``, ``svm_loss_vectorized``). It defines every function of one registry layer — a backward needs its own forward's
cache — with one mistake in some of them. Its module docstring's first line names the mistake;
the rest says where it shows (shapes, magnitudes, batch size). Module-level constants, read here
from the file's syntax tree without running it, say what the mistake is and how it must be caught:

* ``LAYER`` (str): the registry layer (``"affine"``, ``"softmax_loss"`` …).
* ``BROKEN`` (tuple of str): the functions that carry the mistake. bpcheck must blame these and
  no other function (a function that fails only because a broken forward raised is not blamed).
* ``CATCHES`` (tuple of str): the checks of the battery that must flag it, among ``forward``,
  ``vjp``, ``finite_differences``, ``shapes``, ``no_mutation``, ``linearity``, ``batch``,
  ``properties``. Each one, run alone over a few derandomized examples, must fail on a ``BROKEN``
  function (``tests/test_checker.py``). Choose them by reasoning (which comparison can this
  mistake not pass?), then confirm with a run. A lower bound, not an exact list: when the mistake
  makes the code raise, every check that calls it fails too, and those may be left out. Every
  check listed must apply to the layer (no ``linearity`` for a loss).
* ``DIAGNOSIS`` (str, or a tuple of alternatives): a phrase bpcheck's message must contain
  (case-insensitive) — its diagnosis when it has one for the mistake, else the check's own
  wording (``"dx differs from jax.vjp"``).
* ``WARNS`` (tuple of str, optional, default ``()``): for a *convention* rather than a mistake — a
  valid choice where the course leaves one, that differs from JAX's (relu'(0) = 1). The checks
  listed must warn, never fail; ``CATCHES`` is then ``()``, and ``DIAGNOSIS`` is a phrase of the
  warning. A peer that flags a convention raises a false alarm (``benchmarks/detection.py``).

Example (``mistakes/affine_db_mean.py``)::

    \"\"\"db as a mean over the batch: dout.mean(axis=0) where the sum is due (an extra 1/N).\"\"\"

    LAYER = "affine"
    BROKEN = ("affine_backward",)
    CATCHES = ("vjp", "finite_differences", "batch")
    DIAGNOSIS = "mean over the batch"

    def affine_forward(x, w, b): ...
    def affine_backward(dout, cache): ...

A malformed file — a missing or mistyped constant, an unknown layer or check, a check that does not
apply to the layer, a ``BROKEN`` function that is not the layer's or not defined in the file, an
import other than NumPy — is a ``CatalogueError`` naming the file and the fault, raised when the
catalogue is read.

Adding a mistake: write its file, then ``pytest -n 0 tests/test_checker.py tests/test_benchmarks.py
tests/test_sandbox_parity.py -k <its name>`` (each check of CATCHES alone, in-process and through
the sandbox; the whole default verdict, with DIAGNOSIS and no other function blamed).

Reading the catalogue imports bpcheck's registry (to validate ``LAYER``) but never runs a file;
``Mistake.functions()`` loads one through ``bpcheck.loader.load``, as ``bpcheck check`` would.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

MISTAKES = Path(__file__).resolve().parent

#: What a mistake file may import: it stands alone, as a student's file does.
ALLOWED_IMPORTS = ("numpy",)

#: The constants a file must define, and the optional ones with their defaults.
REQUIRED = ("LAYER", "BROKEN", "CATCHES", "DIAGNOSIS")
OPTIONAL = {"WARNS": ()}


class CatalogueError(ValueError):
    """A mistake file does not follow the catalogue's format (see the module docstring)."""


@dataclass(frozen=True)
class Mistake:
    path: Path
    title: str  # the docstring's first line
    layer: str  # LAYER
    broken: tuple[str, ...]  # BROKEN
    catches: tuple[str, ...]  # CATCHES: the checks that must fail on a broken function
    diagnosis: tuple[str, ...]  # DIAGNOSIS: any one of these phrases, case-insensitive
    warns: tuple[str, ...] = ()  # WARNS: the checks that must warn (a convention)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def convention(self) -> bool:
        """A valid choice that differs from JAX's: warned about, never failed."""
        return not self.catches

    def diagnosed(self, message: str) -> bool:
        """Whether bpcheck's message names this mistake."""
        return any(phrase.lower() in message.lower() for phrase in self.diagnosis)

    def functions(self) -> dict[str, Callable[..., Any]]:
        """The file's functions of its layer (forward and backward, or the loss), loaded through
        ``bpcheck.loader.load``: plant them with ``impl.replace(**mistake.functions())``."""
        return dict(_load(self.path, self.layer))


@lru_cache(maxsize=None)
def _load(path: Path, layer_name: str) -> tuple[tuple[str, Callable[..., Any]], ...]:
    from bpcheck.loader import load
    from bpcheck.registry import layer_named

    loaded = load(path)
    if loaded.problems:
        raise CatalogueError(f"{path}: {'; '.join(loaded.problems.values())}")
    return tuple((name, loaded.impl.functions[name]) for name in layer_named(layer_name).functions)


def _constants(tree: ast.Module, path: Path) -> dict[str, Any]:
    constants = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()):
            name = node.targets[0].id
            try:
                constants[name] = ast.literal_eval(node.value)
            except ValueError:
                raise CatalogueError(f"{path}, line {node.lineno}: {name} must be a literal "
                                     f"(a string or a tuple of strings)") from None
    return constants


def _names(value: Any, constant: str, path: Path, *, empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, list):
        value = tuple(value)
    if (not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value)
            or (not value and not empty) or len(set(value)) != len(value)):
        allowed = "" if not empty else " (or ())"
        raise CatalogueError(f"{path}: {constant} must be a tuple of distinct names{allowed}, "
                             f"not {value!r}")
    return value


def read(path: Path) -> Mistake:
    """One mistake file, validated (see the module docstring); never executed."""
    from bpcheck.battery.checks import BATTERY, checks_for
    from bpcheck.layer import RegistryError
    from bpcheck.registry import layer_named

    path = Path(path)
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as exc:
        raise CatalogueError(f"{path}, line {exc.lineno}: syntax error: {exc.msg}") from None
    docstring = ast.get_docstring(tree)
    if not docstring:
        raise CatalogueError(f"{path}: no module docstring; its first line names the mistake")
    for node in ast.walk(tree):
        modules = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                   [node.module or "."] if isinstance(node, ast.ImportFrom) else [])
        foreign = [m for m in modules if m.split(".")[0] not in ALLOWED_IMPORTS]
        if foreign:
            raise CatalogueError(f"{path}, line {node.lineno}: imports {foreign[0]}; a mistake "
                                 f"file imports NumPy only (it must load as a student's file "
                                 f"does, in the sandbox too)")
    constants = _constants(tree, path)
    missing = [name for name in REQUIRED if name not in constants]
    if missing:
        raise CatalogueError(f"{path}: {', '.join(missing)} not defined (a mistake file defines "
                             f"{', '.join(REQUIRED)}; see mistakes/__init__.py)")
    constants = {**OPTIONAL, **constants}

    if not isinstance(constants["LAYER"], str):
        raise CatalogueError(f"{path}: LAYER must be a layer's name, not {constants['LAYER']!r}")
    try:
        layer = layer_named(constants["LAYER"])
    except RegistryError as exc:
        raise CatalogueError(f"{path}: LAYER: {exc}") from None

    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    undefined = [name for name in layer.functions if name not in defined]
    if undefined:
        raise CatalogueError(f"{path}: layer {layer.name!r} needs {', '.join(layer.functions)}; "
                             f"the file does not define {', '.join(undefined)}")
    broken = _names(constants["BROKEN"], "BROKEN", path)
    foreign = [name for name in broken if name not in layer.functions]
    if foreign:
        raise CatalogueError(f"{path}: BROKEN names {', '.join(foreign)}, not a function of "
                             f"layer {layer.name!r} ({', '.join(layer.functions)})")

    known = [check.name for check in BATTERY]
    applicable = [check.name for check in checks_for(layer)]
    catches = _names(constants["CATCHES"], "CATCHES", path, empty=True)
    warns = _names(constants["WARNS"], "WARNS", path, empty=True)
    for constant, checks in (("CATCHES", catches), ("WARNS", warns)):
        for check in checks:
            if check not in known:
                raise CatalogueError(f"{path}: {constant} names {check!r}, which is not a check "
                                     f"of the battery ({', '.join(known)})")
            if check not in applicable:
                raise CatalogueError(f"{path}: {constant} names {check!r}, which does not apply "
                                     f"to layer {layer.name!r} ({', '.join(applicable)} do)")
    if bool(catches) == bool(warns):
        raise CatalogueError(f"{path}: exactly one of CATCHES (the checks that must fail on a "
                             f"mistake) and WARNS (the checks that must warn on a convention) "
                             f"names checks")

    diagnosis = constants["DIAGNOSIS"]
    diagnosis = (diagnosis,) if isinstance(diagnosis, str) else diagnosis
    diagnosis = _names(diagnosis, "DIAGNOSIS", path)
    return Mistake(path, docstring.splitlines()[0], layer.name, broken, catches, diagnosis, warns)


def catalogue(folder: Path = MISTAKES) -> list[Mistake]:
    """Every mistake file, validated, ordered by layer then name."""
    mistakes = [read(path) for path in sorted(Path(folder).glob("*.py"))
                if not path.name.startswith("_")]
    return sorted(mistakes, key=lambda m: (m.layer, m.name))


def named(name: str, folder: Path = MISTAKES) -> Mistake:
    """One mistake by its file's stem (``"affine_db_mean"``)."""
    path = Path(folder) / f"{name}.py"
    if not path.is_file():
        known = ", ".join(m.name for m in catalogue(folder))
        raise CatalogueError(f"no mistake named {name!r} in {folder}; known: {known}")
    return read(path)
