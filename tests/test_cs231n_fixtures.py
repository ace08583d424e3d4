"""A layers.py written as the cs231n starter code is (tests/fixtures/cs231n/layers.py) is checked
end to end with no false alarm, and the defects that hide behind its conventions are still caught
and named (issue 12, item 6).

The conventions: ``out, cache = None, None`` with the cache filled in train mode only (the
protocol defines batchnorm's backward in train mode: before, 7 of 8 real files failed
``batchnorm_backward`` with "cannot unpack non-iterable NoneType"), ``bn_param.get`` defaults,
layer normalization computed through batchnorm on the transpose with ``ln_param['mode'] =
'train'`` (keys added to ln_param: a warning naming them, not a failure), an unused
``import torch`` (a stand-in).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bpcheck.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "cs231n" / "layers.py"
DEFINED = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
           "batchnorm_forward", "batchnorm_backward", "layernorm_forward", "layernorm_backward",
           "svm_loss", "softmax_loss")
pytestmark = pytest.mark.xdist_group(name="cs231n-fixture")


def _check(path: Path, tmp_path: Path, examples: int = 30) -> tuple[int, dict]:
    out = tmp_path / "verdict.json"
    status = main(["check", str(path), "--examples", str(examples), "--jobs", "1",
                   "--no-shrink", "--json", str(out)])
    return status, json.loads(out.read_text())


def test_the_starter_style_file_passes_with_no_false_alarm(tmp_path):
    status, verdict = _check(FIXTURE, tmp_path)
    functions = verdict["functions"]
    statuses = {name: functions[name]["status"] for name in DEFINED}
    assert status == 0, {n: functions[n]["message"] for n in DEFINED if statuses[n] != "passed"}
    assert set(statuses.values()) <= {"passed", "warning"}, statuses
    warned = [functions[n]["message"] for n in DEFINED if statuses[n] == "warning"]
    assert all("layernorm_forward added ln_param['mode']" in m for m in warned), warned
    # the file imports torch, which stands in where it is not installed (the bench extra has it)
    absent = importlib.util.find_spec("torch") is None
    assert [s["module"] for s in verdict["stand_ins"]] == (["torch"] if absent else [])


def test_pytest_impl_passes_the_starter_style_file():
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
               "tests/test_properties.py", "--bpcheck-impl", str(FIXTURE)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and " failed" not in done.stdout, done.stdout[-3000:]


#: (name, text replaced, replacement, function that must fail, what its verdict must say)
PLANTED = [
    ("a (1, D) dgamma", "dgamma = np.sum(dout * x_hat, axis=0)  # batchnorm's dgamma",
     "dgamma = np.sum(dout * x_hat, axis=0, keepdims=True)", "batchnorm_backward",
     "dgamma kept a dimension ((1, "),
    ("a test mode that forgets gamma and beta", "out = gamma * x_hat + beta  # test-mode output",
     "out = x_hat", "batchnorm_forward", "output differs from the JAX twin"),
    ("a test mode that updates the running statistics",
     "out = gamma * x_hat + beta  # test-mode output",
     "out = gamma * x_hat + beta\n"
     "        running_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0)",
     "batchnorm_forward", "bn_param['running_mean']"),
]


@pytest.mark.parametrize("name, old, new, function, named", PLANTED, ids=[p[0] for p in PLANTED])
def test_a_defect_behind_a_convention_is_still_caught_and_named(tmp_path, name, old, new,
                                                                 function, named):
    source = FIXTURE.read_text()
    assert source.count(old) == 1, f"the fixture changed: {old!r}"
    planted = tmp_path / "layers.py"
    planted.write_text(source.replace(old, new))
    status, verdict = _check(planted, tmp_path, examples=60)
    entry = verdict["functions"][function]
    assert status == 1 and entry["status"] == "failed", (name, entry["status"])
    assert named in entry["message"], entry["message"]
    others = {n: verdict["functions"][n]["status"] for n in DEFINED if n != function}
    assert set(others.values()) <= {"passed", "warning"}, others


def test_grading_the_starter_style_file_takes_no_point_away(tmp_path):
    """Graded in the sandbox (where torch is forbidden: an unused import is a stand-in there
    too), every function it defines earns its points."""
    from bpcheck.grading.grade import grade_submission
    from bpcheck.grading.rubric import Rubric

    shutil.copy(FIXTURE, tmp_path / "layers.py")
    rubric = Rubric(points={name: 1.0 for name in DEFINED})
    document = grade_submission(tmp_path, rubric, seed=0, name="starter")
    data = document["extra_data"]["bpcheck"]
    assert data["load_error"] is None and data["stand_ins"] == ["torch (line 3 of layers.py)"]
    failed = [(t["name"], t["output"][:200]) for t in document["tests"] if t["status"] == "failed"]
    total = sum(t["max_score"] for t in document["tests"])
    # (each function once: batchnorm_forward, shared with batchnorm_backward_alt, was counted
    # twice before; the max scores are rounded to 6 decimals)
    assert not failed and total >= len(DEFINED) - 1e-4, failed
    assert document["score"] == pytest.approx(total, abs=1e-4)


def test_the_default_rubric_weighs_every_check_of_the_battery():
    """Grading with the default rubric gives every check a weight: before, the properties check
    (max-pool's ties, dropout's mask) had none, and grading any submission with the default
    rubric ended in KeyError: 'properties' (found grading this fixture)."""
    from bpcheck.battery.checks import BATTERY
    from bpcheck.grading.rubric import load
    from bpcheck.registry import REGISTRY

    rubric = load(None, REGISTRY)
    assert {check.name for check in BATTERY} <= set(rubric.weights)
    for layer in REGISTRY:
        for function in layer.functions:
            assert rubric.tests_of(function, layer)
