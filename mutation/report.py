"""The verdicts of a finished mutmut run, the score, and the survivors with what to do next."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mutation import equivalents
from mutation.describe import Mutant, describe_mutant

#: mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code), grouped the way we count.
KILLED = {1: "killed", 3: "killed"}
TIMEOUT = {36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout"}
CRASHED = {-11: "crashed", -9: "crashed"}
SURVIVED = {0: "survived"}
NOT_COVERED = {33: "no tests", 5: "no tests"}


def status(exit_code: int | None) -> str:
    for table in (KILLED, TIMEOUT, CRASHED, SURVIVED, NOT_COVERED):
        if exit_code in table:
            return table[exit_code]
    return "not checked" if exit_code is None else f"suspicious (exit {exit_code})"


@dataclass
class Outcome:
    """Every mutant's status, and the survivors split into known equivalents and the rest."""

    statuses: dict[str, str]
    durations: dict[str, float]
    survivors: list[Mutant] = field(default_factory=list)
    equivalent: list[tuple[Mutant, str]] = field(default_factory=list)
    stale_equivalents: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(self.statuses.values())

    @property
    def total(self) -> int:
        return len(self.statuses)

    @property
    def detected(self) -> int:
        c = self.counts
        return c["killed"] + c["timeout"] + c["crashed"]


def collect(workspace: Path, *, equivalents_file: Path = equivalents.FILE) -> Outcome:
    """Read mutmut's ``<module>.meta`` verdicts under ``workspace/mutants/manual``."""
    mutants_dir = workspace / "mutants"
    statuses, durations = {}, {}
    for meta in sorted((mutants_dir / "manual").glob("*.py.meta")):
        data = json.loads(meta.read_text("utf-8"))
        for name, code in data["exit_code_by_key"].items():
            statuses[name] = status(code)
            durations[name] = float(data.get("durations_by_key", {}).get(name) or 0.0)
    outcome = Outcome(statuses, durations)
    known = equivalents.load(equivalents_file)
    matched = set()
    for name, verdict in sorted(statuses.items(), key=lambda kv: _order(kv[0])):
        if verdict not in ("survived", "no tests"):
            continue
        mutant = describe_mutant(mutants_dir, name)
        if mutant.key in known:
            outcome.equivalent.append((mutant, known[mutant.key].reason))
            matched.add(mutant.key)
        else:
            outcome.survivors.append(mutant)
    checked_files = {name.partition(".x_")[0].replace(".", "/") + ".py" for name in statuses}
    outcome.stale_equivalents = [
        f"{e.file} {e.function}: `{e.mutated}`" for key, e in known.items()
        if key not in matched and e.file in checked_files
    ]
    return outcome


def _order(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("__mutmut_")
    return stem, int(number) if number.isdigit() else 0


def render(outcome: Outcome, *, elapsed: float | None = None, gaps: list[str] | None = None) -> str:
    """The printed report: the score line, the counts, each survivor with an entry to paste."""
    c = outcome.counts
    equivalent = len(outcome.equivalent)
    total = outcome.total
    lines = [
        f"mutation score over manual/: {outcome.detected} killed / {total} mutants"
        f" ({100 * outcome.detected / max(total, 1):.1f}%); "
        f"{equivalent} equivalent (mutation/equivalents.toml); "
        f"{len(outcome.survivors)} survived",
        f"  of the {total - equivalent} non-equivalent mutants, "
        f"{100 * outcome.detected / max(total - equivalent, 1):.1f}% killed",
        "  mutmut's verdicts: " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items()))
        + (f" (of the survivors, {equivalent} known equivalent)" if equivalent else ""),
    ]
    if elapsed is not None:
        lines.append(f"  run took {elapsed / 60:.1f} min")
    if gaps:
        lines.append("selection gaps (a record's battery test did not call its function):")
        lines += [f"  {gap}" for gap in gaps]
    if outcome.survivors:
        lines.append("")
        lines.append("survivors (kill each with a property, or add it to mutation/equivalents.toml"
                     " with the reason):")
        for mutant in outcome.survivors:
            verdict = outcome.statuses[mutant.name]
            tag = "" if verdict == "survived" else f" [{verdict}]"
            lines.append(f"  {mutant.describe()}{tag}   ({mutant.name})")
    if outcome.stale_equivalents:
        lines.append("")
        lines.append("equivalents.toml entries that matched no surviving mutant (stale?):")
        lines += [f"  {s}" for s in outcome.stale_equivalents]
    return "\n".join(lines)


def save(outcome: Outcome, path: Path, *, elapsed: float | None = None) -> None:
    """The outcome as JSON, for a later look (``python -m mutation report`` re-reads mutmut's)."""
    path.write_text(json.dumps({
        "counts": dict(outcome.counts), "total": outcome.total, "detected": outcome.detected,
        "elapsed_seconds": elapsed,
        "survivors": [asdict(m) for m in outcome.survivors],
        "equivalent": [dict(asdict(m), reason=r) for m, r in outcome.equivalent],
        "statuses": outcome.statuses, "durations": outcome.durations,
    }, indent=1, ensure_ascii=False), "utf-8")
