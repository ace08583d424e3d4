"""The course package as students hand it in (issue 17): a folder holding ``cs231n/`` or its zip,
loaded as a package under its own name (absolute and relative imports both work), checked by
``bpcheck check`` and graded by ``bpcheck grade --assignment`` with full marks when correct; a
module that cannot be imported costs its own functions one sentence each.

The fixtures (tests/fixtures/packages/a1, a2, a3) are written by tools/make_package_fixtures.py
from manual/. The default profile checks each package on a few functions and examples (a whole
package compiles ~100 JAX programs); ``HYPOTHESIS_PROFILE=thorough`` checks every function.
"""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bpcheck import package, profiles
from bpcheck.cli.main import main
from bpcheck.loader import LoadError, load
from bpcheck.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "packages"
THOROUGH = profiles.load() == "thorough"
pytestmark = pytest.mark.xdist_group(name="packages")

#: What each fixture package defines, by the protocol's names.
DEFINES = {
    "a1": {"affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss",
           "svm_loss", "affine_relu_forward", "affine_relu_backward", "svm_loss_naive",
           "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized", "TwoLayerNet",
           "neural_net_TwoLayerNet"},
    "a2": {"FullyConnectedNet", "ThreeLayerConvNet", "TwoLayerNet", "conv_forward_naive",
           "spatial_groupnorm_backward", "batchnorm_backward_alt", "dropout_forward",
           "conv_bn_relu_backward"},
    "a3": {"rnn_step_forward", "lstm_backward", "word_embedding_backward",
           "temporal_softmax_loss", "CaptioningRNN"},
}
#: Checked in the default profile (each module's own kind of function, the models above all).
QUICK = {"a1": "svm_loss_vectorized,softmax_loss_naive,neural_net_TwoLayerNet,TwoLayerNet",
         "a2": "FullyConnectedNet,ThreeLayerConvNet,affine_relu",
         "a3": "CaptioningRNN,lstm_step"}


@pytest.fixture(autouse=True)
def _forget_the_packages():
    """Each test's package leaves sys.modules and sys.path as they were: a ``cs231n`` left
    imported counts as available to a later file's stand-in scan (test_standins, same worker)."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name == "cs231n" or name.startswith(("cs231n.", "bpcheck_user_layers_")):
            del sys.modules[name]


def test_the_fixtures_are_what_the_tool_writes():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_package_fixtures
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert make_package_fixtures.main(check=True) == 0, "run tools/make_package_fixtures.py"


@pytest.mark.parametrize("assignment", sorted(DEFINES))
def test_a_package_loads_under_its_own_name_with_both_import_styles(assignment):
    loaded = load(FIXTURES / assignment)
    assert DEFINES[assignment] <= set(loaded.impl.functions), (
        DEFINES[assignment] - set(loaded.impl.functions))
    assert not loaded.problems, loaded.problems
    twin = loaded.impl.functions.get("TwoLayerNet")
    if twin is not None:  # a model class, adapted; defined in the package's own module
        assert twin.__wrapped_model__.__module__ == "cs231n.classifiers.fc_net"


def _check(path: Path, tmp_path: Path, only: str | None) -> tuple[int, dict]:
    out = tmp_path / "verdict.json"
    arguments = ["check", str(path), "--examples", "20" if THOROUGH else "4", "--jobs", "1",
                 "--no-shrink", "--json", str(out)]
    status = main(arguments + ([] if only is None else ["--only", only]))
    return status, json.loads(out.read_text())["functions"]


@pytest.mark.parametrize("assignment", sorted(DEFINES))
def test_a_correct_package_passes_bpcheck_check(assignment, tmp_path):
    status, functions = _check(FIXTURES / assignment, tmp_path,
                               None if THOROUGH else QUICK[assignment])
    checked = {n: f["status"] for n, f in functions.items() if f["status"] != "missing"}
    assert status == 0 and set(checked.values()) == {"passed"}, checked


def test_a_zip_of_the_package_checks_like_the_folder(tmp_path):
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in (FIXTURES / "a3").rglob("*.py"):
            zipped.write(file, file.relative_to(FIXTURES / "a3"))
    assert set(load(archive).impl.functions) == set(load(FIXTURES / "a3").impl.functions)


def _broken(tmp_path: Path, module: str, text: str) -> Path:
    folder = tmp_path / "student"
    shutil.copytree(FIXTURES / "a1", folder)
    (folder / "cs231n" / module).write_text(text)
    return folder


def test_a_python_2_file_costs_its_own_functions_one_sentence(tmp_path):
    folder = _broken(tmp_path, "classifiers/linear_svm.py",
                     "import numpy as np\n\ndef svm_loss_naive(W, X, y, reg):\n"
                     "    print 'loss'\n    return 0.0, W\n")
    loaded = load(folder)
    why = loaded.problems["svm_loss_naive"]
    assert why.startswith("cs231n/classifiers/linear_svm.py, line 4 is Python 2 code"), why
    assert loaded.problems["svm_loss_vectorized"] == why and "\n" not in why
    assert "softmax_loss_naive" not in loaded.problems  # the other modules load as usual
    assert "softmax_loss_naive" in loaded.impl.functions


def test_a_module_raising_at_import_is_named_with_its_line(tmp_path):
    folder = _broken(tmp_path, "classifiers/fc_net.py",
                     "import numpy as np\n\nW = np.zeros(3)\nW.undefined_attribute\n")
    why = load(folder).problems["TwoLayerNet"]
    assert why.startswith("cs231n/classifiers/fc_net.py, line 4: raised AttributeError"), why


def test_a_helper_not_handed_in_is_absent_until_used():
    loaded = load(FIXTURES / "a2")  # fast_layers.py imports the Cython im2col (not there)
    assert not loaded.problems and "ThreeLayerConvNet" in loaded.impl.functions
    fast = sys.modules["cs231n.fast_layers"]
    with pytest.raises(ImportError, match="im2col_cython, which was not handed in"):
        fast.conv_forward_fast(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), np.zeros(1),
                               {"pad": 0, "stride": 1})


def test_a_folder_without_the_package_is_one_sentence(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "empty.zip").write_bytes(b"not a zip")
    with pytest.raises(LoadError, match="cannot be read as a zip"):
        load(tmp_path / "empty.zip")
    with pytest.raises(LoadError, match="is not a file"):
        load(tmp_path / "notes")


@pytest.mark.parametrize("preset, assignment, total", [
    ("cs231n-a1", "a1", 28.0), ("cs231n-a1-2017", "a1", 20.0), ("cs231n-a2", "a2", 46.0),
    ("cs231n-a2-2017", "a2", 41.0), ("cs231n-a3", "a3", 23.0)])
def test_each_preset_lists_what_its_fixture_defines(preset, assignment, total):
    from bpcheck.grading import presets
    from bpcheck.grading.rubric import load as load_rubric

    rubric = load_rubric(None, REGISTRY, presets.path_of(preset))
    assert set(rubric.points) <= set(load(FIXTURES / assignment).impl.functions)
    assert sum(rubric.points.values()) == total


def test_a_rubric_file_is_laid_on_top_of_a_preset(tmp_path):
    from bpcheck.grading import presets
    from bpcheck.grading.rubric import RubricError, load as load_rubric

    own = tmp_path / "rubric.toml"
    own.write_text("examples = 7\n[points]\nCaptioningRNN = 10\n")
    rubric = load_rubric(own, REGISTRY, presets.path_of("cs231n-a3"))
    assert rubric.examples == 7 and rubric.points["CaptioningRNN"] == 10
    assert rubric.points["lstm_backward"] == 3  # the preset's, kept
    with pytest.raises(RubricError, match="no assignment preset 'cs231n-a9'; known: cs231n-a1"):
        presets.path_of("cs231n-a9")


def test_grading_a_zip_and_the_folder_gives_full_marks(tmp_path):
    """Through the sandbox (the child imports the staged package: nothing of bpcheck): the a3
    preset on 3 examples per layer in the default profile, the a2 preset in full under thorough."""
    assignment, total = ("a2", 46.0) if THOROUGH else ("a3", 23.0)
    submissions = tmp_path / "class"
    shutil.copytree(FIXTURES / assignment, submissions / "alice")
    with zipfile.ZipFile(submissions / "bob.zip", "w") as zipped:
        for file in (FIXTURES / assignment).rglob("*.py"):
            zipped.write(file, Path("handed_in") / file.relative_to(FIXTURES / assignment))
    arguments = ["grade", str(submissions), "--out", str(tmp_path / "out"), "--assignment",
                 f"cs231n-{assignment}", "--allow-weak-isolation"]
    if not THOROUGH:
        narrow = tmp_path / "narrow.toml"
        narrow.write_text("examples = 3\n")
        arguments += ["--rubric", str(narrow)]
    assert main(arguments) == 0
    for name in ("alice", "bob"):
        document = json.loads((tmp_path / "out" / name / "results.json").read_text())
        assert document["score"] == pytest.approx(total, abs=1e-3), [
            (t["name"], t["output"][:200]) for t in document["tests"] if t["score"] < t["max_score"]]
    assert package.holds_package(submissions / "bob.zip")
