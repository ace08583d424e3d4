"""Drive the battery with hypothesis outside pytest, with statistics per check.

``bpcheck check`` and the tests of the checker itself use this; the pytest suite drives the same
battery through ``tests/test_properties.py``. Each drawn example goes through every check (drawing
is the expensive part of an example, so it is shared). When a check fails, hypothesis shrinks the
example; each check's failure kept is the latest one seen, which for the checks that fail on the
final, smallest example is that example.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import Phase, given, reporting, settings

from bpcheck.checks import Check, checks_for, run_battery
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

    @property
    def status(self) -> str:
        return "failed" if self.failure is not None else "passed"


def _is_check_failure(exc: BaseException) -> bool:
    if isinstance(exc, CheckFailed):
        return True
    inner = getattr(exc, "exceptions", ())
    return bool(inner) and all(_is_check_failure(e) for e in inner)


def run_checks(
    layer: Layer, impl: Implementation, checks: tuple[Check, ...] | None = None, *,
    max_examples: int | None = None, derandomize: bool | None = None, shrink: bool = True,
) -> list[CheckRun]:
    """Run the checks (default: all that apply) over up to ``max_examples`` examples.

    ``max_examples`` and ``derandomize`` default to the loaded hypothesis profile. With
    ``shrink=False`` the first failing example is kept as drawn (used where only detection
    matters).
    """
    checks = checks or checks_for(layer)
    runs = {
        c.name: CheckRun(layer.name, c.name,
                         layer.forward_name if c.judges == "forward" else layer.backward_name)
        for c in checks
    }
    overrides: dict = {"database": None}
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    if derandomize is not None:
        overrides["derandomize"] = derandomize
    if not shrink:
        overrides["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]

    @settings(settings(), **overrides)
    @given(example=examples(layer))
    def battery(example):
        findings = run_battery(layer, impl, example, checks)
        for finding in findings:
            run = runs[finding.check]
            if finding.status == "passed":
                run.passed += 1
                if finding.error is not None:
                    run.worst_error = max(run.worst_error, finding.error)
            elif finding.status == "skipped":
                run.skipped += 1
            else:
                run.failure = finding
        enforce(findings)

    with reporting.with_reporter(lambda *_: None):
        try:
            battery()
        except Exception as exc:  # hypothesis re-raises the smallest failing example's error
            if not _is_check_failure(exc):
                raise
    return list(runs.values())


def run_check(layer: Layer, impl: Implementation, check: Check, **options) -> CheckRun:
    """One check alone (see ``run_checks`` for the options)."""
    return run_checks(layer, impl, (check,), **options)[0]
