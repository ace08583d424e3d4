"""A class report over graded submissions: ``summary.csv``, ``report.md``, ``report.html``
(``html_report``) and ``pass_rate.png``.

Input is what ``bpcheck grade`` writes, one Gradescope ``results.json`` per submission, already
parsed: ``{entry name: document}``. Only the top-level ``score`` and our
``extra_data.bpcheck`` block (``load_error`` and ``functions``: per function ``status``,
``score``, ``max_score``, ``diagnoses``) are read, so the report does not depend on how the
grading was done. A document that lacks any of those keys is listed as unreadable, never a crash.

The chart is a PNG when matplotlib (the ``plot`` extra) is importable; the Markdown always carries
a text bar chart as well, so the report is complete without it. Both reports list possible copies
(``copies``), read from each document's ``extra_data.bpcheck.fingerprints``.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from bpcheck.grading import copies, html_report
from bpcheck.grading.text import printable

#: The files the class report writes into OUT (a submission of one of these names keeps its
#: results elsewhere: grade.results_path).
CLASS_FILES = ("summary.csv", "report.md", "report.html", "pass_rate.png")
STATUSES = ("passed", "warning", "failed", "error", "missing")
PASSING_STATUSES = ("passed", "warning")  # a warning differs from JAX only at a kink
TOP_DIAGNOSES = 15
TEXT_BAR_WIDTH = 20
LOAD_ERROR_CHARS = 100  # the CSV's status column keeps the first line of a load error, cut here


class UnreadableDocument(ValueError):
    """A results.json that lacks a key the report needs (the message names the key)."""


@dataclass(frozen=True)
class FunctionResult:
    """One protocol function's grade in one submission."""

    status: str
    score: float
    max_score: float
    diagnoses: tuple[str, ...]


@dataclass(frozen=True)
class GradedSubmission:
    """What the report reads from one results.json."""

    name: str
    total: float
    max_total: float  # the sum of the functions' max_score
    load_error: str | None
    functions: dict[str, FunctionResult]


@dataclass(frozen=True)
class FunctionTally:
    """How one protocol function fared across the class."""

    function: str
    counts: dict[str, int]  # status -> submissions; a function a document omits counts as missing
    submissions: int

    @property
    def pass_rate(self) -> float:
        passing = sum(self.counts[status] for status in PASSING_STATUSES)
        return passing / self.submissions if self.submissions else 0.0


def _field(container, key: str, where: str):
    if not isinstance(container, dict):
        raise UnreadableDocument(f"{where or 'the document'} is not a JSON object")
    if key not in container:
        raise UnreadableDocument(f"missing key {(where + '.' if where else '') + key}")
    return container[key]


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnreadableDocument(f"{where} is not a finite number: {value!r}")
    return float(value)


def read_submission(name: str, document) -> GradedSubmission:
    """The report's view of one parsed results.json; raises UnreadableDocument when keys lack."""
    total = _number(_field(document, "score", ""), "score")
    extra = _field(_field(document, "extra_data", ""), "bpcheck", "extra_data")
    where = "extra_data.bpcheck"
    load_error = _field(extra, "load_error", where)
    if load_error is not None and not isinstance(load_error, str):
        raise UnreadableDocument(f"{where}.load_error is neither null nor a string")
    raw_functions = _field(extra, "functions", where)
    if not isinstance(raw_functions, dict):
        raise UnreadableDocument(f"{where}.functions is not a JSON object")
    functions = {}
    for function, raw in raw_functions.items():
        at = f"{where}.functions.{function}"
        status = _field(raw, "status", at)
        if status not in STATUSES:
            raise UnreadableDocument(f"{at}.status is {status!r}, not one of {', '.join(STATUSES)}")
        diagnoses = raw.get("diagnoses", [])
        if not isinstance(diagnoses, list) or not all(isinstance(d, str) for d in diagnoses):
            raise UnreadableDocument(f"{at}.diagnoses is not a list of strings")
        functions[function] = FunctionResult(
            status, _number(_field(raw, "score", at), f"{at}.score"),
            _number(_field(raw, "max_score", at), f"{at}.max_score"), tuple(diagnoses))
    max_total = sum(result.max_score for result in functions.values())
    return GradedSubmission(name, total, max_total, load_error, functions)


def _short(text: str, limit: int = LOAD_ERROR_CHARS) -> str:
    lines = printable(text).strip().splitlines()
    first = lines[0] if lines else "load error"
    return first if len(first) <= limit else first[:limit - 1] + "…"


def _format_score(value: float) -> str:
    """1.0 -> '1', 0.5 -> '0.5', 2/3 -> '0.6667'."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _function_order(graded: list[GradedSubmission]) -> list[str]:
    order: dict[str, None] = {}
    for submission in graded:
        order.update(dict.fromkeys(submission.functions))
    return list(order)


def tally_functions(graded: list[GradedSubmission]) -> list[FunctionTally]:
    """Per function, in order of first appearance: how many submissions got each status."""
    tallies = []
    for function in _function_order(graded):
        counts = dict.fromkeys(STATUSES, 0)
        for submission in graded:
            result = submission.functions.get(function)
            counts[result.status if result else "missing"] += 1
        tallies.append(FunctionTally(function, counts, len(graded)))
    return tallies


def count_diagnoses(graded: list[GradedSubmission]) -> list[tuple[str, int, Counter]]:
    """(diagnosis, occurrences, Counter of functions), most frequent first; a diagnosis counts
    once per function per submission."""
    by_function: dict[str, Counter] = defaultdict(Counter)
    for submission in graded:
        for function, result in submission.functions.items():
            for diagnosis in dict.fromkeys(result.diagnoses):
                by_function[diagnosis][function] += 1
    ranked = sorted(by_function.items(), key=lambda item: (-item[1].total(), item[0]))
    return [(diagnosis, functions.total(), functions) for diagnosis, functions in ranked]


def _write_summary_csv(path: Path, names: list[str], graded: dict[str, GradedSubmission],
                       unreadable: dict[str, str], functions: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", *functions, "total", "max_total", "status"])
        for name in names:
            if name in unreadable:
                writer.writerow([printable(name, keep_newlines=False), *[""] * len(functions),
                                 "", "", f"unreadable: {printable(unreadable[name])}"])
                continue
            submission = graded[name]
            scores = [_format_score(submission.functions[f].score)
                      if f in submission.functions else "" for f in functions]
            status = "graded" if submission.load_error is None else _short(submission.load_error)
            writer.writerow([printable(name, keep_newlines=False), *scores,
                             _format_score(submission.total),
                             _format_score(submission.max_total), status])


def text_bar(rate: float, width: int = TEXT_BAR_WIDTH) -> str:
    """'████████░░' for a share in [0, 1]."""
    filled = round(rate * width)
    return "█" * filled + "░" * (width - filled)


def _plot_pass_rates(tallies: list[FunctionTally], path: Path) -> bool:
    """Draw a horizontal bar chart to path (Agg, no display); False when matplotlib is absent."""
    try:
        import matplotlib  # noqa: F401  (first, so that a hidden matplotlib is seen as absent)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    figure = Figure(figsize=(7, 0.35 * len(tallies) + 1.2))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    names = [tally.function for tally in reversed(tallies)]  # first function on top
    axes.barh(names, [100 * tally.pass_rate for tally in reversed(tallies)], color="#4c9a5b")
    axes.set_xlim(0, 100)
    axes.set_xlabel("submissions passing (passed or warning), %")
    axes.set_title("pass rate per function")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    return True


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (control characters escaped)."""
    return " ".join(printable(text).split()).replace("|", "\\|")


def _report_markdown(names: list[str], graded: dict[str, GradedSubmission],
                     unreadable: dict[str, str], chart: str | None,
                     copied: list[copies.CopiedPair]) -> str:
    readable = [graded[name] for name in names if name in graded]
    tallies = tally_functions(readable)
    load_errors = [s for s in readable if s.load_error is not None]
    lines = ["# bpcheck class report", "",
             f"{len(names)} submissions: {len(readable) - len(load_errors)} graded, "
             f"{len(load_errors)} could not be loaded, {len(unreadable)} unreadable."]
    if readable:
        totals = [s.total for s in readable]
        top = max(s.max_total for s in readable)
        lines.append(f"Total (over the {len(readable)} readable, load errors included): "
                     f"mean {_format_score(round(statistics.mean(totals), 2))}, "
                     f"median {_format_score(round(statistics.median(totals), 2))} "
                     f"of {_format_score(top)}.")
    lines += ["", "## Pass rate per function", ""]
    if tallies:
        lines += ["Share of submissions whose function is `passed` or `warning`.", "",
                  "| function | pass rate | " + " | ".join(STATUSES) + " |",
                  "|---|---:|" + "---:|" * len(STATUSES)]
        for tally in tallies:
            counts = " | ".join(str(tally.counts[status]) for status in STATUSES)
            lines.append(f"| {_cell(tally.function)} | {tally.pass_rate:.0%} | {counts} |")
        lines += ["", "## Pass rate chart", ""]
        if chart:
            lines += [f"![pass rate per function]({chart})", ""]
        width = max(len(tally.function) for tally in tallies)
        lines.append("```text")
        lines += [f"{tally.function:<{width}}  {text_bar(tally.pass_rate)}  {tally.pass_rate:4.0%}"
                  for tally in tallies]
        lines.append("```")
    else:
        lines.append("No readable submission lists any function.")
    lines += ["", "## Most frequent diagnoses", ""]
    diagnoses = count_diagnoses(readable)
    if diagnoses:
        lines += ["| diagnosis | count | functions |", "|---|---:|---|"]
        for diagnosis, count, functions in diagnoses[:TOP_DIAGNOSES]:
            where = ", ".join(f"{f} ({n})" for f, n in sorted(functions.items(),
                                                              key=lambda i: (-i[1], i[0])))
            lines.append(f"| {_cell(diagnosis)} | {count} | {_cell(where)} |")
        if len(diagnoses) > TOP_DIAGNOSES:
            lines += ["", f"{len(diagnoses) - TOP_DIAGNOSES} rarer diagnoses not shown."]
    else:
        lines.append("No diagnoses.")
    lines += ["", "## Possible copies", ""]
    if copied:
        lines += ["Pairs whose functions are the same up to renaming, formatting and comments: a "
                  "hint to look at, not a verdict; scores are unchanged.", "",
                  "| submissions | functions the same | share |", "|---|---|---:|"]
        lines += [f"| {_cell(p.first)} and {_cell(p.second)} | {_cell(', '.join(p.functions))} "
                  f"| {p.share:.0%} |" for p in copied]
    else:
        lines.append("None found.")
    if load_errors:
        lines += ["", "## Submissions that could not be loaded", ""]
        lines += [f"- {_cell(s.name)}: {_cell(_short(s.load_error))}" for s in load_errors]
    if unreadable:
        lines += ["", "## Unreadable results", ""]
        lines += [f"- {_cell(name)}: {_cell(reason)}" for name, reason in unreadable.items()]
    return "\n".join(lines) + "\n"


def write_class_report(out: Path, documents: dict[str, dict]) -> list[Path]:
    """Write summary.csv, report.md, report.html and, with matplotlib, pass_rate.png into out.

    documents maps each entry name to its parsed results.json. Returns the paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(documents)
    graded: dict[str, GradedSubmission] = {}
    unreadable: dict[str, str] = {}
    for name in names:
        try:
            graded[name] = read_submission(name, documents[name])
        except UnreadableDocument as exc:
            unreadable[name] = str(exc)
    functions = _function_order([graded[name] for name in names if name in graded])
    summary = out / "summary.csv"
    _write_summary_csv(summary, names, graded, unreadable, functions)
    written = [summary]
    chart = out / "pass_rate.png"
    tallies = tally_functions([graded[name] for name in names if name in graded])
    has_chart = bool(tallies) and _plot_pass_rates(tallies, chart)
    readable = {name: documents[name] for name in names if name in graded}
    copied = copies.find(readable)
    report = out / "report.md"
    report.write_text(_report_markdown(names, graded, unreadable,
                                       chart.name if has_chart else None, copied),
                      encoding="utf-8")
    written.append(report)
    written.append(html_report.write_html(
        out / "report.html", names, graded, unreadable, tallies,
        count_diagnoses([graded[name] for name in names if name in graded]),
        html_report.diagnosis_examples(readable), copied))
    if has_chart:
        written.append(chart)
    return written
