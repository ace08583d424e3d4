"""Hand-derived NumPy forward/backward passes (cs231n layer API).

Protocol:
  * Layers come in pairs ``<name>_forward(...) -> (out, cache)`` and
    ``<name>_backward(dout, cache) -> grads``; grads follow the forward's
    argument order (a single array when the forward takes one array).
  * Caches are ``typing.NamedTuple`` instances with named fields.
  * Losses are single functions ``<name>_loss(x, target) -> (loss, dx)``.
  * Inputs are never modified, except that ``batchnorm_forward`` in train
    mode stores new running statistics in its ``bn_param`` dict.

Only NumPy is used here.

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
