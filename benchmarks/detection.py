"""Detection power: every mistake of the catalogue × every checker → caught or not.

Each peer checks one random shape (``draws.peer_example``) per trial, as its users do; it runs
``trials`` times with seeds 0, 1, … (the same example for every peer in a trial), so a mistake
that only some shapes reveal shows as k/K. bpcheck runs once with its defaults (profile ``dev``,
100 examples, shrinking on), like ``bpcheck check FILE --only LAYER``. The correct ``manual/``
layers are run through the same checkers, so that a false alarm shows too; so are the catalogue's
conventions (``WARNS``, e.g. relu'(0) = 1): valid code, which bpcheck warns about and no checker
may fail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from benchmarks.bpcheck_runs import BpcheckResult, verdict_on, verdict_on_file
from mistakes import Mistake, catalogue
from benchmarks.draws import peer_example
from benchmarks.peers import PEERS, PeerResult, run_peer, warm_up
from bpcheck.implementation import Implementation
from bpcheck.layer import Layer
from bpcheck.loader import load
from bpcheck.registry import layer_named


@dataclass
class DetectionRow:
    name: str  # the mistake's file stem, or "manual/<layer>" for a correct layer
    title: str
    layer: str
    correct: bool  # True for manual/'s correct layer or a convention (a catch is a false alarm)
    peers: dict[str, list[PeerResult]] = field(default_factory=dict)
    bpcheck: BpcheckResult | None = None
    diagnosed: bool | None = None  # bpcheck's message names the mistake, or warns about the
    # convention (None for manual/'s rows)
    only_broken: bool | None = None  # bpcheck flags no other function for a reason of its own

    def caught(self, checker: str) -> int:
        return sum(r.caught for r in self.peers[checker])

    def as_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("peers", "bpcheck")}
        data["peers"] = {name: [asdict(r) for r in results] for name, results in self.peers.items()}
        data["bpcheck"] = asdict(self.bpcheck) if self.bpcheck else None
        return data


def _peer_trials(layer: Layer, impl: Implementation, trials: int) -> dict[str, list[PeerResult]]:
    results: dict[str, list[PeerResult]] = {peer: [] for peer in PEERS}
    for seed in range(trials):
        args, dout = peer_example(layer, seed)
        for peer in PEERS:
            results[peer].append(run_peer(peer, layer, impl, args, dout))
    return results


def only_broken_flagged(mistake: Mistake, result: BpcheckResult) -> bool:
    """No function outside ``mistake.broken`` fails, unless its failure is a broken function's
    exception (a backward is run after its forward, so a forward that raises fails it too)."""
    for function, status in result.statuses.items():
        if function in mistake.broken or status not in ("failed", "error"):
            continue
        if not any(f"{broken} raised" in result.messages.get(function, "") for broken in mistake.broken):
            return False
    return True


def detect_mistake(mistake: Mistake, trials: int, max_examples: int | None = None) -> DetectionRow:
    layer = layer_named(mistake.layer)
    loaded = load(mistake.path)
    row = DetectionRow(mistake.name, mistake.title, mistake.layer, correct=mistake.convention)
    row.peers = _peer_trials(layer, loaded.impl, trials)
    options = {} if max_examples is None else {"max_examples": max_examples}
    row.bpcheck = verdict_on_file(mistake.path, mistake.layer, **options)
    messages = " ".join(row.bpcheck.messages.get(f, "") for f in mistake.broken)
    status = "warning" if mistake.convention else "failed"
    row.diagnosed = all(row.bpcheck.statuses.get(f) == status for f in mistake.broken) and \
        mistake.diagnosed(messages)
    row.only_broken = only_broken_flagged(mistake, row.bpcheck)
    return row


def detect_correct(layer_name: str, manual_impl: Implementation, trials: int,
                   max_examples: int | None = None) -> DetectionRow:
    layer = layer_named(layer_name)
    row = DetectionRow(f"manual/{layer_name}", f"correct {layer_name} (manual/)", layer_name,
                       correct=True)
    row.peers = _peer_trials(layer, manual_impl, trials)
    options = {} if max_examples is None else {"max_examples": max_examples}
    row.bpcheck = verdict_on(manual_impl, layer, **options)
    return row


def run(trials: int, progress=None) -> list[DetectionRow]:
    """Every mistake, then every catalogue layer's correct version."""
    import manual

    manual_impl = Implementation.from_module(manual)
    warm_up()
    mistakes = catalogue()
    rows = []
    for mistake in mistakes:
        if progress:
            progress(f"detection: {mistake.name}")
        rows.append(detect_mistake(mistake, trials))
    for layer_name in sorted({m.layer for m in mistakes}):
        if progress:
            progress(f"detection: manual/{layer_name}")
        rows.append(detect_correct(layer_name, manual_impl, trials))
    return rows


def summary(rows: list[DetectionRow]) -> dict[str, dict[str, int]]:
    """Per checker: mistakes caught in every trial, in some, in none; false alarms on correct code."""
    totals: dict[str, dict[str, int]] = {}
    for checker in (*PEERS, "bpcheck"):
        counts = {"always": 0, "sometimes": 0, "never": 0, "false_alarms": 0}
        for row in rows:
            if checker == "bpcheck":
                caught, trials = int(row.bpcheck.caught), 1
            else:
                caught, trials = row.caught(checker), len(row.peers[checker])
            if row.correct:
                counts["false_alarms"] += caught > 0
            else:
                counts["always" if caught == trials else "sometimes" if caught else "never"] += 1
        totals[checker] = counts
    return totals
