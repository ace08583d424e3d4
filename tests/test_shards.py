"""Sharded grading: three shards, each its own process, merge to what one run gives.

A small class (right, wrong, unloadable and incomplete submissions; two functions, 3 examples) is
graded once whole and once as three ``bpcheck grade --shard`` processes running at once: two
write into one shared folder (as pods sharing a volume would), the third, told its place by
Kubernetes' Indexed Job variables, into its own. ``bpcheck grade merge`` must then give the single
run's per-submission results, summary and report, identical apart from timings (and the throwaway
uid each submission's sandbox ran under). Bad sets of shards are refused in one sentence, with
nothing overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bpcheck.cli import main as cli
from bpcheck.grading import shards
from bpcheck.grading.sandbox import process

pytestmark = pytest.mark.xdist_group(name="shards")
ROOT = Path(__file__).resolve().parent.parent
WEAK = [] if process.isolation().full else ["--allow-weak-isolation"]
RUBRIC = "examples = 3\n[points]\nrelu_forward = 1\nrelu_backward = 2\n"
FORWARD = "import numpy as np\ndef relu_forward(x):\n    return np.maximum(x, 0), x\n"
CLASS = {
    "ada": FORWARD + "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n",
    "bob": FORWARD + "def relu_backward(dout, cache):\n    return dout * (cache >= 0)\n",
    "cyd": FORWARD + "def relu_backward(dout, cache):\n    return dout\n",
    "dee": "def relu_forward(x:\n",
    "eve": FORWARD,
    "fay": FORWARD + "def relu_backward(dout, cache):\n    return (cache > 0) * dout\n",
}
SECONDS = 300  # each command, whatever it meets


def _bpcheck(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bpcheck.cli", *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(*running: subprocess.Popen) -> None:
    for child in running:
        output, _ = child.communicate(timeout=SECONDS)
        assert child.returncode == 0, output


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    submissions = root / "class"
    submissions.mkdir()
    for name, source in CLASS.items():
        (submissions / f"{name}.py").write_text(source)
    rubric = root / "rubric.toml"
    rubric.write_text(RUBRIC)
    common = [str(submissions), "--rubric", str(rubric), "--seed", "3", *WEAK]
    shared, own = root / "shared", root / "own"
    running = [_bpcheck("grade", *common, "--out", str(root / "single")),
               _bpcheck("grade", *common, "--out", str(shared), "--shard", "0/3"),
               _bpcheck("grade", *common, "--out", str(shared), "--shard", "1/3"),
               _bpcheck("grade", *common, "--out", str(own),
                        env={shards.INDEX_VARIABLE: "2", shards.COUNT_VARIABLE: "3"})]
    _finish(*running)
    return root


def _comparable(document: dict) -> dict:
    """A results.json without what differs between two runs of one grading: times, sandbox uid."""
    document = json.loads(json.dumps(document))
    document.pop("execution_time")
    isolation = document["extra_data"]["bpcheck"].get("isolation") or {}
    uid = isolation.pop("uid", None)
    if uid is not None:
        isolation["summary"] = isolation["summary"].replace(str(uid), "UID")
    return document


def _class_output(out: Path) -> dict[str, object]:
    found = {p.parent.name: _comparable(json.loads(p.read_text()))
             for p in out.glob("*/results.json")}
    for name in ("summary.csv", "report.md"):
        found[name] = (out / name).read_text()
    return found


def test_three_shards_merge_to_the_single_run(graded, tmp_path, capsys):
    merged = tmp_path / "merged"
    assert cli.main(["grade", "merge", str(graded / "shared"), str(graded / "own"),
                     "--into", str(merged)]) == 0
    single = _class_output(graded / "single")
    assert sorted(k for k in single if "." not in k) == sorted(CLASS)
    assert _class_output(merged) == single


def test_each_shard_graded_its_share_only(graded):
    shared = {p.parent.name for p in (graded / "shared").glob("*/results.json")}
    own = {p.parent.name for p in (graded / "own").glob("*/results.json")}
    assert shared == {"ada", "bob", "dee", "eve"} and own == {"cyd", "fay"}
    assert not (graded / "own" / "report.md").exists()  # the class report waits for the merge


def _error(capsys, *args: str) -> str:
    assert cli.main(["grade", "merge", *args]) == 2
    text = " ".join(capsys.readouterr().out.split())
    assert "Traceback" not in text
    return text


def test_a_missing_shard_is_named(graded, capsys):
    assert "shard 2/3 of 3 is missing" in _error(capsys, str(graded / "shared"))


def test_a_shard_given_twice_is_refused(graded, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(graded / "own", copy)
    text = _error(capsys, str(graded / "shared"), str(graded / "own"), str(copy),
                  "--into", str(tmp_path / "m"))
    assert "shard 2/3 appears twice" in text
    assert not (tmp_path / "m").exists()


def test_overlapping_shares_are_refused(graded, tmp_path, capsys):
    bent = tmp_path / "bent"
    shutil.copytree(graded / "own", bent)
    manifest = bent / shards.MANIFESTS / "shard-2-of-3.json"
    document = json.loads(manifest.read_text())
    document["submissions"].append("ada")
    manifest.write_text(json.dumps(document))
    text = _error(capsys, str(graded / "shared"), str(bent), "--into", str(tmp_path / "m"))
    assert "'ada' was graded by two shards" in text


def test_shards_of_different_rubrics_are_refused(graded, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(graded / "own", other)
    manifest = other / shards.MANIFESTS / "shard-2-of-3.json"
    manifest.write_text(manifest.read_text().replace('"rubric": "', '"rubric": "0'))
    text = _error(capsys, str(graded / "shared"), str(other), "--into", str(tmp_path / "m"))
    assert "different the rubric" in text and "not shards of one run" in text


def test_a_different_result_already_there_is_never_overwritten(graded, tmp_path, capsys):
    dest = tmp_path / "dest"
    (dest / "fay").mkdir(parents=True)
    (dest / "fay" / "results.json").write_text('{"score": 1}')
    text = _error(capsys, str(graded / "shared"), str(graded / "own"), "--into", str(dest))
    assert "already exists and differs" in text
    assert (dest / "fay" / "results.json").read_text() == '{"score": 1}'
    assert not (dest / "ada").exists()


def test_a_folder_without_shards_is_named(tmp_path, capsys):
    assert "no shard manifest" in _error(capsys, str(tmp_path))


@pytest.mark.parametrize("given, words", [
    ("3/3", "between 0 and 2"), ("1", "expected i/N"), ("0/0", "at least 1"), ("-1/2", "i/N")])
def test_a_bad_shard_is_one_sentence(tmp_path, capsys, given, words):
    assert cli.main(["grade", str(tmp_path), "--out", str(tmp_path / "o"),
                     f"--shard={given}"]) == 2
    assert words in capsys.readouterr().out


def test_kubernetes_variables_need_the_count():
    assert shards.from_environment({}) is None
    assert shards.from_environment({"JOB_COMPLETION_INDEX": "1", "BPCHECK_SHARDS": "4"}) == \
        shards.Shard(1, 4)
    with pytest.raises(shards.ShardError, match="BPCHECK_SHARDS"):
        shards.from_environment({"JOB_COMPLETION_INDEX": "1"})


def test_shares_cover_the_class_once_and_evenly():
    names = [f"s{i:03d}" for i in range(101)]
    shares = [shards.Shard(i, 4).share(names) for i in range(4)]
    assert sorted(sum(shares, [])) == names
    assert {len(s) for s in shares} == {25, 26}
