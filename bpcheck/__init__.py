"""bpcheck: a JAX-verified reference test suite for hand-derived backpropagation.

Names load on first use, so that a process which never touches JAX does not pay for importing it.
Every module that uses JAX imports ``bpcheck.jaxsetup`` first, which puts JAX in float64 before
any JAX array exists.
"""

import importlib

__version__ = "0.1.0"

#: Public names and the module each one lives in (loaded on first use).
_PUBLIC = {
    "rebuild": "bpcheck.battery.example",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is not None:
        return getattr(importlib.import_module(module), name)
    try:
        return importlib.import_module(f"bpcheck.{name}")
    except ModuleNotFoundError as exc:
        raise AttributeError(f"module 'bpcheck' has no attribute {name!r}") from exc
