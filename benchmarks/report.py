"""Rich tables for the benchmark sections (printing only; the numbers come from the sections)."""

from __future__ import annotations

from rich.table import Table

from benchmarks.bpcheck_runs import BpcheckResult
from benchmarks.cost import CONSTANT_COST, FULL_JACOBIAN, CaseCost
from benchmarks.detection import DetectionRow, summary
from benchmarks.peers import PEERS, PeerResult
from benchmarks.training_step import StepTiming

PEER_TITLES = {"cs231n": "cs231n", "torch": "torch gradcheck", "torch-fast": "torch fast_mode",
               "jax": "jax check_grads"}


def _peer_cell(row: DetectionRow, checker: str) -> str:
    results = row.peers[checker]
    caught = row.caught(checker)
    if row.correct:
        return "[green]ok[/]" if not caught else f"[bold red]false alarm {caught}/{len(results)}[/]"
    if caught == 0:
        return "[red]missed[/]"
    crash = " (crash)" if all(r.crashed for r in results if r.caught) else ""
    if caught == len(results):
        return f"[green]caught{crash}[/]"
    return f"[yellow]{caught}/{len(results)}{crash}[/]"


def detection_table(rows: list[DetectionRow], trials: int) -> Table:
    table = Table(title=f"Detection: caught or not (peers: {trials} random shape"
                        f"{'s' * (trials > 1)} each, one per trial; bpcheck: its defaults)")
    table.add_column("mistake", no_wrap=True)
    for checker in PEERS:
        table.add_column(PEER_TITLES[checker], justify="center", no_wrap=True)
    table.add_column("bpcheck", justify="center", no_wrap=True)
    table.add_column("bpcheck names it", justify="center", no_wrap=True)
    table.add_column("bpcheck s", justify="right")
    for row in rows:
        cells = [_peer_cell(row, checker) for checker in PEERS]
        if row.correct:
            bp = "[green]ok[/]" if not row.bpcheck.caught else "[bold red]false alarm[/]"
            named = {None: "—", True: "[green]warns[/]", False: "[red]no warning[/]"}[row.diagnosed]
        else:
            bp = "[green]caught[/]" if row.bpcheck.caught else "[bold red]MISSED[/]"
            named = ("[green]yes[/]" if row.diagnosed else "[red]no[/]") + (
                "" if row.only_broken else " [red](flags others)[/]")
        table.add_row(row.name, *cells, bp, named, f"{row.bpcheck.seconds:.1f}")
    totals = summary(rows)
    table.add_section()
    table.add_row("caught always / sometimes / never; false alarms",
                  *[f"{t['always']}/{t['sometimes']}/{t['never']}; {t['false_alarms']}"
                    for t in (totals[c] for c in (*PEERS, "bpcheck"))], "", "")
    return table


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return f"{n:,}"


def _seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _cost_cell(case: CaseCost, checker: str) -> str:
    result: PeerResult | None = case.peers.get(checker)
    if result is None:
        calls, seconds, _ = case.not_run[checker]
        return f"[dim]{_count(calls)} · ~{_seconds(seconds)} (not run)[/]"
    text = f"{_count(result.forward_calls)} · {_seconds(result.seconds)}"
    if result.stopped:
        return f"[yellow]stopped at {_seconds(result.seconds)} · {_count(result.forward_calls)}[/]"
    if result.caught:
        return f"{text} [red](flags correct code)[/]"
    return text


def cost_table(cases: list[CaseCost], verdicts: dict[str, BpcheckResult], budget: float) -> Table:
    table = Table(title=f"Cost to a verdict on a correct layer (manual/): forward calls · wall "
                        f"time (budget {budget:g} s per run)")
    table.add_column("layer", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("P", justify="right")
    for checker in (*FULL_JACOBIAN, *CONSTANT_COST):
        table.add_column(PEER_TITLES[checker], justify="right")
    table.add_column("bpcheck, this shape", justify="right")
    table.add_column("bpcheck verdict (+ default run)", justify="right")
    for case in cases:
        battery, default = case.battery, verdicts[case.layer]
        if battery.stopped:
            this = f"[yellow]stopped at {_seconds(battery.seconds)} · {_count(battery.forward_calls)}[/]"
        else:
            this = f"{_count(battery.forward_calls)} · {_seconds(battery.seconds)}"
        total = (f"{_count(battery.forward_calls + default.forward_calls)} · "
                 f"{_seconds(battery.seconds + default.seconds)}")
        table.add_row(case.layer, case.shape, _count(case.entries),
                      *[_cost_cell(case, c) for c in (*FULL_JACOBIAN, *CONSTANT_COST)], this, total)
    return table


def ratio_table(cases: list[CaseCost], verdicts: dict[str, BpcheckResult]) -> Table:
    """Each peer's forward calls and wall time divided by bpcheck's verdict (this shape plus its
    default run)."""
    table = Table(title="Ratio to bpcheck's verdict (this shape + default run): "
                        "forward calls × · wall time ×")
    table.add_column("layer", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    for checker in (*FULL_JACOBIAN, *CONSTANT_COST):
        table.add_column(PEER_TITLES[checker], justify="right")
    for case in cases:
        calls = case.battery.forward_calls + verdicts[case.layer].forward_calls
        seconds = case.battery.seconds + verdicts[case.layer].seconds
        cells = []
        for checker in (*FULL_JACOBIAN, *CONSTANT_COST):
            result = case.peers.get(checker)
            if result is None:
                needed, predicted, _ = case.not_run[checker]
                cells.append(f"[dim]{needed / calls:,.3g}× · ~{predicted / seconds:,.3g}×[/]")
            elif result.stopped:
                cells.append("[yellow]stopped[/]")
            else:
                cells.append(f"{result.forward_calls / calls:,.3g}× · {result.seconds / seconds:,.3g}×")
        table.add_row(case.layer, case.shape, *cells)
    return table


def default_verdict_table(verdicts: dict[str, BpcheckResult]) -> Table:
    table = Table(title="bpcheck's default verdict per layer (profile dev, 100 examples over its "
                        "shape pools; independent of the case)")
    for column in ("layer", "examples", "forward calls", "backward calls", "JAX twin calls", "wall"):
        table.add_column(column, justify="left" if column == "layer" else "right")
    for name, result in verdicts.items():
        table.add_row(name, f"{result.examples:,}", f"{result.forward_calls:,}",
                      f"{result.backward_calls:,}", f"{result.reference_calls:,}",
                      _seconds(result.seconds))
    return table


def targets_table(targets: dict) -> Table:
    table = Table(title=f"Targets on the largest affine, {targets['case']}")
    for column in ("target", "bpcheck, this shape", "bpcheck verdict (+ default run)", "met?"):
        table.add_column(column, justify="left" if column == "target" else "right")
    calls = targets["forward_call_ratio"]
    table.add_row(f"≥ 1000× fewer forward calls than a full Jacobian "
                  f"({targets['full_jacobian_forward_calls']:,})",
                  f"{calls['this_shape']:,.0f}×", f"{calls['with_default_run']:,.0f}×",
                  _met(min(calls.values()) >= 1000))
    wall = targets["wall_ratio_to_torch_fast"]
    table.add_row(f"≤ 2× the wall time of torch fast_mode ({targets['torch_fast_seconds']:.2f} s)",
                  f"{wall['this_shape']:.1f}×", f"{wall['with_default_run']:.1f}×",
                  _met(max(wall.values()) <= 2))
    per_check = ", ".join(f"{k} {v:.2f}" for k, v in targets["bpcheck_seconds_per_check"].items())
    table.caption = (f"bpcheck's seconds per check at this shape: {per_check} (JAX compiling "
                     f"{targets['bpcheck_compile_seconds']:.2f} s of them)")
    return table


def _met(ok: bool) -> str:
    return "[green]met[/]" if ok else "[red]missed[/]"


def training_table(timing: StepTiming) -> Table:
    table = Table(title="One training step, 784-1024-1024-10 relu MLP, batch 512, float64 "
                        f"({timing.step_gflop:.2f} GFLOP of matrix products)")
    for column in ("", "best s", "median s", "GFLOP/s", "vs JAX", "share of matmul rate"):
        table.add_column(column, justify="left" if not column else "right")
    table.add_row("manual/ (mlp_loss_and_grads)", f"{timing.manual_best:.3f}",
                  f"{timing.manual_median:.3f}", f"{timing.manual_gflops:.1f}",
                  f"{timing.speed_vs_jax:.2f}×", f"{timing.manual_gflops / timing.matmul_gflops:.0%}")
    table.add_row("jax.jit(jax.value_and_grad)", f"{timing.jax_best:.3f}",
                  f"{timing.jax_median:.3f}", f"{timing.jax_gflops:.1f}", "1.00×",
                  f"{timing.jax_gflops / timing.matmul_gflops:.0%}")
    table.add_row("the step's matrix products alone (NumPy)", f"{timing.products_best:.3f}",
                  f"{timing.products_median:.3f}", f"{timing.products_gflops:.1f}", "",
                  f"{timing.products_gflops / timing.matmul_gflops:.0%}")
    table.add_row("NumPy matmul 2048 × 2048", f"{timing.matmul_best:.3f}",
                  f"{timing.matmul_median:.3f}", f"{timing.matmul_gflops:.1f}", "", "100%")
    table.caption = (f"manual vs JAX gradients: worst gap {timing.max_gradient_gap:.1e} of the "
                     f"max-norm; vs JAX = JAX time / manual time (best rounds)")
    return table
