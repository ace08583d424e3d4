"""Code from older course years, named for what it is.

Course files written for NumPy before 1.24 use the aliases it removed (``np.int``, ``np.float`` …);
files from the Python 2 years compute shapes with ``/`` (a float where an integer is due), use
``xrange`` or print statements. Each error they cause gets one sentence naming the cause and the
fix (``explain``, ``explain_syntax``). Nothing here changes what the code computes, except
``restore_numpy_aliases``, which a user asks for explicitly (``bpcheck check --numpy-aliases``) and
which gives each removed alias exactly the builtin it was (NumPy < 1.24).

Standard library only: the reasons are read from an error's message, so that an error reported by
the grading sandbox (a string) is explained the same way.
"""

from __future__ import annotations

import re

#: The aliases NumPy 1.24 removed, and the builtin each one was.
NUMPY_ALIASES: dict[str, type] = {
    "int": int, "float": float, "bool": bool, "object": object, "str": str, "long": int,
    "unicode": str, "complex": complex,
}
#: The option that restores them, as each front end spells it.
OPTION = "--numpy-aliases"

_NUMPY_ALIAS = re.compile(r"module 'numpy' has no attribute '(\w+)'")
_FLOAT_AS_INT = re.compile(r"'(?:float|numpy\.float\d*)' object cannot be interpreted as an "
                           r"integer|expected a sequence of integers or a single integer, got "
                           r"'(?:np\.float\d*\()?[-+]?\d*\.\d*")
_FLOAT_INDEX = ("only integers, slices", "slice indices must be integers",
                "list indices must be integers or slices, not float",
                "tuple indices must be integers or slices, not float")
_PYTHON2_NAMES = {
    "xrange": "xrange is Python 2's range: use range",
    "unicode": "unicode is Python 2's str: use str",
    "basestring": "basestring is Python 2's: use str",
    "long": "long is Python 2's int: use int",
    "raw_input": "raw_input is Python 2's input: use input",
    "reduce": "reduce is no longer a builtin in Python 3: from functools import reduce",
    "izip": "izip is Python 2's zip: use zip",
}
_UNDEFINED = re.compile(r"name '(\w+)' is not defined")
_DICT_ITER = re.compile(r"'dict' object has no attribute '(iteritems|iterkeys|itervalues|has_key)'")
_DICT_FIX = {"iteritems": "items()", "iterkeys": "keys()", "itervalues": "values()",
             "has_key": "`key in d`"}


def explain(message: str) -> str | None:
    """The cause and the fix, when an error's message is that of code from an older course year
    (an older NumPy, Python 2); None otherwise."""
    alias = _NUMPY_ALIAS.search(message)
    if alias and alias.group(1) in NUMPY_ALIASES:
        name = alias.group(1)
        return (f"np.{name} was removed in NumPy 1.24: use {NUMPY_ALIASES[name].__name__} (or "
                f"`bpcheck check {OPTION}` for a course that still uses them)")
    if _FLOAT_AS_INT.search(message):
        return "a float used as a shape or a count: integer division `//` in Python 3?"
    if any(text in message for text in _FLOAT_INDEX):
        return "a float used as an index: integer division `//` in Python 3?"
    undefined = _UNDEFINED.search(message)
    if undefined and undefined.group(1) in _PYTHON2_NAMES:
        return _PYTHON2_NAMES[undefined.group(1)]
    method = _DICT_ITER.search(message)
    if method:
        return f"dict.{method.group(1)} is Python 2: use {_DICT_FIX[method.group(1)]}"
    return None


def explain_syntax(message: str) -> str | None:
    """The cause and the fix for a syntax error that is Python 2 syntax; None otherwise."""
    if message.startswith("Missing parentheses in call to 'print'"):
        return "a Python 2 print statement: write print(...)"
    if message.startswith("Missing parentheses in call to 'exec'"):
        return "a Python 2 exec statement: write exec(...)"
    if "multiple exception types must be parenthesized" in message:
        return "Python 2's `except E, e:`: write `except E as e:`"
    if "leading zeros in decimal integer literals" in message:
        return "a Python 2 octal literal: write 0o17 for 017"
    return None


def restore_numpy_aliases() -> tuple[str, ...]:
    """Give NumPy back the aliases 1.24 removed, each the builtin it was; the names restored
    (those NumPy lacks: NumPy 2 has ``np.bool`` and ``np.long`` of its own, which stay)."""
    import numpy

    restored = []
    for name, builtin in NUMPY_ALIASES.items():
        if name not in vars(numpy) and not _has(numpy, name):
            setattr(numpy, name, builtin)
            restored.append(name)
        elif vars(numpy).get(name) is builtin:
            restored.append(name)  # restored before, in this process
    return tuple(restored)


def _has(module, name: str) -> bool:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # np.object and np.str warn before they fail
        try:
            getattr(module, name)
        except AttributeError:
            return False
    return True
