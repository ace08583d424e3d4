"""What a check (or a layer's own property) can conclude about one example, besides passing.

A leaf: the checks of the battery raise these, and so do the properties that layer records carry
(which sit below the battery). ``Status`` is the outcome a finding reports.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """A finding's or a function's outcome. ``WARNING``: a difference that is a convention, not a
    mistake (the derivative chosen at a kink, keys added to a parameter dict); it fails nothing.
    ``MISSING`` and ``ERROR`` (defined but unusable) are a function's, never a finding's."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    WARNING = "warning"
    MISSING = "missing"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


class Fail(Exception):
    """Wrong on this example. ``function`` overrides the function judged; ``diagnosis`` is the
    most likely cause, when the evidence is clear."""

    def __init__(self, message: str, error: float | None = None, function: str | None = None,
                 diagnosis: str | None = None):
        super().__init__(message)
        self.error, self.function, self.diagnosis = error, function, diagnosis


class Warn(Exception):
    """A difference that is a convention, not a mistake. ``function`` as for ``Fail``."""

    def __init__(self, message: str, error: float | None = None, function: str | None = None):
        super().__init__(message)
        self.error, self.function = error, function


class Skip(Exception):
    """This example cannot be judged by this check (every entry on a kink; no backward in test
    mode)."""
