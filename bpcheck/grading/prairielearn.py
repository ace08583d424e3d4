"""A graded submission as PrairieLearn's external grader reports it.

PrairieLearn runs an external grader's image with the student's files in ``/grade/student`` and
reads ``/grade/results/results.json``: ``gradable`` (false: not the student's fault, the attempt
is not counted), ``score`` as a fraction in [0, 1], a ``message`` and an ``output`` for the whole
submission, and ``tests``, each with a ``name``, a ``description``, ``points`` of ``max_points``, a
``message`` and an ``output``. ``from_document`` makes that from the Gradescope-shaped document
``grade_submission`` returns (plain text: PrairieLearn shows outputs as preformatted text).

PrairieLearn has no per-test visibility, so a check the rubric does not make ``visible`` keeps its
points but not its output: its test says only whether it passed (the example a hidden check failed
on is also withheld from the visible tests, by ``gradescope.hide_hidden_examples``).
"""

from __future__ import annotations

from typing import Any

HIDDEN_OUTPUT = "a hidden check: only its points are shown"


def _test(test: dict[str, Any]) -> dict[str, Any]:
    function, _, check = test["name"].partition(": ")
    shown = test.get("visibility", "visible") == "visible"
    output = test.get("output", "") if shown else HIDDEN_OUTPUT
    first = output.strip().splitlines()[0] if output.strip() else ""
    return {"name": test["name"], "description": f"{check} ({function})" if check else function,
            "points": test["score"], "max_points": test["max_score"],
            "message": "passed" if test["status"] == "passed" else first, "output": output}


def from_document(document: dict[str, Any], gradable: bool = True) -> dict[str, Any]:
    """PrairieLearn's results for a Gradescope-shaped results document."""
    tests = [_test(t) for t in document.get("tests", [])]
    total = sum(t["max_points"] for t in tests)
    score = document.get("score", 0.0) / total if total > 0 else 0.0
    output = document.get("output", "")
    return {"gradable": gradable, "score": round(min(max(score, 0.0), 1.0), 6),
            "message": output.strip().splitlines()[0] if output.strip() else "",
            "output": output, "tests": tests}


def ungradable(why: str) -> dict[str, Any]:
    """Results saying the grader, not the student, failed (PrairieLearn does not count it)."""
    return {"gradable": False, "score": 0.0,
            "message": f"bpcheck could not grade this submission: {why}", "output": why,
            "tests": []}
