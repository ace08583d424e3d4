"""How a verdict looks: the table of ``bpcheck check`` (rich, in a terminal), the same table as
HTML (``Verdict._repr_html_``, in Jupyter and Colab), and a progress bar for a notebook.

The table is built once, as plain cells (``table``), and drawn twice: ``rich_table`` for a
terminal and ``html`` for a notebook, so the two cannot disagree about a column. Nothing here
prints; the CLI prints what ``rich_table`` builds and a notebook displays what ``html`` returns.
Everything that comes from the code under test (function names, messages quoting its values or
its exceptions, file names) is escaped: rich markup is never parsed from it, and HTML gets
``html.escape``.
"""

from __future__ import annotations

import html as _html
from dataclasses import dataclass
from typing import Any, Iterable

from bpcheck.outcomes import Status
from bpcheck.tiers import TIERS

# Verdict and FunctionVerdict (bpcheck.battery.verdict) are passed in, never imported: verdict.py
# imports this module to draw itself.
Verdict = FunctionVerdict = Any

#: A status as the table shows it, and its colour.
STATUS_TEXT = {Status.PASSED: "passed", Status.FAILED: "FAILED", Status.ERROR: "ERROR",
               Status.WARNING: "warning", Status.MISSING: "missing"}
RICH_STYLE = {Status.PASSED: "green", Status.FAILED: "bold red", Status.ERROR: "bold red",
              Status.WARNING: "yellow", Status.MISSING: "dim"}
#: A tier's verdict in a table cell beside its worst error (one column per tier fits 80 columns).
TIER_MARK = {Status.PASSED: "✓", Status.FAILED: "✗", Status.ERROR: "✗ error",
             Status.WARNING: "!"}
TIERS_CAPTION = "per tier: ✓ passed, ✗ failed, ! warning, then its worst error against JAX"


def format_error(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


@dataclass(frozen=True)
class Cell:
    text: str
    #: The status whose colour the cell takes (None: plain).
    status: Status | None = None


@dataclass(frozen=True)
class Table:
    """``bpcheck check``'s table as plain cells: one row per checked function (missing ones are
    listed in ``missing`` instead)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str | None
    missing: tuple[str, ...]


def table(rows: Iterable[FunctionVerdict]) -> Table:
    """The one table of a verdict. With more than one tier in play (``--tier both``, or the
    float32 tier run after a precision loss), one column per tier instead of the status: its
    verdict and its worst error vs JAX."""
    rows = list(rows)
    tiers = [t for t in TIERS if any(t in row.tiers for row in rows)]
    several = len(tiers) > 1
    columns = ("function", *(tiers if several else ("status", "vs JAX")), "vs FD", "examples",
               "checks")
    cells = []
    for row in rows:
        if row.status == Status.MISSING:
            continue
        counted = row.counted_runs
        passed_checks = sum(r.failure is None for r in counted)
        checks = f"{passed_checks}/{len(counted)}" if counted else "—"
        examples = f"{row.examples:,}" if counted else "—"
        if several:
            verdicts = []
            for tier in tiers:
                status = row.tiers.get(tier)
                mark = TIER_MARK.get(Status(status), "—") if status else "—"
                verdicts.append(Cell(f"{mark} {format_error(row.worst_vs_jax_in(tier))}",
                                     Status(status) if status else None))
        else:
            verdicts = [Cell(STATUS_TEXT[row.status], row.status),
                        Cell(format_error(row.worst_vs_jax))]
        cells.append((Cell(row.function), *verdicts, Cell(format_error(row.worst_vs_fd)),
                      Cell(examples), Cell(checks)))
    missing = tuple(row.function for row in rows if row.status == Status.MISSING)
    return Table(columns, tuple(cells), TIERS_CAPTION if several else None, missing)


# ------------------------------------------------------------------------------- terminal (rich)

def rich_table(rows: Iterable[FunctionVerdict], title: str | None = None) -> Any:
    """The table as a rich renderable (``rich.table.Table``), with the "not defined" line
    under it when functions are missing."""
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    data = table(rows)
    drawn = RichTable(title=title, caption=data.caption)
    for column in data.columns:
        right = column not in ("function", "status")
        drawn.add_column(column, justify="right" if right else "left", no_wrap=True)
    for cells in data.rows:
        drawn.add_row(*(Text(c.text, style=RICH_STYLE.get(c.status, "")) for c in cells))
    if not data.missing:
        return drawn
    return Group(drawn, Text(f"not defined (not checked): {', '.join(data.missing)}",
                             style="dim"))


def rich_verdict(verdict: Verdict) -> Any:
    """``Verdict.__rich__``: the table, each failure and warning in full, and the summary."""
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = [rich_table(verdict.rows, title=f"bpcheck: {verdict.label}")]
    for row in verdict.rows:
        if row.status in (Status.FAILED, Status.ERROR, Status.WARNING):
            heading = Text("\n")
            heading.append(row.function, style="bold")
            heading.append(" ")
            heading.append(STATUS_TEXT[row.status], style=RICH_STYLE[row.status])
            parts += [heading, Text(row.message)]
    parts.append(Text(verdict.summary()))
    return Group(*parts)


# ----------------------------------------------------------------------------- notebook (HTML)

_CSS = """
.bpcheck-verdict { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 13px;
  line-height: 1.4; max-width: 100%; overflow-x: auto; }
.bpcheck-verdict table { border-collapse: collapse; margin: 6px 0; }
.bpcheck-verdict th, .bpcheck-verdict td { padding: 2px 10px;
  border-bottom: 1px solid rgba(127, 127, 127, 0.3);
  text-align: right; white-space: nowrap; }
.bpcheck-verdict th:first-child, .bpcheck-verdict td:first-child,
.bpcheck-verdict td.status { text-align: left; font-family: ui-monospace, monospace; }
.bpcheck-verdict .passed { color: #1a7f37; }
.bpcheck-verdict .failed, .bpcheck-verdict .error { color: #cf222e; font-weight: bold; }
.bpcheck-verdict .warning { color: #9a6700; }
.bpcheck-verdict .muted { opacity: 0.7; }
.bpcheck-verdict .finding { margin: 8px 0; }
.bpcheck-verdict .cause { background: rgba(255, 200, 0, 0.25); padding: 1px 4px; }
.bpcheck-verdict pre { background: rgba(127, 127, 127, 0.12); color: inherit; padding: 4px 8px;
  margin: 2px 0 6px;
  white-space: pre-wrap; word-break: break-word; }
"""

_CAUSE = " — likely cause: "


def _e(text: Any) -> str:
    return _html.escape(str(text), quote=True)


def _finding_html(row: FunctionVerdict) -> str:
    """One function's failures (then warnings), each check once per message, its likely cause
    set apart, then the examples they failed on with their ``reproduce:`` lines."""
    css = row.status.value
    out = [f'<div class="finding"><b>{_e(row.function)}</b> '
           f'<span class="{css}">{_e(STATUS_TEXT[row.status])}</span><ul>']
    if row.note:
        out.append(f"<li>{_e(row.note)}</li>")
    for failed, titles, message in row.groups():
        mark = "✗" if failed else "!"
        cause = ""
        if _CAUSE in message:
            message, cause = message.split(_CAUSE, 1)
            cause = f'<br><span class="cause">likely cause: {_e(cause)}</span>'
        out.append(f'<li><span class="{"failed" if failed else "warning"}">{mark}</span> '
                   f"<i>{_e(', '.join(titles))}</i>: {_e(message)}{cause}</li>")
    for line in row.tier_lines():
        out.append(f"<li>{_e(line)}</li>")
    out.append("</ul>")
    for shapes, reproduce in row.shown_examples():
        out.append(f"<pre>example: {_e(shapes)}\nreproduce: {_e(reproduce)}</pre>")
    out.append("</div>")
    return "".join(out)


def html(verdict: Verdict) -> str:
    """``Verdict._repr_html_``: the table, each failure's diagnosis and repro line, and the
    summary, in one self-contained ``<div>`` (its style scoped to it)."""
    data = table(verdict.rows)
    parts = [f'<div class="bpcheck-verdict"><style>{_CSS}</style>',
             f"<div><b>bpcheck</b>: {_e(verdict.label)} against jax.vjp and finite differences"
             f"</div>"]
    if data.rows:
        head = "".join(f"<th>{_e(c)}</th>" for c in data.columns)
        body = []
        for cells in data.rows:
            tds = []
            for column, cell in zip(data.columns, cells):
                classes = " ".join(filter(None, [
                    "status" if column == "status" else "",
                    cell.status.value if cell.status else ""]))
                attribute = f' class="{classes}"' if classes else ""
                tds.append(f"<td{attribute}>{_e(cell.text)}</td>")
            body.append(f"<tr>{''.join(tds)}</tr>")
        caption = f"<caption>{_e(data.caption)}</caption>" if data.caption else ""
        parts.append(f"<table>{caption}<thead><tr>{head}</tr></thead>"
                     f"<tbody>{''.join(body)}</tbody></table>")
    if data.missing:
        parts.append(f'<div class="muted">not defined (not checked): '
                     f'{_e(", ".join(data.missing))}</div>')
    for row in verdict.rows:
        if row.status in (Status.FAILED, Status.ERROR, Status.WARNING):
            parts.append(_finding_html(row))
    state = "passed" if verdict.passed else "failed"
    parts.append(f'<div><span class="{state}">{"✓" if verdict.passed else "✗"}</span> '
                 f"{_e(verdict.summary())}</div></div>")
    return "".join(parts)


def progress_html(layer: str, done: int, total: int) -> str:
    """One line of a notebook's progress bar (escaped: a user's layer may name itself)."""
    return (f'<div class="bpcheck-progress" style="font-family: system-ui, sans-serif; '
            f'font-size: 13px"><progress value="{done}" max="{total}" style="width: 240px">'
            f"</progress> checked {_e(layer)} ({done}/{total})</div>")
