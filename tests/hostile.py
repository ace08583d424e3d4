"""What a student's protocol function can return or raise besides the right answer: hostile
behaviours, drawn by hypothesis (tests/test_hostile.py) and written out as source (the same
behaviours through ``bpcheck check --jobs N``, ``pytest --impl`` and ``bpcheck grade``).

A ``Behaviour`` wraps a correct function (manual/'s): on the calls it is due (every call, every
third, only the first), it raises an exception or returns a hostile value in place of the whole
answer, of one element of it, or of its tuple structure. ``must_fail`` says whether a correct
battery has to fail the layer for it (a list of the right numbers, say, need not). The hostile
objects and the wrapper live in tests/fixtures/hostile/runtime.py (NumPy only): a sandboxed
submission imports it from beside it (``Behaviour.source``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import strategies as st

from fixtures.hostile.runtime import BREAKING_PLACES, EXCEPTIONS, PLACES, TIMINGS, VALUES, make

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

    def arguments(self) -> dict[str, Any]:
        return {"timing": self.timing, "raises": self.raises, "value": self.value,
                "place": self.place, "varying_shape": self.varying_shape}

    def wrap(self, correct: Callable[..., Any]) -> Callable[..., Any]:
        """The hostile function; its ``calls`` attribute counts the calls made to it."""
        return make(correct, **self.arguments())

    def source(self, function: str) -> str:
        """A layers.py whose ``function`` behaves so, the others being its folder's copy of
        manual/ (``mylayers/``) and the runtime beside it (``hostile_runtime.py``)."""
        return ("import mylayers\nfrom mylayers import *\nimport hostile_runtime\n\n"
                f"{function} = hostile_runtime.make(mylayers.{function}, "
                + ", ".join(f"{k}={v!r}" for k, v in self.arguments().items()) + ")\n")


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
