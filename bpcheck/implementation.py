"""The implementation under test, and the one way the battery calls into it.

An ``Implementation`` is a mapping from protocol names (``affine_forward``, ``softmax_loss`` …) to
functions: ``manual/`` by default, a user's file later. Every call goes through ``call``, which turns
an exception or a return value that breaks the protocol into an ``ImplementationError`` whose
message names the function and, for an exception, the line that raised it.
"""

from __future__ import annotations

import copy
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

if TYPE_CHECKING:
    from bpcheck.layer import Layer

_ENGINE_DIR = Path(__file__).resolve().parent


class ImplementationError(Exception):
    """The implementation raised, is missing a function, or returned something off-protocol."""


@dataclass(frozen=True, repr=False)
class Implementation:
    label: str
    functions: Mapping[str, Callable[..., Any]]
    #: Set when each call crosses into another process (a sandbox): ``paired(forward, backward,
    #: args, dout)`` runs the forward and then the backward on its cache in one round trip,
    #: returning (the forward's result, the backward's result or the ImplementationError it
    #: raised), or None to go one call at a time.
    paired: Callable[..., Any] | None = None

    @property
    def remote(self) -> bool:
        """Calls are round trips: checks that only need the true function's values (finite
        differences once the forward is shown right) take the JAX twin's."""
        return self.paired is not None

    def __repr__(self) -> str:
        return f"Implementation({self.label!r}, {len(self.functions)} functions)"

    @classmethod
    def from_module(cls, module: ModuleType, label: str | None = None) -> Implementation:
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        functions = {n: getattr(module, n) for n in names if callable(getattr(module, n, None))}
        return cls(label or module.__name__, functions)

    def defines(self, layer: Layer) -> bool:
        return all(name in self.functions for name in layer.functions)

    def replace(self, **functions: Callable[..., Any]) -> Implementation:
        """A copy with some functions swapped (used to plant bugs in tests)."""
        return Implementation(f"{self.label} (modified)", {**self.functions, **functions})


_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), np.generic)


def fresh(value: Any) -> Any:
    """A deep copy, so that no call can disturb the arguments another call sees.

    Arrays, tuples (named ones too), lists and dicts are copied structurally, which is ~10× faster
    than ``copy.deepcopy``; anything else falls back to it.
    """
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value) is tuple:
        return tuple(fresh(v) for v in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(fresh(v) for v in value))
    if type(value) is list:
        return [fresh(v) for v in value]
    if type(value) is dict:
        return {k: fresh(v) for k, v in value.items()}
    return copy.deepcopy(value)


def call(impl: Implementation, name: str, *args: Any) -> Any:
    function = impl.functions.get(name)
    if function is None:
        raise ImplementationError(f"{name} is not defined")
    try:
        # Overflow, division by zero, invalid values: an unstable formula is reported as an error
        # of the function, with its line — the same under pytest (filterwarnings) and the CLI.
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            return function(*args)
    except ImplementationError:  # already says which function and why (e.g. from the sandbox)
        raise
    except Exception as exc:  # the implementation's own error, reported as such
        raise ImplementationError(f"{name} raised {type(exc).__name__}: {exc}{_where(exc)}") from exc


def _where(exc: BaseException) -> str:
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if _ENGINE_DIR not in Path(f.filename).resolve().parents
    ]
    if not frames:
        return ""
    last = frames[-1]
    code = f": {last.line.strip()}" if last.line else ""
    return f" (at {last.filename}:{last.lineno}{code})"


def as_array(value: Any, what: str) -> np.ndarray:
    """A returned value as a float64 array, or a clear error saying what is wrong with it."""
    if value is None:
        raise ImplementationError(f"{what} is None (not implemented?)")
    if isinstance(value, np.ndarray) and value.dtype == object:
        raise ImplementationError(f"{what} is an object array, not numbers")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ImplementationError(f"{what} is {type(value).__name__}, not an array: {exc}") from exc
    return array


def _pair(result: Any, name: str, first: str, second: str) -> tuple[Any, Any]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = f"a {type(result).__name__} of length {len(result)}" if isinstance(
            result, (tuple, list)) else type(result).__name__
        raise ImplementationError(f"{name} must return ({first}, {second}), got {got}")
    return result[0], result[1]


def forward(layer: Layer, impl: Implementation, args: tuple[Any, ...]) -> tuple[np.ndarray, Any]:
    """``(out, cache)`` from ``<name>_forward``; for a loss, ``(loss, dx)`` from the loss."""
    name = layer.forward_name
    out, second = _pair(call(impl, name, *fresh(args)), name, *(
        ("loss", ", ".join(layer.grad_names)) if layer.is_loss else ("out", "cache")))
    return as_array(out, f"{name}'s {'loss' if layer.is_loss else 'out'}"), second


def grads_of(layer: Layer, result: Any) -> tuple[np.ndarray, ...]:
    """A backward's return value as a tuple of float64 arrays, one per differentiable argument."""
    names = layer.grad_names
    if len(names) == 1 and not isinstance(result, (tuple, list)):
        result = (result,)
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise ImplementationError(
            f"{layer.backward_name} must return {', '.join(names)}"
            f" ({len(names)} value{'s' * (len(names) > 1)}), got {_summary(result)}"
        )
    return tuple(as_array(g, f"{layer.backward_name}'s {n}") for g, n in zip(result, names))


def _summary(result: Any) -> str:
    if isinstance(result, (tuple, list)):
        return f"a {type(result).__name__} of {len(result)}"
    return type(result).__name__


def backward(layer: Layer, impl: Implementation, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    return grads_of(layer, call(impl, layer.backward_name, dout, cache))


def evaluate(
    layer: Layer, impl: Implementation, args: tuple[Any, ...], dout: np.ndarray | None
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The implementation's output and gradients for one example (forward then backward)."""
    if impl.paired is not None and not layer.is_loss:
        answer = impl.paired(layer.forward_name, layer.backward_name, fresh(args), fresh(dout))
        if answer is not None:
            raw_forward, raw_backward = answer
            out, _ = _pair(raw_forward, layer.forward_name, "out", "cache")
            out = as_array(out, f"{layer.forward_name}'s out")
            if isinstance(raw_backward, ImplementationError):
                raise raw_backward
            return out, grads_of(layer, raw_backward)
    out, second = forward(layer, impl, args)
    if layer.is_loss:
        return out, grads_of(layer, second)
    return out, backward(layer, impl, fresh(dout), second)
