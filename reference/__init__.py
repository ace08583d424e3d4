"""JAX reference models: forward values only, same arguments as ``manual``.

Every function returns only its output array (layers) or scalar loss
(losses). Nothing here is a derivative: gradients come from ``jax.vjp`` /
``jax.grad`` applied to these functions. All functions are pure (no state
updates) and jit-compatible once string arguments such as a batchnorm mode
are treated as static.

Each module lists its public functions in ``__all__``; the package exports all of them.
"""

import importlib as _importlib
import pkgutil as _pkgutil

# Every module here whose name does not start with "_" lists its public functions in __all__;
# they are all exported from the package, so a new module needs no edit of this file.
__all__ = []
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if not _info.name.startswith("_"):
        _module = _importlib.import_module(f"{__name__}.{_info.name}")
        for _name in _module.__all__:
            globals()[_name] = getattr(_module, _name)
        __all__ += _module.__all__
