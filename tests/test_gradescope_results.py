"""results.json as Gradescope reads it: valid against a schema written from Gradescope's
specification (tests/schemas/), Markdown when asked, a leaderboard when asked, and hidden checks
that students learn failed (function and check) without ever seeing the hidden example.

Each document is a real grading of a small submission (relu only, 3 examples) in the sandbox.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from bpcheck.grading.gradescope import EXAMPLE_PREFIXES, WITHHELD
from bpcheck.grading.grade import grade_submission
from bpcheck.grading.rubric import RubricError, load
from bpcheck.grading.sandbox import process
from bpcheck.registry import REGISTRY

pytestmark = pytest.mark.xdist_group(name="gradescope-results")
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json")
                    .read_text())
WEAK = not process.isolation().full
FORWARD = "import numpy as np\ndef relu_forward(x):\n    return np.maximum(x, 0), x\n"
WRONG = FORWARD + "def relu_backward(dout, cache):\n    return dout * (cache < 0)\n"
RUBRIC = """examples = 3
[points]
relu_forward = 1
relu_backward = 2
[checks.vjp]
visibility = "hidden"
"""


def _grade(tmp_path: Path, source: str, rubric: str) -> dict:
    (tmp_path / "layers.py").write_text(source)
    (tmp_path / "rubric.toml").write_text(rubric)
    return grade_submission(tmp_path / "layers.py", load(tmp_path / "rubric.toml", REGISTRY),
                            seed=1, name="student@example.edu", allow_weak=WEAK)


def _visible_text(document: dict) -> str:
    """Everything a student can read: the summary and the visible tests' names and outputs."""
    parts = [document["output"]]
    for test in document["tests"]:
        if test.get("visibility", "visible") == "visible":
            parts += [test["name"], test["output"]]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    return _grade(tmp_path_factory.mktemp("wrong"), WRONG, RUBRIC)


@pytest.fixture(scope="module")
def wrong_md(tmp_path_factory):
    return _grade(tmp_path_factory.mktemp("md"), WRONG, RUBRIC + (
        '[gradescope]\noutput_format = "md"\nstdout_visibility = "visible"\nleaderboard = true\n'))


def test_results_validate_against_gradescopes_specification(wrong, wrong_md):
    jsonschema.validate(wrong, SCHEMA)
    jsonschema.validate(wrong_md, SCHEMA)


def test_the_schema_refuses_what_gradescope_would_not_read(wrong):
    for broken in ({**wrong, "visibility": "secret"}, {**wrong, "output_format": "markdown"},
                   {**wrong, "leaderboard": [{"name": "score"}]},
                   {**wrong, "tests": [{**wrong["tests"][0], "status": "ok"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


def test_a_hidden_check_that_failed_is_named_but_its_example_is_not_shown(wrong):
    hidden = [t for t in wrong["tests"] if t["visibility"] == "hidden"]
    assert hidden and all(t["name"].startswith("relu_backward: ") for t in hidden)
    failed = [t for t in hidden if t["status"] == "failed"]
    assert failed, "the wrong backward must fail the hidden vjp check"
    secret = [line for t in failed for line in t["output"].splitlines()
              if line.startswith(EXAMPLE_PREFIXES)]
    assert secret, "the hidden test keeps its example for the staff"
    visible = _visible_text(wrong)
    assert f"relu_backward: {failed[0]['name'].partition(': ')[2]}" in wrong["output"]
    assert not [line for line in secret if line.partition(": ")[2] in visible]
    values = {v[:7] for t in failed for v in re.findall(r"\d\.\d{5,}", t["output"])}
    assert values, "the hidden failure quotes the example's values"
    assert not [v for v in values if v in visible], "a hidden example's value is shown"


def test_a_visible_check_failing_on_the_hidden_example_withholds_it(wrong):
    visible_failed = [t for t in wrong["tests"] if t["visibility"] == "visible"
                      and t["status"] == "failed" and t["name"].startswith("relu_backward")]
    assert any(WITHHELD in t["output"] for t in visible_failed)


def test_markdown_output_and_leaderboard(wrong_md):
    assert wrong_md["output_format"] == "md" and wrong_md["stdout_visibility"] == "visible"
    assert "| `relu_backward` | failed |" in wrong_md["output"]
    assert all(t["output_format"] == "md" and t["output"].startswith("```text")
               for t in wrong_md["tests"])
    assert {e["name"]: e["value"] for e in wrong_md["leaderboard"]} == {
        "score": wrong_md["score"], "functions right": 1}


def test_submission_text_cannot_close_a_markdown_code_block(tmp_path):
    document = _grade(tmp_path, "raise ValueError('```\\n<img src=x onerror=alert(1)>')\n",
                      RUBRIC + '[gradescope]\noutput_format = "md"\n')
    jsonschema.validate(document, SCHEMA)
    assert document["output"].count("```") == 2  # the one block, opened and closed


@pytest.mark.parametrize("table, words", [
    ('output_format = "markdown"', "output_format must be one of text, md"),
    ('stdout_visibility = "after_due_date"', "stdout_visibility must be one of"),
    ("leaderboard = 1", "leaderboard must be true or false"),
    ("colour = 1", "unknown key 'colour'"),
])
def test_a_bad_gradescope_table_is_one_sentence(tmp_path, table, words):
    (tmp_path / "rubric.toml").write_text(f"[gradescope]\n{table}\n")
    with pytest.raises(RubricError, match=words):
        load(tmp_path / "rubric.toml", REGISTRY)
