"""What a check concludes about one example, and how a failure is raised inside hypothesis."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume

from bpcheck.battery.example import Example
from bpcheck.outcomes import Status


@dataclass(frozen=True)
class Finding:
    check: str  # the check's name, e.g. "vjp"
    title: str  # what the check verifies, e.g. "backward matches jax.vjp"
    function: str  # the protocol function judged, e.g. "affine_backward"
    status: Status
    message: str = ""
    error: float | None = None  # worst relative error seen (vs JAX or vs finite differences)
    example: Example | None = None
    #: The most likely cause of a failure, when the evidence is clear (also ends ``message``).
    diagnosis: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == Status.FAILED

    @property
    def warned(self) -> bool:
        return self.status == Status.WARNING

    def report(self) -> str:
        lines = [f"{self.function}: {self.title} [{self.check}]: {self.status}"]
        if self.message:
            lines.append(f"  {self.message}")
        if self.example is not None:
            lines.append(f"  example: {self.example.shapes()}")
            lines.append(f"  reproduce: {self.example.reproduce()}")
        return "\n".join(lines)


class CheckFailed(AssertionError):
    """Raised inside a hypothesis test so that it shrinks to the smallest failing example."""

    def __init__(self, findings: list[Finding]):
        super().__init__("\n".join(f.report() for f in findings))
        self.findings = findings

    def __reduce__(self):  # pickled with its findings, not its message (a worker sends it back)
        return (CheckFailed, (self.findings,))


def enforce(findings: list[Finding]) -> list[Finding]:
    """Raise when any check failed on this example; the message reports every failed check.

    Warnings never raise. An example every check skipped is discarded (hypothesis draws another).
    """
    assume(any(f.status != Status.SKIPPED for f in findings))
    failed = [f for f in findings if f.failed]
    if failed:
        raise CheckFailed(failed)
    return findings
