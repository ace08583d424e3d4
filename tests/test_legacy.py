"""Code from older course years gets one sentence naming the cause and the fix (issue 12,
item 5): NumPy's removed aliases, Python 3's `/` giving a float where a shape is due, Python 2
syntax; ``--numpy-aliases`` restores the aliases for a course that still uses them, and says so."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from bpcheck import legacy
from bpcheck.cli.main import main
from bpcheck.loader import LoadError, load

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "legacy" / "layers.py"


def _numpy_error(alias: str) -> str:
    """NumPy's own message for a removed alias (so that a change of its wording shows here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            getattr(np, alias)
        except AttributeError as exc:
            return f"relu_forward raised AttributeError: {str(exc).splitlines()[0]}"
    pytest.skip(f"this NumPy has np.{alias} (restored by --numpy-aliases in this process?)")


@pytest.mark.parametrize("alias", [a for a in legacy.NUMPY_ALIASES if a not in ("bool", "long")])
def test_each_removed_alias_is_named_with_its_fix(alias):
    builtin = legacy.NUMPY_ALIASES[alias].__name__
    assert legacy.explain(_numpy_error(alias)) == (
        f"np.{alias} was removed in NumPy 1.24: use {builtin} (or `bpcheck check "
        f"--numpy-aliases` for a course that still uses them)")


@pytest.mark.parametrize("expression, cause", [
    ("np.zeros(5 / 2)", "a float used as a shape or a count"),
    ("np.zeros((5 / 2, 3))", "a float used as a shape or a count"),
    ("np.ones(4).reshape(4 / 2, 2)", "a float used as a shape or a count"),
    ("range(5 / 2)", "a float used as a shape or a count"),
    ("np.ones(np.float64(4.0))", "a float used as a shape or a count"),
    ("np.ones(4)[4 / 2]", "a float used as an index"),
    ("np.ones(4)[:4 / 2]", "a float used as an index"),
    ("xrange(3)", "xrange is Python 2's range: use range"),
    ("{}.iteritems()", "dict.iteritems is Python 2: use items()"),
])
def test_python2_idioms_are_named(expression, cause):
    try:
        eval(expression)
    except Exception as exc:  # noqa: BLE001  (the message is what is judged)
        explained = legacy.explain(f"f raised {type(exc).__name__}: {exc}")
    assert explained is not None and explained.startswith(cause), explained


def test_an_unrelated_error_gets_no_explanation():
    assert legacy.explain("relu_forward raised ValueError: not yet") is None
    assert legacy.explain("module 'numpy' has no attribute 'fancy'") is None


@pytest.mark.parametrize("source, fix", [
    ("def relu_forward(x):\n    print 'relu'\n    return x, x\n",
     "line 2: syntax error: Missing parentheses in call to 'print'. Did you mean print(...)? — "
     "a Python 2 print statement: write print(...)"),
    ("try:\n    pass\nexcept ValueError, e:\n    pass\n",
     "Python 2's `except E, e:`: write `except E as e:`"),
    ("import numpy as np\nDTYPE = np.float\n",
     "line 2: raised AttributeError: module 'numpy' has no attribute 'float'. while being "
     "imported — np.float was removed in NumPy 1.24: use float"),
])
def test_a_file_that_cannot_load_says_why_in_one_sentence(tmp_path, source, fix):
    path = tmp_path / "layers.py"
    path.write_text(source)
    with pytest.raises(LoadError) as caught:
        load(path)
    assert fix in str(caught.value) and "\n" not in str(caught.value)


def test_check_names_the_cause_of_each_failure(tmp_path):
    out = tmp_path / "verdict.json"
    assert main(["check", str(FIXTURE), "--examples", "5", "--jobs", "1", "--no-shrink",
                 "--json", str(out)]) == 1
    functions = json.loads(out.read_text())["functions"]
    relu = functions["relu_forward"]
    assert relu["status"] == "failed"
    assert relu["failures"][0]["diagnosis"].startswith("np.float was removed in NumPy 1.24")
    assert "(at " in relu["message"] and "layers.py:8: out = np.maximum" in relu["message"]
    tanh = functions["tanh_backward"]
    assert tanh["failures"][0]["diagnosis"] == (
        "a float used as a shape or a count: integer division `//` in Python 3?")


def test_numpy_aliases_restores_them_and_says_so(tmp_path):
    """In a process of its own (the option gives NumPy its aliases back for the whole process),
    with worker processes, which restore them too."""
    out = tmp_path / "verdict.json"
    done = subprocess.run([sys.executable, "-m", "bpcheck.cli.main", "check", str(FIXTURE),
                           "--numpy-aliases", "--examples", "5", "--jobs", "2", "--json",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    verdict = json.loads(out.read_text())
    assert {"int", "float"} <= set(verdict["numpy_aliases"])
    assert "NumPy aliases restored (--numpy-aliases): np.int, np.float" in done.stdout
    assert verdict["functions"]["relu_forward"]["status"] == "passed"
    assert verdict["functions"]["relu_backward"]["status"] == "passed"
    assert verdict["functions"]["tanh_backward"]["status"] == "failed"  # `/` is still the code's


def test_grading_names_the_cause_too(tmp_path):
    """The sandbox reports the error as a string; the same sentence is read from it."""
    from bpcheck.grading.grade import grade_submission
    from bpcheck.grading.rubric import Rubric

    shutil.copy(FIXTURE, tmp_path / "layers.py")
    document = grade_submission(tmp_path, Rubric(examples=5), seed=0, name="legacy")
    diagnoses = document["extra_data"]["bpcheck"]["functions"]
    assert any(d.startswith("np.float was removed") for d in diagnoses["relu_forward"]["diagnoses"])
    assert diagnoses["tanh_backward"]["diagnoses"] == [
        "a float used as a shape or a count: integer division `//` in Python 3?"]


def test_the_api_takes_the_option_too():
    code = ("import bpcheck; v = bpcheck.check(%r, numpy_aliases=True, examples=5, only='relu'); "
            "print(v.passed, 'float' in v.numpy_aliases)" % str(FIXTURE))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.split() == ["True", "True"], done.stdout + done.stderr[-2000:]
