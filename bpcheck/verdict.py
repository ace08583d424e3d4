"""From check runs to a verdict per protocol function: the rows of ``bpcheck check``'s table and
its JSON. Pure data; printing is the CLI's job."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpcheck.runner import CheckRun

#: Checks whose error column is "vs JAX" and "vs finite differences".
JAX_CHECKS = ("forward", "vjp")
FD_CHECKS = ("finite_differences",)


@dataclass
class FunctionVerdict:
    function: str
    layer: str
    runs: list[CheckRun] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckRun]:
        return [r for r in self.runs if r.failure is not None]

    @property
    def status(self) -> str:
        return "failed" if self.failures else "passed"

    def _worst(self, checks: tuple[str, ...]) -> float | None:
        errors = [r.worst_error for r in self.runs if r.check in checks and r.passed]
        return max(errors) if errors else None

    @property
    def worst_vs_jax(self) -> float | None:
        return self._worst(JAX_CHECKS)

    @property
    def worst_vs_fd(self) -> float | None:
        return self._worst(FD_CHECKS)

    @property
    def examples(self) -> int:
        """Examples checked: summed over this function's checks (passed and failed ones)."""
        return sum(r.passed + (r.failure is not None) for r in self.runs)

    @property
    def message(self) -> str:
        return "\n".join(r.failure.report() for r in self.failures)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "message": self.message,
            "layer": self.layer,
            "worst_error_vs_jax": self.worst_vs_jax,
            "worst_error_vs_finite_differences": self.worst_vs_fd,
            "examples": self.examples,
            "checks": {r.check: {"status": r.status, "passed": r.passed, "skipped": r.skipped,
                                 "worst_error": r.worst_error} for r in self.runs},
        }
        failures = []
        for run in self.failures:
            finding, example = run.failure, run.failure.example
            failures.append({
                "check": finding.check, "title": finding.title, "message": finding.message,
                "example": example.shapes() if example else None,
                "seed": example.draw.seed if example else None,
                "reproduce": example.reproduce() if example else None,
            })
        if failures:
            data["failures"] = failures
        return data


def verdicts(runs: list[CheckRun]) -> list[FunctionVerdict]:
    """Group check runs by the function each one judged (a failure may name another function)."""
    table: dict[str, FunctionVerdict] = {}
    for run in runs:
        function = run.failure.function if run.failure is not None else run.function
        table.setdefault(function, FunctionVerdict(function, run.layer)).runs.append(run)
    return list(table.values())


def write_json(path: Path, rows: list[FunctionVerdict], extra: dict[str, Any]) -> None:
    document = {"functions": {row.function: row.as_json() for row in rows}, **extra}
    path.write_text(json.dumps(document, indent=2, default=float) + "\n")
