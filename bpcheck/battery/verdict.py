"""From check runs to a verdict per protocol function: the rows of ``bpcheck check``'s table and
its JSON. Pure data; printing is the CLI's job.

Runs may come from several precision tiers (``bpcheck.tiers``). The tiers asked for are *counted*:
they decide a function's status. A tier run on top of them (the float32 tier, run by ``bpcheck
check`` for a function whose float64 failure is a precision loss) is reported beside the status,
per tier, but decides nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpcheck.standins import Missing
from bpcheck.battery.checks import BATTERY
from bpcheck.outcomes import Status
from bpcheck.battery.runner import CheckRun
from bpcheck.tiers import TIERS

#: Checks whose error column is "vs JAX" and "vs finite differences" (their records say so).
JAX_CHECKS = tuple(c.name for c in BATTERY if c.measures == "jax")
FD_CHECKS = tuple(c.name for c in BATTERY if c.measures == "finite differences")


@dataclass
class FunctionVerdict:
    function: str
    layer: str
    runs: list[CheckRun] = field(default_factory=list)
    #: Set for a function that was not run: "missing" (not defined) or "error" (unusable).
    fixed_status: Status | None = None
    note: str = ""
    #: The tiers whose runs decide the status (the others are reported only).
    counted: tuple[str, ...] = ("float64",)

    @property
    def counted_runs(self) -> list[CheckRun]:
        return [r for r in self.runs if r.tier in self.counted]

    @property
    def failures(self) -> list[CheckRun]:
        return [r for r in self.counted_runs if r.failure is not None]

    @property
    def warnings(self) -> list[CheckRun]:
        return [r for r in self.counted_runs if r.warning is not None and r.failure is None]

    @property
    def primary(self) -> str:
        """The tier the error columns and ``checks`` describe: the first counted tier run."""
        run = [t for t in TIERS if t in self.counted and self.tier_runs(t)]
        return run[0] if run else self.counted[0]

    def tier_runs(self, tier: str) -> list[CheckRun]:
        return [r for r in self.runs if r.tier == tier]

    def tier_status(self, tier: str) -> Status | None:
        """This function's status in one tier; None when the tier did not run on it."""
        runs = self.tier_runs(tier)
        if self.fixed_status and tier in self.counted:
            return self.fixed_status
        if not runs:
            return None
        if any(r.failure is not None for r in runs):
            return Status.FAILED
        return Status.WARNING if any(r.warning is not None for r in runs) else Status.PASSED

    @property
    def tiers(self) -> dict[str, str]:
        """Status per tier that ran (or was asked for), in ``TIERS`` order."""
        statuses = {t: self.tier_status(t) for t in TIERS}
        return {t: s for t, s in statuses.items() if s is not None}

    @property
    def status(self) -> Status:
        if self.fixed_status:
            return self.fixed_status
        if self.failures:
            return Status.FAILED
        return Status.WARNING if self.warnings else Status.PASSED

    def _worst(self, checks: tuple[str, ...], tier: str | None = None) -> float | None:
        errors = [r.worst_error for r in self.tier_runs(tier or self.primary)
                  if r.check in checks and r.passed]
        return max(errors) if errors else None

    def worst_vs_jax_in(self, tier: str) -> float | None:
        return self._worst(JAX_CHECKS, tier)

    @property
    def worst_vs_jax(self) -> float | None:
        return self._worst(JAX_CHECKS)

    @property
    def worst_vs_fd(self) -> float | None:
        return self._worst(FD_CHECKS)

    @property
    def examples(self) -> int:
        """Examples checked: summed over this function's checks (passed, warned, failed) in the
        counted tiers."""
        return sum(r.passed + r.warnings + (r.failure is not None) for r in self.counted_runs)

    def _tag(self, run: CheckRun) -> str:
        """"[float32] " before a check's title when tiers other than float64 are in play."""
        return "" if set(self.counted) == {"float64"} else f"[{run.tier}] "

    @property
    def message(self) -> str:
        """Each failed (then warned) check on one line, then the examples they failed on."""
        if self.note:
            return self.note
        lines = [f"{'✗' if failed else '!'} {', '.join(titles)}: {message}"
                 for failed, titles, message in self.groups()]
        lines += self.tier_lines()
        for shapes, reproduce in self.shown_examples():
            lines.append(f"  example: {shapes}")
            lines.append(f"  reproduce: {reproduce}")
        return "\n".join(lines)

    def _findings(self) -> list[tuple[CheckRun, Any]]:
        runs = self.failures + self.warnings
        return [(run, run.failure or run.warning) for run in runs]

    def groups(self) -> list[tuple[bool, list[str], str]]:
        """The failed (then warned) checks, grouped by their message (a function that raises
        says the same to every check): (failed, the checks' titles, the message)."""
        by_message: dict[str, list] = {}
        for run, finding in self._findings():
            by_message.setdefault(finding.message, []).append((finding, self._tag(run)))
        return [(group[0][0].failed, [tag + f.title for f, tag in group], message)
                for message, group in by_message.items()]

    def shown_examples(self) -> list[tuple[str, str]]:
        """The examples the failures and warnings were found on, once each: (shapes, the line
        that rebuilds it)."""
        seen: list[tuple[str, str]] = []
        for _, finding in self._findings():
            example = finding.example
            if example is not None and example.reproduce() not in [r for _, r in seen]:
                seen.append((example.shapes(), example.reproduce()))
        return seen

    def tier_lines(self) -> list[str]:
        """A line per tier run on top of the counted ones, when this function failed."""
        if self.status != Status.FAILED:
            return []
        lines = []
        for tier in (t for t in TIERS if t not in self.counted and self.tier_runs(t)):
            status = self.tier_status(tier)
            if status == Status.FAILED:
                first = next(r.failure for r in self.tier_runs(tier) if r.failure is not None)
                verdict = f"fails it too: {first.title}: {first.message}"
            else:
                verdict = (f"{status}: right at single precision; if it computes in {tier} "
                           f"on purpose, `bpcheck check --tier {tier}` checks every function "
                           f"in that tier")
            lines.append(f"→ the {tier} tier (run because of a precision loss in this layer) "
                         f"{verdict}")
        return lines

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "message": self.message,
            "layer": self.layer,
            "worst_error_vs_jax": self.worst_vs_jax,
            "worst_error_vs_finite_differences": self.worst_vs_fd,
            "examples": self.examples,
            "tiers": self.tiers,
            "checks": _checks_json(self.tier_runs(self.primary)),
        }
        if len(self.tiers) > 1:
            data["checks_by_tier"] = {t: _checks_json(self.tier_runs(t)) for t in self.tiers}
        failures = []
        for run in self.failures:
            finding, example = run.failure, run.failure.example
            failures.append({
                "tier": run.tier,
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


def _checks_json(runs: list[CheckRun]) -> dict[str, Any]:
    return {r.check: {"status": r.status, "passed": r.passed, "warnings": r.warnings,
                      "skipped": r.skipped, "worst_error": r.worst_error} for r in runs}


def verdicts(runs: list[CheckRun], functions: list[tuple[str, str]] | None = None,
             missing: set[str] = frozenset(), problems: dict[str, str] | None = None,
             counted: tuple[str, ...] = ("float64",)) -> list[FunctionVerdict]:
    """One verdict per function: check runs grouped by the function each judged (a failure may
    name another function), in the order of ``functions`` ((function, layer) pairs) when given,
    with rows for the functions that are missing or could not be run. ``counted``: the tiers
    that decide each status."""
    problems = problems or {}
    table: dict[str, FunctionVerdict] = {}
    for function, layer in functions or []:
        row = table[function] = FunctionVerdict(function, layer, counted=counted)
        if function in missing:
            row.fixed_status, row.note = Status.MISSING, f"{function} is not defined"
        elif function in problems:
            row.fixed_status, row.note = Status.ERROR, problems[function]
    for run in runs:
        function = run.failure.function if run.failure is not None else run.function
        row = table.setdefault(function, FunctionVerdict(function, run.layer, counted=counted))
        row.runs.append(run)
    return list(table.values())


def write_json(path: Path, rows: list[FunctionVerdict], extra: dict[str, Any]) -> None:
    document = {"functions": {row.function: row.as_json() for row in rows}, **extra}
    path.write_text(json.dumps(document, indent=2, default=float) + "\n")


@dataclass
class Verdict:
    """The verdict on a whole target: one ``FunctionVerdict`` per protocol function (``rows``),
    and how it was reached. ``passed`` when nothing failed and nothing was unusable (warnings and
    missing functions pass); ``report()`` is the text a terminal or an AssertionError shows."""

    label: str
    rows: list[FunctionVerdict]
    seconds: float = 0.0
    tiers: tuple[str, ...] = ("float64",)
    profile: str = "dev"
    examples_per_layer: int = 0
    processes: int = 1
    #: What the file was loaded with: stand-ins for modules not available here (described), the
    #: NumPy aliases restored (``--numpy-aliases``); and the traceback of each layer whose run
    #: raised (a bug of bpcheck: its functions' rows say so in one sentence).
    stand_ins: tuple[Missing, ...] = ()
    numpy_aliases: tuple[str, ...] = ()
    internal_errors: dict[str, str] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """What the file was loaded with, one line each (printed beside the table)."""
        notes = []
        if self.stand_ins:
            notes.append("stand-ins (not available here; a function that uses one fails saying "
                         "so): " + ", ".join(m.describe() for m in self.stand_ins))
        if self.numpy_aliases:
            notes.append("NumPy aliases restored (--numpy-aliases): " + ", ".join(
                f"np.{name}" for name in self.numpy_aliases))
        return notes

    def __getitem__(self, function: str) -> FunctionVerdict:
        for row in self.rows:
            if row.function == function:
                return row
        raise KeyError(f"{function!r} is not among this verdict's functions")

    def __iter__(self):
        return iter(self.rows)

    @property
    def counts(self) -> dict[Status, int]:
        return {s: n for s in Status if (n := sum(row.status == s for row in self.rows))}

    @property
    def passed(self) -> bool:
        return not any(row.status in (Status.FAILED, Status.ERROR) for row in self.rows)

    @property
    def examples(self) -> int:
        return sum(row.examples for row in self.rows)

    def summary(self) -> str:
        """"4 passed, 2 failed, 1 warning, 21 missing; 2,365 examples checked in 14.9 s"."""
        counts = ", ".join(f"{n} {s}" for s, n in self.counts.items())
        return f"{counts}; {self.examples:,} examples checked in {self.seconds:.1f} s"

    def report(self) -> str:
        """Plain text: a line per checked function, then each failure and warning in full."""
        width = max((len(row.function) for row in self.rows), default=8)
        lines = [f"bpcheck: {self.label}"]
        for row in self.rows:
            if row.status != Status.MISSING:
                error = "—" if row.worst_vs_jax is None else f"{row.worst_vs_jax:.1e}"
                lines.append(f"  {row.function:<{width}}  {row.status.value:<8} vs JAX {error}")
        missing = [row.function for row in self.rows if row.status == Status.MISSING]
        if missing:
            lines.append(f"  not defined (not checked): {', '.join(missing)}")
        lines += [f"  {note}" for note in self.notes()]
        for row in self.rows:
            if row.status in (Status.FAILED, Status.ERROR, Status.WARNING):
                lines += ["", f"{row.function} {row.status.value.upper()}", row.message]
        lines += ["", self.summary()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """IPython's plain-text view (a terminal IPython, a notebook's text/plain): the report."""
        printer.text(self.report())

    def _repr_html_(self) -> str:
        """Jupyter's and Colab's view: the table, each failure's diagnosis and repro line."""
        from bpcheck.battery.render import html

        return html(self)

    def __rich__(self):
        """rich's view (``rich.print(verdict)``, IPython with rich's pretty printer): the table
        of ``bpcheck check``, each failure in full, the summary."""
        from bpcheck.battery.render import rich_verdict

        return rich_verdict(self)

    def as_json(self) -> dict[str, Any]:
        """The document ``bpcheck check --json`` writes."""
        return {"functions": {row.function: row.as_json() for row in self.rows},
                "implementation": self.label, "elapsed_seconds": self.seconds,
                "examples_per_layer": self.examples_per_layer, "profile": self.profile,
                "tiers": list(self.tiers),
                "stand_ins": [{"module": m.module, "line": m.line, "file": m.path}
                              for m in self.stand_ins],
                "numpy_aliases": list(self.numpy_aliases),
                **({"internal_errors": self.internal_errors} if self.internal_errors else {})}

    def write_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.as_json(), indent=2, default=float) + "\n")
