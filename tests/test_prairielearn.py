"""``bpcheck prairielearn``: a submission in PrairieLearn's layout graded into its external
grader's results, valid against a schema written from PrairieLearn's documentation
(tests/schemas/). Small real gradings: relu only, 3 examples, in the sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bpcheck.cli import main as cli
from bpcheck.grading import prairielearn
from bpcheck.grading.sandbox import process

pytestmark = pytest.mark.xdist_group(name="prairielearn")
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "prairielearn_results.schema.json")
                    .read_text())
WEAK = [] if process.isolation().full else ["--allow-weak-isolation"]
FORWARD = "import numpy as np\ndef relu_forward(x):\n    return np.maximum(x, 0), x\n"
WRONG = FORWARD + "def relu_backward(dout, cache):\n    return dout * (cache < 0)\n"
RUBRIC = ('examples = 3\n[points]\nrelu_forward = 1\nrelu_backward = 2\n'
          '[checks.vjp]\nvisibility = "hidden"\n[gradescope]\noutput_format = "md"\n')


def _grade(root: Path, files: dict[str, str], *extra: str) -> tuple[int, dict]:
    """``root`` laid out as PrairieLearn's /grade: student/, tests/rubric.toml, results/."""
    (root / "student").mkdir(parents=True)
    for name, text in files.items():
        (root / "student" / name).write_text(text)
    (root / "tests").mkdir()
    (root / "tests" / "rubric.toml").write_text(RUBRIC)
    status = cli.main(["prairielearn", "--student", str(root / "student"), "--results",
                       str(root / "results" / "results.json"), "--rubric",
                       str(root / "tests" / "rubric.toml"), *WEAK, *extra])
    return status, json.loads((root / "results" / "results.json").read_text())


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    return _grade(tmp_path_factory.mktemp("grade"), {"student_code.py": WRONG})


def test_results_validate_and_score_the_fraction_earned(wrong):
    status, results = wrong
    assert status == 0
    jsonschema.validate(results, SCHEMA)
    assert results["gradable"] is True
    assert results["score"] == pytest.approx(1 / 3)
    assert sum(t["points"] for t in results["tests"]) == pytest.approx(1.0)
    assert sum(t["max_points"] for t in results["tests"]) == pytest.approx(3.0)
    assert "bpcheck" in results["message"] and "1.00 / 3.00" in results["output"]


def test_tests_are_plain_text_and_hidden_checks_show_only_their_points(wrong):
    _, results = wrong
    assert not any("```" in t["output"] for t in results["tests"])  # md is Gradescope's only
    hidden = [t for t in results["tests"] if t["name"] == "relu_backward: backward matches jax.vjp"]
    assert hidden and hidden[0]["output"] == prairielearn.HIDDEN_OUTPUT
    assert hidden[0]["points"] == 0 and hidden[0]["max_points"] > 0
    failed = [t for t in results["tests"] if t["points"] < t["max_points"]]
    assert all(t["message"] for t in failed)


def test_an_unloadable_file_is_gradable_and_scores_zero(tmp_path):
    status, results = _grade(tmp_path, {"layers.py": "def relu_forward(x:\n"})
    jsonschema.validate(results, SCHEMA)
    assert status == 0 and results["gradable"] and results["score"] == 0
    assert "could not be loaded" in results["output"]


def test_the_schema_refuses_what_prairielearn_would_not_read(wrong):
    _, results = wrong
    for broken in ({**results, "score": 3.0}, {k: v for k, v in results.items() if k != "score"},
                   {**results, "tests": [{"points": 1}]}, {**results, "passed": True}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)
    jsonschema.validate(prairielearn.ungradable("no sandbox"), SCHEMA)


def test_a_missing_student_folder_is_one_sentence(tmp_path, capsys):
    assert cli.main(["prairielearn", "--student", str(tmp_path / "nowhere"), "--results",
                     str(tmp_path / "r.json")]) == 2
    assert "no student folder" in capsys.readouterr().out
