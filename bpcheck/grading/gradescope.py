"""How a graded submission is shown on Gradescope: formats, visibilities, leaderboard, hidden
checks.

``present`` takes the document ``grade`` builds (Gradescope's results.json, plain text) and applies
the rubric's ``[gradescope]`` table:

- ``output_format = "md"``: the submission's summary becomes a Markdown table of its functions, and
  every test's output Markdown (``output_format`` per test): what a submission chose to say (an
  error message) is always shown in a code block, so it cannot add links or markup;
- ``stdout_visibility``: whether students see what ``run_autograder`` printed (default hidden);
- ``leaderboard = true``: the submission's score and the functions it got right, as leaderboard
  columns.

A check the rubric makes ``hidden`` is never shown to students, so the summary, which they see,
names each hidden check that failed (its function and title) without its example; and a visible test
that failed on the very example a hidden one failed on has its output withheld (its message quotes
that example's values), so that the hidden example is shown nowhere a student can look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OUTPUT_FORMATS = ("text", "md")
STDOUT_VISIBILITIES = ("hidden", "visible")
VISIBLE = "visible"
#: Lines of a failed test's output that describe its example (grade._test writes them).
EXAMPLE_PREFIXES = ("example: ", "reproduce: ")
WITHHELD = ("failed on an example that a hidden check failed on too: its details are withheld, "
            "as the hidden check's are")


@dataclass(frozen=True)
class Presentation:
    """The rubric's ``[gradescope]`` table."""

    output_format: str = "text"
    stdout_visibility: str = "hidden"
    leaderboard: bool = False


def _example_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(EXAMPLE_PREFIXES)]


def _function(test: dict[str, Any]) -> str:
    return test["name"].partition(": ")[0]


def _check(test: dict[str, Any]) -> str:
    return test["name"].partition(": ")[2]


def hide_hidden_examples(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Withhold the output of every visible test that failed on an example a failed hidden test
    shows (its message quotes that example's values); return the failed hidden tests."""
    tests = document.get("tests", [])
    failed_hidden = [t for t in tests if t.get("visibility") == "hidden"
                     and t.get("status") == "failed"]
    secret = {line for t in failed_hidden for line in _example_lines(t.get("output", ""))}
    if not secret:
        return failed_hidden
    for test in tests:
        if test.get("visibility") == "hidden":
            continue
        if any(line in secret for line in _example_lines(test.get("output", ""))):
            test["output"] = WITHHELD
    return failed_hidden


def _hidden_summary(failed_hidden: list[dict[str, Any]], markdown: bool) -> str:
    if not failed_hidden:
        return ""
    lines = [f"{_function(t)}: {_check(t)}" for t in failed_hidden]
    if markdown:
        return ("\n\n**Hidden checks that failed** (their examples are not shown):\n\n"
                + "\n".join(f"- `{_code(line)}`" for line in lines))
    return ("\nHidden checks that failed (their examples are not shown): "
            + "; ".join(lines) + ".")


def _code(text: str) -> str:
    """Text for inside a Markdown code span or block: no backtick can end it."""
    return text.replace("`", "'")


def _markdown_test(output: str) -> str:
    return "```text\n" + _code(output) + "\n```" if output else ""


def _markdown_summary(document: dict[str, Any], text: str) -> str:
    """A heading with the score, a table of the functions, then the plain summary (which may
    quote the submission: a load error, its file names) in a code block."""
    functions = (document.get("extra_data", {}).get("bpcheck", {}).get("functions") or {})
    total = sum(f.get("max_score", 0.0) for f in functions.values())
    lines = [f"**{document.get('score', 0.0):g} / {total:g} points**", ""]
    if functions:
        lines += ["| function | status | points |", "|---|---|---:|"]
        lines += [f"| `{_code(name)}` | {f['status']} | {f['score']:g} / {f['max_score']:g} |"
                  for name, f in functions.items()]
        lines.append("")
    return "\n".join(lines + [_markdown_test(text)])


def leaderboard(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Gradescope leaderboard columns for this submission."""
    functions = (document.get("extra_data", {}).get("bpcheck", {}).get("functions") or {})
    right = sum(f.get("status") in ("passed", "warning") for f in functions.values())
    return [{"name": "score", "value": document.get("score", 0.0), "order": "desc"},
            {"name": "functions right", "value": right, "order": "desc"}]


def present(document: dict[str, Any], presentation: Presentation) -> dict[str, Any]:
    """``document`` shaped for Gradescope by ``presentation`` (changed in place and returned)."""
    markdown = presentation.output_format == "md"
    failed_hidden = hide_hidden_examples(document)
    text = document.get("output", "")
    if markdown:
        document["output"] = _markdown_summary(document, text)
        for test in document.get("tests", []):
            test["output"] = _markdown_test(test.get("output", ""))
            test["output_format"] = "md"
        document["output_format"] = document["test_output_format"] = "md"
    document["output"] += _hidden_summary(failed_hidden, markdown)
    document["stdout_visibility"] = presentation.stdout_visibility
    if presentation.leaderboard:
        document["leaderboard"] = leaderboard(document)
    return document
