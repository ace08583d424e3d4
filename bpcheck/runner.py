"""Drive the battery with hypothesis outside pytest: one check over one layer, with statistics.

``bpcheck check`` and the tests of the checker itself use this; the pytest suite drives the same
checks through ``tests/test_properties.py``. A failure is shrunk by hypothesis, and the finding
kept is the one from the final, smallest example.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import Phase, given, reporting, settings

from bpcheck.checks import Check
from bpcheck.findings import CheckFailed, Finding, enforce
from bpcheck.implementation import Implementation
from bpcheck.layer import Layer
from bpcheck.strategies import examples


@dataclass
class CheckRun:
    layer: str
    check: str
    function: str
    passed: int = 0
    skipped: int = 0
    worst_error: float = 0.0
    failure: Finding | None = None
    errors: list[float] = field(default_factory=list, repr=False)

    @property
    def status(self) -> str:
        return "failed" if self.failure is not None else "passed"


def _first_check_failure(exc: BaseException) -> CheckFailed | None:
    if isinstance(exc, CheckFailed):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = _first_check_failure(inner)
        if found is not None:
            return found
    return None


def run_check(
    layer: Layer, impl: Implementation, check: Check, *, max_examples: int | None = None,
    derandomize: bool | None = None, database: bool = False, shrink: bool = True,
) -> CheckRun:
    """Run one check over up to ``max_examples`` drawn examples (default: the loaded profile).

    With ``shrink=False`` the first failing example is kept as drawn (faster; used where only
    detection matters).
    """
    function = layer.forward_name if check.judges == "forward" else layer.backward_name
    run = CheckRun(layer.name, check.name, function)
    overrides = {"database": None} if not database else {}
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    if derandomize is not None:
        overrides["derandomize"] = derandomize
    if not shrink:
        overrides["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]

    @settings(settings(), **overrides)
    @given(example=examples(layer))
    def property_(example):
        finding = check(layer, impl, example)
        if finding.status == "passed":
            run.passed += 1
            if finding.error is not None:
                run.worst_error = max(run.worst_error, finding.error)
        elif finding.status == "skipped":
            run.skipped += 1
        enforce(finding)

    with reporting.with_reporter(lambda *_: None):
        try:
            property_()
        except Exception as exc:  # hypothesis re-raises the smallest failing example's error
            failed = _first_check_failure(exc)
            if failed is None:
                raise
            run.failure = failed.finding
    return run
