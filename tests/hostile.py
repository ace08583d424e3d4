"""What a student's protocol function can return or raise besides the right answer: hostile
behaviours, drawn by hypothesis (tests/test_hostile.py) and written out as source (the same
behaviours through ``bpcheck check --jobs N``, ``pytest --impl`` and ``bpcheck grade``).

A ``Behaviour`` wraps a correct function (manual/'s): on the calls it is due (every call, every
third, only the first), it raises an exception or returns a hostile value in place of the whole
answer, of one element of it, or of its tuple structure. ``must_fail`` says whether a correct
battery has to fail the layer for it (a list of the right numbers, say, need not).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

# ---------------------------------------------------------------- hostile objects


class Unprintable(Exception):
    """An exception whose message cannot be formatted."""

    def __str__(self) -> str:
        raise RuntimeError("no message for you")


class NeedsTwoArguments(Exception):
    """An exception that does not survive pickle (its __init__ needs two arguments)."""

    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")


class CourseAbort(BaseException):
    """A custom BaseException subclass, as a course helper might define."""


class Evil:
    """Every dunder bpcheck might call on a returned value raises ``exception``."""

    def __init__(self, exception: BaseException):
        self.exception = exception

    def _raise(self, *_, **__):
        raise self.exception

    __len__ = __iter__ = __getitem__ = __array__ = __float__ = __int__ = _raise
    __eq__ = __ne__ = __bool__ = __deepcopy__ = __copy__ = __reduce_ex__ = __index__ = _raise
    __lt__ = __gt__ = __mul__ = __rmul__ = __add__ = __radd__ = __hash__ = _raise

    def __repr__(self) -> str:
        return "Evil()"


class EvilArray(np.ndarray):
    """An ndarray subclass whose comparisons, copies and reductions raise."""

    def __array_finalize__(self, obj):
        if getattr(obj, "_armed", False):
            raise SystemExit("EvilArray copied")

    def __eq__(self, other):
        raise KeyboardInterrupt

    __ne__ = __eq__

    def __deepcopy__(self, memo):
        raise GeneratorExit


def _evil_array(value: np.ndarray) -> EvilArray:
    array = np.asarray(value, dtype=np.float64).copy().view(EvilArray)
    array._armed = True
    return array


class EvilTuple(tuple):
    """A tuple whose length is a lie and whose items raise."""

    def __len__(self):
        raise SystemExit(3)

    def __getitem__(self, index):
        raise KeyboardInterrupt


def _recursive_list() -> list:
    items: list = [1.0]
    items.append(items)
    return items


def _recurse(depth: int = 0) -> int:
    return _recurse(depth + 1) + 1


def _array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


#: name -> (value from the correct one, must it fail)
VALUES: dict[str, tuple[Callable[[Any], Any], bool]] = {
    "None": (lambda v: None, True),
    "a 0-d array": (lambda v: np.array(1.5), True),
    "its squeeze": (lambda v: np.squeeze(v), False),  # fails only where an axis has length 1
    "a Python float": (lambda v: 1.5, True),
    "an int": (lambda v: 3, True),
    "a bool": (lambda v: True, True),
    "a complex number": (lambda v: 1 + 2j, True),
    "a string": (lambda v: "out", True),
    "its entries as a list": (lambda v: _array(v).tolist(), False),
    "a ragged list": (lambda v: [[1.0], [1.0, 2.0]], True),
    "a recursive list": (lambda v: _recursive_list(), True),
    "an int array": (lambda v: np.ones(np.shape(v), dtype=np.int64), True),
    "a bool array": (lambda v: np.ones(np.shape(v), dtype=bool), True),
    "a complex array": (lambda v: _array(v).astype(complex), True),
    "a complex array with imaginary parts": (lambda v: _array(v) + 1j, True),
    "a float16 array": (lambda v: _array(v).astype(np.float16), True),
    "a float32 array": (lambda v: _array(v).astype(np.float32), False),
    "an object array": (lambda v: _array(v).astype(object), True),
    "a structured array": (lambda v: np.zeros(np.shape(v), dtype=[("a", "f8"), ("b", "f8")]),
                           True),
    "np.matrix": (lambda v: np.asmatrix(v), False),  # (raises itself for more than 2-D)
    "a masked array": (lambda v: np.ma.masked_array(_array(v), mask=True), False),
    "an EvilArray": (_evil_array, False),
    "a generator": (lambda v: (x for x in np.ravel(v)), True),
    "a dict": (lambda v: {"out": v}, True),
    "a set": (lambda v: {1.0, 2.0}, True),
    "an Evil object raising KeyboardInterrupt": (lambda v: Evil(KeyboardInterrupt()), True),
    "an Evil object raising SystemExit": (lambda v: Evil(SystemExit(2)), True),
    "an Evil object raising a custom BaseException": (lambda v: Evil(CourseAbort("stop")), True),
    "an EvilTuple": (lambda v: EvilTuple((v,)), False),  # its real items: (v,)
    "a huge broadcast view": (lambda v: np.broadcast_to(np.float64(0.5), (100_000, 100_000)), True),
    "an empty array": (lambda v: np.empty((0,)), True),
    "NaN everywhere": (lambda v: np.full(np.shape(v), np.nan), True),
    "inf everywhere": (lambda v: np.full(np.shape(v), np.inf), True),
    "the transpose": (lambda v: _array(v).T, False),  # 1-D or square: unchanged
    "a number as a 0-d object array": (lambda v: np.array(None, dtype=object), True),
}

#: name -> (a fresh exception, or a function that raises when called)
EXCEPTIONS: dict[str, Callable[[], BaseException | None]] = {
    "ValueError": lambda: ValueError("not yet"),
    "an exception with an unprintable message": lambda: Unprintable(),
    "an exception with a very long message": lambda: RuntimeError("x" * 100_000 + "\nsecond line"),
    "an exception that does not pickle": lambda: NeedsTwoArguments(1, 2),
    "SystemExit(0)": lambda: SystemExit(0),
    "SystemExit('bye')": lambda: SystemExit("bye"),
    "KeyboardInterrupt": lambda: KeyboardInterrupt(),
    "GeneratorExit": lambda: GeneratorExit(),
    "a custom BaseException": lambda: CourseAbort("the course says stop"),
    "MemoryError": lambda: MemoryError(),
    "StopIteration": lambda: StopIteration(),
    "ModuleNotFoundError": lambda: ModuleNotFoundError("No module named 'torch'", name="torch"),
    "RecursionError (real recursion)": lambda: None,  # recursion happens in the function
}

#: how often the behaviour is due: every call, every third call, the first call only
TIMINGS: dict[str, Callable[[int], bool]] = {
    "always": lambda k: True,
    "every third call": lambda k: k % 3 == 0,
    "on the first call only": lambda k: k == 1,
}


# ---------------------------------------------------------------- placing a value


def _place(result: Any, where: str, value_of: Callable[[Any], Any]) -> Any:
    """The correct result with a hostile value placed ``where``."""
    parts = result if isinstance(result, tuple) else (result,)
    if where == "whole":
        return value_of(parts[0])
    if where.startswith("item "):
        k = int(where.split()[1]) % len(parts)
        items = list(parts)
        items[k] = value_of(items[k])
        return tuple(items) if isinstance(result, tuple) else items[0]
    if where == "one item more":
        return (*parts, value_of(parts[0]))
    if where == "one item fewer":
        return parts[:-1]
    if where == "nested one level deeper":
        return (parts,)
    if where == "an empty tuple":
        return ()
    if where == "a list":
        return list(parts)
    raise ValueError(where)


PLACES = ("whole", "item 0", "item 1", "item 2", "one item more", "one item fewer",
          "nested one level deeper", "an empty tuple", "a list")
#: places whose result breaks the protocol whatever value goes there (a list passes)
BREAKING_PLACES = {"one item more", "one item fewer", "nested one level deeper", "an empty tuple"}


@dataclass(frozen=True)
class Behaviour:
    """One hostile way for a function to answer; ``wrap(correct)`` is the function that does it."""

    what: str
    timing: str
    raises: str | None = None
    value: str | None = None
    place: str = "whole"
    #: the shape of the answer changes from call to call
    varying_shape: bool = False

    @property
    def must_fail(self) -> bool:
        """A correct battery must fail the layer (when the behaviour is due on every call)."""
        if self.timing != "always":
            return False
        if self.raises is not None or self.varying_shape or self.place in BREAKING_PLACES:
            return True
        if self.place == "a list":
            return False
        return VALUES[self.value][1]

    def wrap(self, correct: Callable[..., Any]) -> Callable[..., Any]:
        """The hostile function; its ``calls`` attribute counts the calls made to it."""
        counter = itertools.count(1)
        due = TIMINGS[self.timing]

        def hostile(*args):
            k = next(counter)
            hostile.calls = k
            if not due(k):
                return correct(*args)
            if self.raises is not None:
                exception = EXCEPTIONS[self.raises]()
                if exception is None:
                    return _recurse()
                raise exception
            result = correct(*args)
            if self.varying_shape:
                return _place(result, "item 0" if isinstance(result, tuple) else "whole",
                              lambda v: np.zeros((k % 4 + 1,) * max(np.ndim(v), 1)))
            return _place(result, self.place, VALUES[self.value][0])

        hostile.__name__ = correct.__name__
        hostile.calls = 0
        return hostile


def behaviours() -> st.SearchStrategy[Behaviour]:
    """Any hostile behaviour: an exception, a value in a place, or a shape that varies."""
    timing = st.sampled_from(list(TIMINGS))
    raising = st.builds(lambda e, t: Behaviour(f"raises {e}, {t}", t, raises=e),
                        st.sampled_from(list(EXCEPTIONS)), timing)
    returning = st.builds(lambda v, p, t: Behaviour(f"returns {v} as {p}, {t}", t, value=v,
                                                    place=p),
                          st.sampled_from(list(VALUES)), st.sampled_from(PLACES), timing)
    varying = st.builds(lambda t: Behaviour(f"returns a shape that varies per call, {t}", t,
                                            varying_shape=True), timing)
    return st.one_of(raising, returning, varying)
