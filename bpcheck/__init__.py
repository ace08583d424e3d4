"""bpcheck: a JAX-verified reference test suite for hand-derived backpropagation.

Submodules load on first use (``bpcheck.strategies.rebuild(...)`` works after ``import bpcheck``),
so that a process which never touches JAX does not pay for importing it. Every module that uses JAX
imports ``bpcheck.jaxsetup`` first, which puts JAX in float64 before any JAX array exists.
"""

import importlib

__version__ = "0.1.0"


def __getattr__(name: str):
    try:
        return importlib.import_module(f"bpcheck.{name}")
    except ModuleNotFoundError as exc:
        raise AttributeError(f"module 'bpcheck' has no attribute {name!r}") from exc
