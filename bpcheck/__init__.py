"""bpcheck: a JAX-verified reference test suite for hand-derived backpropagation.

``bpcheck.check(path_or_module)`` returns a ``Verdict``; ``bpcheck.assert_passes(...)`` raises
AssertionError with its report; ``bpcheck.check_pair(forward, backward, reference=twin)`` checks
one pair defined anywhere (see ``bpcheck.api``).

Names load on first use, so that a process which never touches JAX does not pay for importing it.
Every module that uses JAX imports ``bpcheck.jaxsetup`` first, which puts JAX in float64 before
any JAX array exists.
"""

import importlib

__version__ = "0.1.0"

#: Public names and the module each one lives in (loaded on first use).
_PUBLIC = {
    "check": "bpcheck.api",
    "check_pair": "bpcheck.api",
    "assert_passes": "bpcheck.api",
    "LoadError": "bpcheck.loader",
    "Verdict": "bpcheck.battery.verdict",
    "FunctionVerdict": "bpcheck.battery.verdict",
    "Status": "bpcheck.outcomes",
    "Layer": "bpcheck.layer",
    "Property": "bpcheck.layer",
    "Fail": "bpcheck.outcomes",
    "Warn": "bpcheck.outcomes",
    "Dims": "bpcheck.sampling",
    "Sizes": "bpcheck.sampling",
    "sizes": "bpcheck.sampling",
    "Draw": "bpcheck.sampling",
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
