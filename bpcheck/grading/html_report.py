"""The class report as one self-contained page: ``OUT/report.html``.

A score histogram and the pass rate per function (inline SVG drawn here: no network, no
library), the most frequent diagnoses with one anonymised example each (a failing test's output,
the submission's name replaced), possible copies (``copies``), and a table of submissions that
sorts when a column's heading is clicked (a few lines of inline script). Everything a submission
chose (its name, its messages) is escaped, control characters included, so the page shows it and
never runs it.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from bpcheck.grading.text import printable

HISTOGRAM_BINS = 10
BAR = "#4c9a5b"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 70em; }
h1, h2 { font-weight: 600; } table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.sortable { cursor: pointer; background: #f3f3f3; } th.sortable:hover { background: #e6e6e6; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.85em; }
.passed, .warning { color: #2d7a3a; } .failed, .error, .missing { color: #b3261e; }
svg text { font-size: 12px; font-family: system-ui, sans-serif; }
"""
#: Sorts the submissions table by the clicked column: numbers as numbers, text as text.
SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(table => {
  table.querySelectorAll('th').forEach((heading, column) => {
    heading.classList.add('sortable');
    heading.addEventListener('click', () => {
      const body = table.tBodies[0];
      const ascending = heading.dataset.order !== 'asc';
      heading.dataset.order = ascending ? 'asc' : 'desc';
      const key = row => row.cells[column].dataset.sort ?? row.cells[column].textContent;
      const rows = Array.from(body.rows).sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const numeric = !isNaN(parseFloat(x)) && !isNaN(parseFloat(y));
        const order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(row => body.appendChild(row));
    });
  });
});
"""


def escape(text: str) -> str:
    """Text a submission may have chosen, safe in HTML (markup and control characters)."""
    return html.escape(printable(str(text)), quote=True)


def _format(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def histogram_svg(shares: list[float], bins: int = HISTOGRAM_BINS) -> str:
    """Submissions per score band (share of the points, 0–100 %) as an SVG bar chart."""
    counts = [0] * bins
    for share in shares:
        counts[min(int(share * bins), bins - 1)] += 1
    width, height, left, bottom = 520, 230, 40, 40
    tallest = max(counts, default=0) or 1
    step = (width - left - 10) / bins
    parts = [f'<svg role="img" aria-label="score histogram" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, count in enumerate(counts):
        bar = (height - bottom - 20) * count / tallest
        x, y = left + i * step, height - bottom - bar
        parts.append(f'<rect class="bin" x="{x + 2:.1f}" y="{y:.1f}" width="{step - 4:.1f}" '
                     f'height="{bar:.1f}" fill="{BAR}"><title>{i * 100 // bins}–'
                     f'{(i + 1) * 100 // bins} %: {count}</title></rect>')
        if count:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{y - 4:.1f}" '
                         f'text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 15}" text-anchor="middle">'
                     f'{i * 100 // bins}</text>')
    parts.append(f'<text x="{left + bins * step:.1f}" y="{height - bottom + 15}" '
                 f'text-anchor="middle">100</text><text x="{left + bins * step / 2:.1f}" '
                 f'y="{height - 2}" text-anchor="middle">share of the points, %</text>'
                 f'<line x1="{left}" y1="{height - bottom}" x2="{left + bins * step:.1f}" '
                 f'y2="{height - bottom}" stroke="#555"/></svg>')
    return "".join(parts)


def pass_rate_svg(rates: list[tuple[str, float]]) -> str:
    """One horizontal bar per function: the share of submissions passing it."""
    label, bar_width, row = 190, 300, 22
    height = row * len(rates) + 10
    parts = [f'<svg role="img" aria-label="pass rate per function" width="{label + bar_width + 60}"'
             f' height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (function, rate) in enumerate(rates):
        y = 5 + i * row
        parts.append(f'<text x="{label - 6}" y="{y + 14}" text-anchor="end">{escape(function)}'
                     f'</text><rect x="{label}" y="{y}" width="{bar_width}" height="{row - 6}" '
                     f'fill="#eee"/><rect class="rate" x="{label}" y="{y}" '
                     f'width="{bar_width * rate:.1f}" height="{row - 6}" fill="{BAR}"/>'
                     f'<text x="{label + bar_width + 6}" y="{y + 14}">{rate:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _unfenced(output: str) -> str:
    """A test's output without the Markdown code block ``gradescope.present`` may wrap it in."""
    if output.startswith("```text\n") and output.endswith("\n```"):
        return output[len("```text\n"):-len("\n```")]
    return output


def diagnosis_examples(documents: dict[str, dict]) -> dict[str, str]:
    """For each diagnosis, one failing test's output that carries it (the first submission's,
    in name order), with that submission's name replaced by ``<submission>``."""
    examples: dict[str, str] = {}
    for name in sorted(documents):
        document = documents[name]
        tests = document.get("tests") if isinstance(document, dict) else None
        for test in tests if isinstance(tests, list) else []:
            extra = test.get("extra_data") if isinstance(test, dict) else None
            diagnosis = extra.get("diagnosis") if isinstance(extra, dict) else None
            if isinstance(diagnosis, str) and diagnosis not in examples:
                output = _unfenced(str(test.get("output", "")))
                examples[diagnosis] = output.replace(name, "<submission>") if name else output
    return examples


def _table(headings: list[str], rows: list[list[str]], sortable: bool = False) -> str:
    head = "".join(f"<th>{h}</th>" for h in headings)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    kind = ' class="sortable"' if sortable else ""
    return f"<table{kind}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(names, graded, unreadable, tallies, diagnoses, examples, copies) -> str:
    """The page. ``graded``: {name: GradedSubmission}; ``tallies``: FunctionTally per function;
    ``diagnoses``: (diagnosis, count, Counter of functions), most frequent first; ``examples``:
    ``diagnosis_examples``; ``copies``: ``copies.CopiedPair`` list."""
    readable = [graded[n] for n in names if n in graded]
    shares = [s.total / s.max_total if s.max_total else 0.0 for s in readable]
    sections = [f"<h1>bpcheck class report</h1><p>{len(names)} submissions: "
                f"{sum(s.load_error is None for s in readable)} graded, "
                f"{sum(s.load_error is not None for s in readable)} could not be loaded, "
                f"{len(unreadable)} unreadable.</p>",
                "<h2>Scores</h2><p>Submissions per band of the points earned.</p>",
                histogram_svg(shares),
                "<h2>Pass rate per function</h2><p>Share of submissions whose function passed "
                "(or differs from JAX only at a kink).</p>",
                pass_rate_svg([(t.function, t.pass_rate) for t in tallies])
                if tallies else "<p>No readable submission lists any function.</p>",
                "<h2>Most frequent diagnoses</h2>"]
    if diagnoses:
        rows = []
        for diagnosis, count, functions in diagnoses:
            where = ", ".join(f"{f} ({n})" for f, n in Counter(functions).most_common())
            rows.append([f"<td>{escape(diagnosis)}</td>", f'<td class="number">{count}</td>',
                         f"<td>{escape(where)}</td>",
                         f"<td><pre>{escape(examples.get(diagnosis, ''))}</pre></td>"])
        sections.append(_table(["diagnosis", "count", "functions", "an example (anonymised)"],
                               rows))
    else:
        sections.append("<p>No diagnoses.</p>")
    sections.append("<h2>Possible copies</h2>")
    if copies:
        sections.append("<p>Pairs whose functions are the same up to renaming, formatting and "
                        "comments: a hint to look at, not a verdict; scores are unchanged.</p>")
        sections.append(_table(["submissions", "functions the same", "share"], [
            [f"<td>{escape(p.first)} and {escape(p.second)}</td>",
             f"<td>{escape(', '.join(p.functions))}</td>",
             f'<td class="number">{p.share:.0%}</td>'] for p in copies]))
    else:
        sections.append("<p>None found.</p>")
    functions = [t.function for t in tallies]
    rows = []
    for name in names:
        if name in unreadable:
            rows.append([f"<td>{escape(name)}</td>", '<td class="number" data-sort="-1"></td>',
                         *["<td></td>"] * len(functions),
                         f"<td>unreadable: {escape(unreadable[name])}</td>"])
            continue
        s = graded[name]
        cells = [f"<td>{escape(name)}</td>",
                 f'<td class="number" data-sort="{s.total}">{_format(s.total)} / '
                 f'{_format(s.max_total)}</td>']
        for function in functions:
            result = s.functions.get(function)
            status = result.status if result else "missing"
            cells.append(f'<td class="{status}" data-sort="{result.score if result else 0}">'
                         f"{status}</td>")
        note = ("graded" if s.load_error is None else
                "load error: " + (s.load_error.splitlines() or [""])[0])
        cells.append(f"<td>{escape(note)}</td>")
        rows.append(cells)
    sections.append("<h2>Submissions</h2><p>Click a column's heading to sort by it.</p>")
    sections.append(_table(["submission", "total", *[escape(f) for f in functions], "status"],
                           rows, sortable=True))
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>bpcheck class report</title><style>{STYLE}</style></head><body>"
            + "\n".join(sections) + f"<script>{SORT_SCRIPT}</script></body></html>\n")


def write_html(path: Path, *args) -> Path:
    """Write ``render(*args)`` to ``path``."""
    path.write_text(render(*args), encoding="utf-8")
    return path
