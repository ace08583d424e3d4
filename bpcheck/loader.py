"""Load a user's layers.py: its protocol functions in place of manual's, and any layers it adds.

This is the one loader for user code (``bpcheck check FILE``, ``pytest --bpcheck-impl FILE``). Every way a
file can be broken — missing, not Python, a syntax error, a missing import, an exception or
``sys.exit`` at import, a function with the wrong number of arguments — becomes a ``LoadError``
or a per-function problem with one sentence naming the file, the line and the cause.

A file may also bring a layer that is not in the protocol: next to ``<name>_forward`` and
``<name>_backward`` (or a ``<name>_loss``) it defines the JAX twin ``<name>_reference`` (same
arguments as the forward) and, when the layer takes more than one array, ``<name>_sample(dims,
values)`` returning the forward's arguments; ``<name>_domain`` (a dict of Layer fields:
differentiable, batched, kinks, magnitudes, writes, outputs, dims, names, backward_in, observed,
properties, tolerance) says the rest. See README, "Check your own
layers.py".
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import bpcheck.jaxsetup  # noqa: F401  (float64 before the user's twin creates any JAX array)
from bpcheck import legacy, package, standins
from bpcheck.implementation import Implementation, interrupts, real_interrupt, text_of
from bpcheck.layer import Layer, RegistryError
from bpcheck.registry import REGISTRY
from bpcheck.sampling import Dims, Values
from bpcheck.standins import Missing

REFERENCE_SUFFIX = "_reference"
DOMAIN_FIELDS = ("differentiable", "batched", "kinks", "magnitudes", "writes", "outputs",
                 "dims", "names", "backward_in", "observed", "properties", "tolerance")


class LoadError(Exception):
    """The file cannot be loaded at all. ``usage`` marks a bad path (exit status 2)."""

    def __init__(self, message: str, *, usage: bool = False):
        super().__init__(message)
        self.usage = usage

    def __reduce__(self):  # a worker process sends it back with its flag
        return (_load_error, (str(self), self.usage))


def _load_error(message: str, usage: bool) -> LoadError:
    return LoadError(message, usage=usage)


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    impl: Implementation
    layers: tuple[Layer, ...]  # the protocol's layers, then the file's own
    problems: dict[str, str] = field(default_factory=dict)  # function name -> why it can't run
    #: Modules the file imports that are not available here, loaded as stand-ins (``standins``).
    stand_ins: tuple[Missing, ...] = ()
    #: The NumPy aliases restored for it (``load(numpy_aliases=True)``; see ``legacy``).
    numpy_aliases: tuple[str, ...] = ()


def _line_of(exc: BaseException, path: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return f", line {frames[-1].lineno}" if frames else ""


def _import(path: Path) -> tuple[ModuleType, tuple[Missing, ...]]:
    """The file as a module, with stand-ins for the modules it imports that are not available
    here; a LoadError with one sentence (the line, the cause and, for code from an older course
    year, the fix) when it cannot be imported."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"bpcheck_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"{path} cannot be imported as a Python module", usage=True)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # the file may import its neighbours
    missing = tuple(standins.scan(path))
    sys.modules[name] = module
    since = interrupts()
    try:
        with standins.standing_in(list(missing)):
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        where = f"{exc.filename or path}, line {exc.lineno}"
        fix = legacy.explain_syntax(exc.msg or "")
        raise LoadError(f"{where}: syntax error: {exc.msg}" + (f" — {fix}" if fix else "")
                        ) from None
    except standins.StandInUsed as exc:
        raise LoadError(f"{path}{_line_of(exc, path)}: uses {text_of(exc)} while being "
                        f"imported") from None
    except ModuleNotFoundError as exc:
        raise LoadError(f"{path}{_line_of(exc, path)}: imports {exc.name!r}, which is not "
                        f"installed here") from None
    except SystemExit as exc:
        raise LoadError(f"{path}{_line_of(exc, path)}: calls sys.exit({exc.code!r}) while "
                        f"being imported") from None
    except BaseException as exc:  # KeyboardInterrupt, GeneratorExit, a course's own, too
        if real_interrupt(exc, since):
            raise KeyboardInterrupt from None
        message = f"{type(exc).__name__}: {text_of(exc)}"
        fix = legacy.explain(message)
        raise LoadError(f"{path}{_line_of(exc, path)}: raised {message} while being imported"
                        + (f" — {fix}" if fix else "")) from None
    return module, missing


def one_array_sample(dims: Dims, values: Values) -> tuple[Any, ...]:
    """The default sampler of a one-argument layer: x of shape (N, *trailing), as for an
    activation."""
    return (values.real((dims.n, *dims.trailing)),)


def _own_layers(module: ModuleType, path: Path) -> list[Layer]:
    known = {layer.name for layer in REGISTRY}
    layers = []
    for attribute in sorted(vars(module)):
        if not attribute.endswith(REFERENCE_SUFFIX) or attribute.startswith("_"):
            continue
        name = attribute[: -len(REFERENCE_SUFFIX)]
        if name in known:
            continue  # a protocol layer's twin is bpcheck's own
        reference = getattr(module, attribute)
        sample = getattr(module, f"{name}_sample", None)
        domain = getattr(module, f"{name}_domain", {}) or {}
        if not isinstance(domain, dict) or set(domain) - set(DOMAIN_FIELDS):
            raise LoadError(f"{path}: {name}_domain must be a dict with keys among "
                              f"{', '.join(DOMAIN_FIELDS)}")
        if sample is None:
            required = [p for p in inspect.signature(reference).parameters.values()
                        if p.default is p.empty]
            if len(required) != 1:
                raise LoadError(
                    f"{path}: {attribute} takes {len(required)} arguments; define "
                    f"{name}_sample(dims, values) returning them (see README)")
            sample = one_array_sample
        try:
            layers.append(Layer(name, reference, sample, **domain))
        except (RegistryError, TypeError) as exc:
            raise LoadError(f"{path}: layer {name!r}: {exc}") from None
    return layers


def _arity_problem(function: Callable[..., Any], name: str, argument_names: tuple[str, ...]) -> str | None:
    try:
        inspect.signature(function).bind(*argument_names)
    except TypeError:
        return (f"{name}{inspect.signature(function)} cannot be called as "
                f"{name}({', '.join(argument_names)}) as the protocol does")
    except ValueError:  # no signature (a builtin): let the call itself tell
        return None
    return None


def protocol_problems(impl: Implementation, layers: tuple[Layer, ...]) -> dict[str, str]:
    """Functions present but unusable: wrong arity, or a backward without its forward."""
    problems = {}
    for layer in layers:
        calls = {layer.forward_name: layer.arg_names}
        if not layer.is_loss:
            calls[layer.backward_name] = (*layer.dout_names, "cache")
        for name, argument_names in calls.items():
            function = impl.functions.get(name)
            if function is not None:
                problem = _arity_problem(function, name, argument_names)
                if problem:
                    problems[name] = problem
        if (not layer.is_loss and layer.backward_name in impl.functions
                and layer.forward_name not in impl.functions):
            problems.setdefault(layer.backward_name,
                                f"{layer.backward_name} cannot be checked without "
                                f"{layer.forward_name}, which makes its cache")
    return problems


def load(path: str | Path, *, numpy_aliases: bool = False) -> LoadedFile:
    """Load a user's file; raise LoadError with one clear sentence if it cannot be.

    ``numpy_aliases``: give NumPy back the aliases 1.24 removed (``np.int`` …) first, for a
    course whose files still use them (``legacy.restore_numpy_aliases``)."""
    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path}: no such file", usage=True)
    if package.holds_package(path):  # the course's package, as a folder or its zip
        try:
            staged = package.stage(path, REGISTRY)
        except package.PackageError as exc:
            raise LoadError(str(exc), usage=True) from None
        return load(staged / package.ENTRY, numpy_aliases=numpy_aliases)
    if not path.is_file():
        raise LoadError(f"{path} is not a file", usage=True)
    if path.suffix != ".py":
        raise LoadError(f"{path} is not a Python file (.py)", usage=True)
    path = path.resolve()
    restored = legacy.restore_numpy_aliases() if numpy_aliases else ()
    module, missing = _import(path)
    impl = Implementation.from_module(module, label=str(path))
    # a name imported from a stand-in is not defined here (the report lists the stand-ins)
    impl = Implementation(impl.label, {n: f for n, f in impl.functions.items()
                                       if not isinstance(f, standins.StandIn)})
    layers = (*REGISTRY, *_own_layers(module, path))
    problems = protocol_problems(impl, layers)
    # a course package's modules that could not be imported (``bpcheck.package``)
    problems.update({name: str(why) for name, why in getattr(module, "BPCHECK_PROBLEMS", {}).items()
                     if isinstance(name, str) and name in impl.functions})
    return LoadedFile(path, impl, layers, problems, missing, restored)
