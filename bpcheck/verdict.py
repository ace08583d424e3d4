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
    #: Set for a function that was not run: "missing" (not defined) or "error" (unusable).
    fixed_status: str | None = None
    note: str = ""

    @property
    def failures(self) -> list[CheckRun]:
        return [r for r in self.runs if r.failure is not None]

    @property
    def warnings(self) -> list[CheckRun]:
        return [r for r in self.runs if r.warning is not None and r.failure is None]

    @property
    def status(self) -> str:
        if self.fixed_status:
            return self.fixed_status
        if self.failures:
            return "failed"
        return "warning" if self.warnings else "passed"

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
        """Examples checked: summed over this function's checks (passed, warned, failed)."""
        return sum(r.passed + r.warnings + (r.failure is not None) for r in self.runs)

    @property
    def message(self) -> str:
        """Each failed (then warned) check on one line, then the examples they failed on."""
        if self.note:
            return self.note
        findings = [r.failure for r in self.failures] + [r.warning for r in self.warnings]
        by_message: dict[str, list] = {}
        for finding in findings:  # a function that raises says the same to every check
            by_message.setdefault(finding.message, []).append(finding)
        lines = [f"{'✗' if group[0].failed else '!'} {', '.join(f.title for f in group)}: {message}"
                 for message, group in by_message.items()]
        seen = []
        for finding in findings:
            example = finding.example
            if example is not None and example.reproduce() not in seen:
                seen.append(example.reproduce())
                lines.append(f"  example: {example.shapes()}")
                lines.append(f"  reproduce: {example.reproduce()}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "message": self.message,
            "layer": self.layer,
            "worst_error_vs_jax": self.worst_vs_jax,
            "worst_error_vs_finite_differences": self.worst_vs_fd,
            "examples": self.examples,
            "checks": {r.check: {"status": r.status, "passed": r.passed, "warnings": r.warnings,
                                 "skipped": r.skipped, "worst_error": r.worst_error}
                       for r in self.runs},
        }
        failures = []
        for run in self.failures:
            finding, example = run.failure, run.failure.example
            failures.append({
                "check": finding.check, "title": finding.title, "message": finding.message,
                "diagnosis": finding.diagnosis, "pattern": run.pattern,
                "example": example.shapes() if example else None,
                "seed": example.draw.seed if example else None,
                "reproduce": example.reproduce() if example else None,
            })
        if failures:
            data["failures"] = failures
        if self.warnings:
            data["warnings"] = [{"check": r.warning.check, "message": r.warning.message}
                                for r in self.warnings]
        return data


def verdicts(runs: list[CheckRun], functions: list[tuple[str, str]] | None = None,
             missing: set[str] = frozenset(), problems: dict[str, str] | None = None,
             ) -> list[FunctionVerdict]:
    """One verdict per function: check runs grouped by the function each judged (a failure may
    name another function), in the order of ``functions`` ((function, layer) pairs) when given,
    with rows for the functions that are missing or could not be run."""
    problems = problems or {}
    table: dict[str, FunctionVerdict] = {}
    for function, layer in functions or []:
        row = table[function] = FunctionVerdict(function, layer)
        if function in missing:
            row.fixed_status, row.note = "missing", f"{function} is not defined"
        elif function in problems:
            row.fixed_status, row.note = "error", problems[function]
    for run in runs:
        function = run.failure.function if run.failure is not None else run.function
        table.setdefault(function, FunctionVerdict(function, run.layer)).runs.append(run)
    return list(table.values())


def write_json(path: Path, rows: list[FunctionVerdict], extra: dict[str, Any]) -> None:
    document = {"functions": {row.function: row.as_json() for row in rows}, **extra}
    path.write_text(json.dumps(document, indent=2, default=float) + "\n")
