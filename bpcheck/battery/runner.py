"""Drive the battery with hypothesis outside pytest, with statistics per check.

``bpcheck check`` and the tests of the checker itself use this; the pytest suite drives the same
battery through ``tests/test_properties.py``. Each drawn example goes through every check (drawing
is the expensive part of an example, so it is shared). When a check fails, hypothesis shrinks the
example; each check's failure kept is the latest one seen, which for the checks that fail on the
final, smallest example is that example.

After a failure the runner looks for a pattern across examples (only at batch size 1, only at
large magnitudes; see ``diagnose.failure_pattern``), from what it saw and from a few probes of the
failing example, and appends it to the failure's message. Warnings (a convention at a kink) are
counted and the latest kept; they fail nothing.

``tier`` chooses the precision tier the examples are drawn in (``bpcheck.tiers``); the checks
that do not run in it (finite differences in the float32 tier) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import Phase, given, reporting, seed, settings

from bpcheck.battery.checks import Check, checks_for, run_battery
from bpcheck.battery.trial import Trial
from bpcheck.outcomes import Status
from bpcheck.battery.diagnose import (
    Seen, batch_size, diagnosis_elsewhere, failure_pattern, floating_point_error,
)
from bpcheck.battery.findings import CheckFailed, Finding, enforce
from bpcheck.implementation import Implementation
from bpcheck.layer import Layer
from bpcheck.sampling import Draw
from bpcheck.battery.example import build_example, examples
from bpcheck.battery.checks import checks_in_tier


@dataclass
class CheckRun:
    layer: str
    check: str
    function: str
    passed: int = 0
    skipped: int = 0
    worst_error: float = 0.0
    failure: Finding | None = None
    warnings: int = 0  # examples with a warning (e.g. a different derivative at a kink)
    warning: Finding | None = None  # the latest one
    pattern: str | None = None  # a pattern across examples behind the failure, if clear
    tier: str = "float64"  # the precision tier its examples were drawn in

    @property
    def status(self) -> Status:
        if self.failure is not None:
            return Status.FAILED
        return Status.WARNING if self.warnings else Status.PASSED


def _is_check_failure(exc: BaseException) -> bool:
    if isinstance(exc, CheckFailed):
        return True
    inner = getattr(exc, "exceptions", ())
    return bool(inner) and all(_is_check_failure(e) for e in inner)


def run_checks(
    layer: Layer, impl: Implementation, checks: tuple[Check, ...] | None = None, *,
    max_examples: int | None = None, derandomize: bool | None = None, shrink: bool = True,
    random_seed: int | None = None, tier: str = "float64",
) -> list[CheckRun]:
    """Run the checks (default: all that apply) over up to ``max_examples`` examples.

    ``max_examples`` and ``derandomize`` default to the loaded hypothesis profile. With
    ``shrink=False`` the first failing example is kept as drawn (used where only detection
    matters). ``random_seed`` fixes hypothesis's randomness (grading: the same verdict on a
    regrade). ``tier``: the precision tier (``bpcheck.tiers``).
    """
    checks = checks_in_tier(checks or checks_for(layer), tier)
    if not checks:  # e.g. finite differences alone, in the float32 tier
        return []
    runs = {
        c.name: CheckRun(layer.name, c.name,
                         c.function(layer),
                         tier=tier)
        for c in checks
    }
    overrides: dict = {"database": None}
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    if derandomize is not None:
        overrides["derandomize"] = derandomize
    if random_seed is not None:
        overrides["derandomize"] = False
    # No "explain" phase: it replays the smallest failing example hundreds of times to annotate
    # it, and nothing here reads the annotation (seconds per failing function).
    overrides["phases"] = [Phase.explicit, Phase.reuse, Phase.generate] + [Phase.shrink] * shrink

    seen: dict[str, list[Seen]] = {c.name: [] for c in checks}

    @settings(settings(), **overrides)
    @given(example=examples(layer, tier))
    def battery(example):
        findings = run_battery(layer, impl, example, checks)
        n = batch_size(layer, example.args)
        for finding in findings:
            _record(runs[finding.check], finding)
            seen[finding.check].append(Seen(n, example.draw.scale, finding.failed))
        enforce(findings)

    if random_seed is not None:
        battery = seed(random_seed)(battery)
    with reporting.with_reporter(lambda *_: None):
        try:
            battery()
        except Exception as exc:  # hypothesis re-raises the smallest failing example's error
            if not _is_check_failure(exc):
                raise
    for check in checks:
        _add_pattern(runs[check.name], layer, impl, check, seen[check.name])
    return list(runs.values())


def _record(run: CheckRun, finding: Finding) -> None:
    """Count one example's finding into its check's run."""
    if finding.status == Status.PASSED:
        run.passed += 1
        if finding.error is not None:
            run.worst_error = max(run.worst_error, finding.error)
    elif finding.status == Status.SKIPPED:
        run.skipped += 1
    elif finding.status == Status.WARNING:
        run.warnings += 1
        run.warning = finding
    else:
        run.failure = finding


def _add_pattern(run: CheckRun, layer: Layer, impl: Implementation, check: Check,
                 seen: list[Seen]) -> None:
    """Look for a pattern behind a failure (probing the failing example) and report it."""
    failure = run.failure
    if failure is None or failure.example is None:
        return

    def probe(draw: Draw) -> Finding:
        return check(Trial(layer, impl, build_example(layer, draw)))

    def judge(draw: Draw) -> str:
        return probe(draw).status

    run.pattern = failure_pattern(layer, failure.example, seen, judge)
    if floating_point_error(failure.diagnosis):
        elsewhere = diagnosis_elsewhere(failure.example.draw, probe)
        run.pattern = "; ".join(p for p in (run.pattern, elsewhere) if p) or None
    if run.pattern is not None:
        run.failure = replace(failure, message=f"{failure.message} — {run.pattern}")


def run_check(layer: Layer, impl: Implementation, check: Check, **options) -> CheckRun:
    """One check alone (see ``run_checks`` for the options)."""
    return run_checks(layer, impl, (check,), **options)[0]
