"""`bpcheck check FILE` and `pytest --bpcheck-impl FILE`: loading a user's file, verdicts, exit status,
and one clear sentence for every way a plug-in can be broken."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bpcheck.cli.main import main
from bpcheck.loader import LoadError, load

ROOT = Path(__file__).resolve().parent.parent
CORRECT_RELU = """
import numpy as np

def relu_forward(x):
    return np.maximum(x, 0.0), x

def relu_backward(dout, cache):
    return dout * (cache > 0)
"""


def _file(tmp_path, source, name="layers.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def _check(path, tmp_path, *extra):
    """The CLI in this process, without shrinking (the tests of shrinking are in test_checker)."""
    out = tmp_path / "verdict.json"
    status = main(["check", str(path), "--examples", "8", "--jobs", "1", "--no-shrink",
                   "--json", str(out), *extra])
    return status, (json.loads(out.read_text()) if out.exists() else None)


def test_correct_file_passes_and_the_rest_is_missing(tmp_path):
    status, verdict = _check(_file(tmp_path, CORRECT_RELU), tmp_path)
    functions = verdict["functions"]
    assert status == 0
    assert functions["relu_forward"]["status"] == functions["relu_backward"]["status"] == "passed"
    assert functions["affine_backward"]["status"] == "missing"
    assert functions["relu_backward"]["examples"] >= 8


def test_full_cs231n_style_file_passes(tmp_path):
    status, verdict = _check(_file(tmp_path, "from manual import *\n"), tmp_path, "--examples", "3")
    assert status == 0
    assert {f["status"] for f in verdict["functions"].values()} == {"passed"}


def test_worker_processes_give_the_same_verdict(tmp_path):
    """The default path: layers checked in a pool of processes, each loading the file itself."""
    source = "from manual import relu_forward, relu_backward, tanh_forward, tanh_backward\n"
    status, verdict = _check(_file(tmp_path, source), tmp_path, "--jobs", "2", "--examples", "3")
    assert status == 0
    assert {verdict["functions"][f]["status"] for f in ("relu_backward", "tanh_backward")} == {
        "passed"}


def test_a_wrong_backward_fails_only_that_function(tmp_path):
    source = CORRECT_RELU.replace("dout * (cache > 0)", "dout * (cache > 0) * 2.0")
    status, verdict = _check(_file(tmp_path, source), tmp_path)
    assert status == 1
    assert verdict["functions"]["relu_forward"]["status"] == "passed"
    relu = verdict["functions"]["relu_backward"]
    assert relu["status"] == "failed" and "dx differs from jax.vjp" in relu["message"]
    assert relu["failures"][0]["reproduce"].startswith("bpcheck.rebuild('relu'")


@pytest.mark.parametrize("source, expected", [
    ("def relu_forward(x):\n    return x,, None\n", "line 2: syntax error"),
    # a module imported at the top is a stand-in (issue 12: the file loads); one imported by
    # name at import time, or used there, still stops it, saying which
    ("import importlib\nimportlib.import_module('numpyy')\n",
     "imports 'numpyy', which is not installed"),
    ("import numpyy\nnumpyy.zeros(3)\n",
     "line 2: uses numpyy.zeros, but numpyy is not available here"),
    ("x = 1 / 0\n", "line 1: raised ZeroDivisionError: division by zero while being imported"),
    ("import sys\nsys.exit(0)\n", "line 2: calls sys.exit(0) while being imported"),
])
def test_broken_files_get_one_clear_sentence(tmp_path, capsys, source, expected):
    path = _file(tmp_path, source)
    with pytest.raises(LoadError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load(path)
    status, verdict = _check(path, tmp_path)
    assert status == 1 and expected in verdict["error"]
    assert "Traceback" not in capsys.readouterr().out


@pytest.mark.parametrize("path, expected", [
    ("does/not/exist.py", "no such file"), (".", "is not a file"), ("README.md", "not a Python file"),
])
def test_bad_paths_are_usage_errors(capsys, path, expected):
    assert main(["check", str(ROOT / path)]) == 2
    assert expected in capsys.readouterr().out


@pytest.mark.parametrize("source, function, expected", [
    (CORRECT_RELU.replace("def relu_backward(dout, cache)", "def relu_backward(dout)"),
     "relu_backward", "cannot be called as relu_backward(dout, cache)"),
    ("def relu_backward(dout, cache):\n    return dout\n", "relu_backward",
     "cannot be checked without relu_forward"),
])
def test_unusable_functions_are_errors(tmp_path, source, function, expected):
    status, verdict = _check(_file(tmp_path, source), tmp_path)
    assert status == 1
    entry = verdict["functions"][function]
    assert entry["status"] == "error" and expected in entry["message"]


@pytest.mark.parametrize("body, expected", [
    ("return None", "dx is None (not implemented?)"),
    ("return np.array([object()] * cache.size, dtype=object).reshape(cache.shape)",
     "object array"),
    ("return (dout * (cache > 0)).astype(np.float32)", "dtype float32, expected float64"),
    ("raise ValueError('not yet')", "relu_backward raised ValueError: not yet (at "),
])
def test_bad_return_values_are_named(tmp_path, body, expected):
    source = CORRECT_RELU.replace("return dout * (cache > 0)", body)
    status, verdict = _check(_file(tmp_path, source), tmp_path)
    assert status == 1
    assert expected in verdict["functions"]["relu_backward"]["message"]


CUBE = """
import numpy as np
import jax.numpy as jnp

def cube_forward(x):
    return x ** 3, x

def cube_backward(dout, cache):
    return dout * 3 * cache ** 2

def cube_reference(x):
    return jnp.power(x, 3)
"""


def test_a_new_layer_brings_its_twin(tmp_path):
    status, verdict = _check(_file(tmp_path, CUBE), tmp_path)
    assert status == 0 and verdict["functions"]["cube_backward"]["status"] == "passed"
    wrong = CUBE.replace("dout * 3 * cache ** 2", "dout * 2 * cache ** 2")
    status, verdict = _check(_file(tmp_path, wrong, "wrong.py"), tmp_path)
    assert status == 1 and verdict["functions"]["cube_backward"]["status"] == "failed"


def test_a_new_layer_with_several_arguments_needs_a_sampler(tmp_path):
    source = CUBE.replace("def cube_reference(x)", "def cube_reference(x, y)")
    with pytest.raises(LoadError, match="define cube_sample"):
        load(_file(tmp_path, source))


def test_pytest_impl_runs_the_suite_on_a_file(tmp_path):
    wrong = _file(tmp_path, CORRECT_RELU.replace("(cache > 0)", "(cache >= 0) * 1.5"))
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
               "tests/test_properties.py", "--bpcheck-impl", str(wrong), "-k", "relu or tanh"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "1 failed" in done.stdout and "skipped" in done.stdout, done.stdout[-2000:]
    assert "test_battery[relu]" in done.stdout


def test_a_wrong_forward_does_not_fail_a_correct_backward(tmp_path):
    source = CORRECT_RELU.replace("return np.maximum(x, 0.0), x", "return np.maximum(x, 0.0) * 2, x")
    status, verdict = _check(_file(tmp_path, source), tmp_path, "--examples", "20")
    assert status == 1
    assert verdict["functions"]["relu_forward"]["status"] == "failed"
    assert verdict["functions"]["relu_backward"]["status"] == "passed"


def test_the_relu_kink_convention_is_a_warning_not_a_failure(tmp_path, capsys):
    source = CORRECT_RELU.replace("(cache > 0)", "(cache >= 0)")
    status, verdict = _check(_file(tmp_path, source), tmp_path, "--examples", "30")
    relu = verdict["functions"]["relu_backward"]
    assert status == 0 and relu["status"] == "warning", relu
    assert "relu'(0) = 0" in relu["message"]


def test_only_checks_the_layers_named(tmp_path, capsys):
    path = _file(tmp_path, "from manual import *\n")
    status, verdict = _check(path, tmp_path, "--only", "relu_backward,tanh")
    assert status == 0
    assert set(verdict["functions"]) == {"relu_forward", "relu_backward", "tanh_forward",
                                         "tanh_backward"}
    assert main(["check", str(path), "--only", "reluu"]) == 2
    assert "unknown layer or function reluu" in capsys.readouterr().out
