"""Stand-ins for the modules a user's file imports but that are not available here.

Course files import what the course's machine had: ``torch`` at the top of a layers.py that never
uses it, ``past.builtins.xrange`` from the ``future`` package, a course helper module that was not
handed in. Without one, the whole file would be a single import error. With one, the file loads:
each missing module is a stand-in whose every use raises ``StandInUsed``, one sentence naming what
was used and where the file imported it, so the functions that never touch it are checked as
usual and those that do fail with that sentence.

What stands in is decided before the file runs, from its source (``scan``): every ``import`` of a
top-level module that cannot be found, except an import the file guards itself (inside ``try``
with an ``except ImportError`` or broader), whose fallback must run as written. The stand-ins sit
in ``sys.modules`` only while the file and its neighbours are imported (``standing_in``); an
import inside a function, at call time, finds the real state of things.

A few names have an exact Python 3 meaning and are given for real (``REAL``): ``xrange`` is
``range``; ``future.standard_library.install_aliases()`` does nothing on Python 3.

Standard library only: the grading sandbox's child loads this file by its path.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

#: Names of missing modules with an exact Python 3 meaning, given for real.
REAL: dict[str, dict[str, object]] = {
    "past.builtins": {"xrange": range},
    "future.standard_library": {"install_aliases": lambda: None},
}
#: The most files of a neighbour package scanned for imports.
NEIGHBOUR_FILES = 200
#: Exceptions whose handler around an import makes it a guarded one (the file's own fallback).
_GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


class Missing(NamedTuple):
    """A module the file imports (``module``, dotted as written) that is not available here, and
    the line of ``path`` that imports it. (A NamedTuple, not a dataclass: the sandbox's child
    loads this file by its path, under a name no ``sys.modules`` entry holds.)"""

    module: str
    line: int
    path: str

    @property
    def top(self) -> str:
        return self.module.partition(".")[0]

    def describe(self) -> str:
        real = REAL.get(self.module)
        given = f"; {', '.join(real)} given for real" if real else ""
        return f"{self.module} (line {self.line} of {Path(self.path).name}{given})"


class StandInUsed(ModuleNotFoundError):
    """A stand-in was used: what (``torch.tensor``), for which module, imported where."""

    bpcheck_stand_in = True  # recognised by name in the sandbox, where this class is loaded anew

    def __init__(self, what: str, missing: Missing):
        super().__init__(f"{what}, but {missing.top} is not available here (line "
                         f"{missing.line} of {Path(missing.path).name} imports it; bpcheck put a "
                         f"stand-in in its place so that the rest of the file could be checked)",
                         name=missing.top)
        self.what, self.missing = what, missing

    def __reduce__(self):
        return (StandInUsed, (self.what, self.missing))


class _Unusable:
    """The base a class gets for a stand-in base (``class Net(nn.Module)``): it cannot be made."""

    _bpcheck_missing: Missing | None = None

    def __init__(self, *args, **kwargs):
        raise StandInUsed(f"{type(self).__name__}() derives from a stand-in",
                          type(self)._bpcheck_missing)


def _refuse(self, *args, **kwargs):
    raise StandInUsed(object.__getattribute__(self, "_what"),
                      object.__getattribute__(self, "_missing"))


class StandIn:
    """Anything reached from a stand-in module (``torch.tensor``, ``nn.Module``): its attributes
    are stand-ins too; calling it, or using it as a number, an array or a container, raises
    StandInUsed. Nothing can be an instance of it (``isinstance(x, torch.Tensor)`` is False, as
    it is when torch is not installed)."""

    __slots__ = ("_what", "_missing")

    def __init__(self, what: str, missing: Missing):
        object.__setattr__(self, "_what", what)
        object.__setattr__(self, "_missing", missing)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return StandIn(f"{object.__getattribute__(self, '_what')}.{name}",
                       object.__getattribute__(self, "_missing"))

    def __repr__(self) -> str:
        return f"<stand-in for {object.__getattribute__(self, '_what')}>"

    def __mro_entries__(self, bases):
        missing = object.__getattribute__(self, "_missing")
        return (type("StandInBase", (_Unusable,), {"_bpcheck_missing": missing}),)

    def __instancecheck__(self, instance) -> bool:
        return False

    def __subclasscheck__(self, subclass) -> bool:
        return False

    __call__ = __getitem__ = __setitem__ = __delitem__ = __iter__ = __len__ = __contains__ = (
        _refuse)
    __bool__ = __int__ = __float__ = __index__ = __complex__ = __array__ = _refuse
    __enter__ = __exit__ = __setattr__ = __delattr__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __matmul__ = __rmatmul__ = (
        _refuse)
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _refuse
    __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = __invert__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = _refuse


class StandInModule(types.ModuleType):
    """A missing module: its attributes are stand-ins (its seeded submodules, and the ``REAL``
    names, are themselves); ``from it import *`` imports nothing."""

    def __init__(self, missing: Missing):
        super().__init__(missing.module, f"bpcheck's stand-in for {missing.module}, which is not "
                                         f"available here")
        self.__bpcheck_missing__ = missing
        self.__all__: list[str] = []
        self.__path__: list[str] = []

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return StandIn(f"{self.__name__}.{name}", self.__bpcheck_missing__)


# ---------------------------------------------------------------- deciding what stands in


def available(name: str) -> bool:
    """Whether top-level module ``name`` can be imported here (without importing it)."""
    if sys.modules.get(name) is not None:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _guarded(tree: ast.AST) -> set[int]:
    """The import nodes inside a ``try`` whose handlers catch an ImportError."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        catches = False
        for handler in node.handlers:
            kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            if any(k is None or (isinstance(k, ast.Name) and k.id in _GUARDS)
                   or (isinstance(k, ast.Attribute) and k.attr in _GUARDS) for k in kinds):
                catches = True
        if catches:
            for inner in node.body:
                guarded.update(id(n) for n in ast.walk(inner)
                               if isinstance(n, (ast.Import, ast.ImportFrom)))
    return guarded


def scan(path: Path, is_available: Callable[[str], bool] = available, *,
         neighbours: bool = True) -> list[Missing]:
    """The modules ``path`` imports that are not available here, in the order written. A module
    or package beside it is there (a neighbour), and what it imports is scanned the same way. A
    file that does not parse has none: importing it reports its syntax error."""
    found: list[Missing] = []
    seen: set[Path] = set()

    def visit(file: Path) -> None:
        if file in seen:
            return
        seen.add(file)
        try:
            tree = ast.parse(file.read_bytes(), str(file))
        except (SyntaxError, ValueError, OSError):
            return
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                         if f"{node.module}.{a.name}" in REAL]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top == "__future__":
                    continue
                # a neighbour of the file, or of the file scanned first (its folder is on
                # sys.path: ``from cs231n.layers import *`` deep inside the package cs231n)
                beside = [f.parent for f in (file, root) if (f.parent / f"{top}.py").is_file()
                          or (f.parent / top).is_dir()]
                module, package = (beside[0] / f"{top}.py", beside[0] / top) if beside else (
                    file.parent / f"{top}.py", file.parent / top)
                if module.is_file() or package.is_dir():  # a neighbour: it is there
                    for inner in ([module] if module.is_file() else
                                  sorted(package.rglob("*.py"))[:NEIGHBOUR_FILES]):
                        if neighbours:
                            visit(inner)
                elif not is_available(top) and all(m.module != name for m in found):
                    found.append(Missing(name, node.lineno, str(file)))

    root = Path(path)
    visit(root)
    return found


@contextmanager
def standing_in(missing: list[Missing]) -> Iterator[dict[str, StandInModule]]:
    """The stand-ins in ``sys.modules`` (each missing module and the packages above it), for the
    time the file is imported; only those put there are taken out again."""
    made: dict[str, StandInModule] = {}
    for entry in missing:
        parts = entry.module.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name not in made and name not in sys.modules:
                made[name] = StandInModule(Missing(name, entry.line, entry.path))
    for name, module in made.items():
        parent, _, child = name.rpartition(".")
        if parent in made:
            setattr(made[parent], child, module)
        for attribute, value in REAL.get(name, {}).items():
            setattr(module, attribute, value)
    sys.modules.update(made)
    try:
        yield made
    finally:
        for name, module in made.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
