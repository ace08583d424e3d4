"""A file importing modules that are not available here loads with stand-ins (issue 12, item 4):
functions that never touch them are checked as usual, those that do fail with one sentence, the
report lists the stand-ins; an import the file guards itself keeps its fallback; xrange works."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bpcheck import standins
from bpcheck.cli.main import main
from bpcheck.loader import LoadError, load

#: The fixtures import torch as a module a student has and the grader does not; with the bench
#: extra installed here, torch is real and cannot stand in.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is not None,
    reason="torch is installed here (the bench extra): these tests need it absent, as it is in "
           "the test extra and in CI")

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "standins" / "layers.py"
MISSING = ("torch", "torch.nn.functional", "past.builtins", "cs231n.layer_utils")


def test_the_file_loads_with_a_stand_in_for_each_missing_module():
    """Before: LoadError "imports 'torch', which is not installed here" for the whole file."""
    loaded = load(FIXTURE)
    assert [m.module for m in loaded.stand_ins] == list(MISSING)
    assert [m.line for m in loaded.stand_ins] == [6, 7, 9, 10]
    assert not any(name.split(".")[0] in ("torch", "past", "cs231n") for name in sys.modules), (
        "stand-ins stay in sys.modules only while the file is imported")
    functions = loaded.impl.functions
    out, _ = functions["relu_forward"](np.array([[-1.0, 2.0]]))
    assert out.tolist() == [[0.0, 2.0]]  # xrange is range
    with pytest.raises(standins.StandInUsed, match="torch.nn.functional.sigmoid, but torch is "
                                                   "not available here"):
        functions["sigmoid_forward"](np.zeros(2))


def test_check_gives_each_function_its_verdict_and_lists_the_stand_ins(tmp_path, capsys):
    out = tmp_path / "verdict.json"
    status = main(["check", str(FIXTURE), "--examples", "8", "--jobs", "1", "--no-shrink",
                   "--json", str(out)])
    verdict = json.loads(out.read_text())
    functions = verdict["functions"]
    assert status == 1
    for name in ("relu_forward", "relu_backward", "tanh_forward", "tanh_backward"):
        assert functions[name]["status"] == "passed", functions[name]["message"]
    assert functions["sigmoid_forward"]["status"] == "failed"
    assert ("sigmoid_forward uses torch.nn.functional.sigmoid, but torch is not available here "
            "(line 7 of layers.py imports it") in functions["sigmoid_forward"]["message"]
    assert [s["module"] for s in verdict["stand_ins"]] == list(MISSING)
    printed = capsys.readouterr().out
    assert "stand-ins (not available here" in printed and "xrange given for real" in printed


def test_the_api_reports_the_stand_ins_and_workers_load_them_too():
    import bpcheck

    verdict = bpcheck.check(FIXTURE, examples=5, only="relu,sigmoid", jobs=2, shrink=False)
    assert [m.module for m in verdict.stand_ins] == list(MISSING)
    assert verdict["relu_backward"].status == "passed"
    assert verdict["sigmoid_forward"].status == "failed"
    assert "stand-ins (not available here" in verdict.report()


def test_pytest_impl_checks_the_file_and_names_the_stand_ins():
    command = [sys.executable, "-m", "pytest", "-v", "-n", "0", "-p", "no:cacheprovider",
               "tests/test_properties.py", "--bpcheck-impl", str(FIXTURE), "-k",
               "test_battery and (relu or sigmoid or tanh) and not leaky"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "bpcheck stand-ins (not available here" in done.stdout, done.stdout[-2000:]
    assert "test_battery[relu] PASSED" in done.stdout, done.stdout[-3000:]
    assert "test_battery[tanh] PASSED" in done.stdout
    assert "test_battery[sigmoid] FAILED" in done.stdout


def _file(tmp_path: Path, source: str, name: str = "layers.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_guarded_imports_relative_imports_and_neighbours(tmp_path):
    """An import inside ``try``/``except ImportError`` runs the file's fallback; a neighbour
    module that is there is imported for real, and its own missing imports stand in too."""
    _file(tmp_path, "import torch\n\ndef helper(x):\n    return 2 * x\n", "helpers.py")
    path = _file(tmp_path, """
        try:
            import tensorflow
        except (ImportError, AttributeError):
            tensorflow = None
        from helpers import helper
        import scipy_that_is_not_there.sub as sub
    """)
    loaded = load(path)
    assert [(m.module, Path(m.path).name) for m in loaded.stand_ins] == [
        ("torch", "helpers.py"), ("scipy_that_is_not_there.sub", "layers.py")]


def test_a_stand_in_base_class_and_a_use_at_import(tmp_path):
    ok = _file(tmp_path, "from torch import nn\n\nclass Net(nn.Module):\n    pass\n")
    module_net = load(ok)  # the class is defined; making one would raise
    assert module_net.stand_ins[0].module == "torch"
    used = _file(tmp_path, "import torch\nDEVICE = torch.device('cpu')\n", "used.py")
    with pytest.raises(LoadError, match=r"line 2: uses torch.device, but torch is not "
                                        r"available here \(line 1 of used.py imports it"):
        load(used)


def test_grading_loads_the_file_with_the_same_stand_ins_and_forbidden_stays_forbidden(tmp_path):
    """In the sandbox the child has NumPy and the standard library only, and the guard forbids
    torch: the file still loads (a stand-in gives nothing), each function gets the verdict it
    gets in-process, and importing torch for real, later, is refused as before."""
    from bpcheck.grading.grade import grade_submission
    from bpcheck.grading.rubric import Rubric

    shutil.copy(FIXTURE, tmp_path / "layers.py")
    with open(tmp_path / "layers.py", "a") as source:
        source.write("\n\ndef softplus_forward(x):\n    import torch as real_torch\n"
                     "    return real_torch.nn.functional.softplus(x), x\n\n\n"
                     "def softplus_backward(dout, cache):\n    return dout\n")
    document = grade_submission(tmp_path, Rubric(examples=5), seed=0, name="standins")
    data = document["extra_data"]["bpcheck"]
    assert data["load_error"] is None
    assert [s.split(" ")[0] for s in data["stand_ins"]] == list(MISSING)
    statuses = {n: f["status"] for n, f in data["functions"].items() if f["status"] != "missing"}
    assert statuses == {"relu_forward": "passed", "relu_backward": "passed",
                        "tanh_forward": "passed", "tanh_backward": "passed",
                        "sigmoid_forward": "failed", "sigmoid_backward": "failed",
                        "softplus_forward": "failed", "softplus_backward": "failed"}
    outputs = {t["name"]: t["output"] for t in document["tests"]}
    assert outputs["sigmoid_forward: forward matches the JAX twin"].startswith(
        "sigmoid_forward uses torch.nn.functional.sigmoid, but torch is not available here")
    assert "the sandbox forbids importing 'torch'" in outputs[
        "softplus_forward: forward matches the JAX twin"]


def test_a_neighbour_package_is_there_and_its_imports_are_scanned(tmp_path):
    """``from mylayers import *`` with mylayers/ beside the file (the grading tests' class does
    this): not a stand-in, whatever the machine has installed; its own missing imports are."""
    package = tmp_path / "mylayers"
    package.mkdir()
    (package / "__init__.py").write_text("from .core import *\n")
    (package / "core.py").write_text("import numpy as np\nimport torch\n")
    path = _file(tmp_path, "from mylayers import *\n")
    nothing_but_numpy = [m.module for m in standins.scan(path, lambda top: top == "numpy")]
    assert nothing_but_numpy == ["torch"]
