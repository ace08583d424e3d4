"""Possible copies: a renamed, reformatted, commented copy is flagged with its functions; two
solutions written independently are not, nor is code the whole class shares; scores never change.
"""

from __future__ import annotations

import json

import pytest

from bpcheck.grading import copies
from bpcheck.grading.grade import grade_all
from bpcheck.grading.rubric import load
from bpcheck.grading.sandbox import process
from bpcheck.registry import REGISTRY

pytestmark = pytest.mark.xdist_group(name="copies")

ORIGINAL = '''import numpy as np


def affine_forward(x, w, b):
    """out = x @ w + b over the flattened rows."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    loss = -log_probs[np.arange(n), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return loss, dx / n


def relu_forward(x):
    return np.maximum(0, x), x
'''

RENAMED = '''import numpy as numpy_lib

# my own work, honest
def affine_forward(inp, weights, bias):
    result = inp.reshape(inp.shape[0], -1) @ weights + bias   # the affine map
    return result, (inp, weights, bias)

def affine_backward(upstream, saved):
    """Backward pass of the affine layer."""
    inp, weights, bias = saved
    d_inp = (upstream @ weights.T).reshape(inp.shape)
    d_weights = (inp.reshape(inp.shape[0], -1).T
                 @ upstream)
    d_bias = upstream.sum(axis=0)
    return d_inp, d_weights, d_bias

def softmax_loss(scores, labels):
    s = scores - scores.max(axis=1, keepdims=True)
    lp = s - numpy_lib.log(numpy_lib.exp(s).sum(axis=1, keepdims=True))
    count = scores.shape[0]
    total = -lp[numpy_lib.arange(count), labels].mean()
    grad = numpy_lib.exp(lp)
    grad[numpy_lib.arange(count), labels] -= 1
    return total, grad / count

def relu_forward(z):
    return numpy_lib.maximum(0, z), z
'''

INDEPENDENT = '''import numpy as np


def affine_forward(x, w, b):
    flat = np.reshape(x, (len(x), -1))
    return np.dot(flat, w) + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    flat = np.reshape(x, (len(x), -1))
    return np.dot(dout, w.T).reshape(x.shape), np.dot(flat.T, dout), np.sum(dout, axis=0)


def softmax_loss(x, y):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    n = len(y)
    loss = -np.sum(np.log(p[np.arange(n), y])) / n
    p[np.arange(n), y] -= 1.0
    return loss, p / n


def relu_forward(x):
    return np.maximum(0, x), x
'''


def _document(source: str, tmp_path, name: str) -> dict:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return {"extra_data": {"bpcheck": {"fingerprints": copies.fingerprints(path)}}}


def test_renaming_formatting_and_comments_leave_fingerprints_unchanged():
    original = copies.function_fingerprints(ORIGINAL)
    renamed = copies.function_fingerprints(RENAMED)
    assert original == renamed
    changed = copies.function_fingerprints(ORIGINAL.replace("dout @ w.T", "dout @ w"))
    assert changed["affine_backward"] != original["affine_backward"]
    assert changed["softmax_loss"] == original["softmax_loss"]


def test_a_renamed_copy_is_flagged_and_an_independent_solution_is_not(tmp_path):
    documents = {"ann": _document(ORIGINAL, tmp_path, "ann"),
                 "ben": _document(INDEPENDENT, tmp_path, "ben"),
                 "cat": _document(RENAMED, tmp_path, "cat")}
    pairs = copies.find(documents)
    assert [(p.first, p.second) for p in pairs] == [("ann", "cat")]
    assert pairs[0].functions == ("affine_backward", "affine_forward", "softmax_loss")
    assert pairs[0].share == 1.0  # relu_forward is too small to count


def test_code_the_whole_class_shares_is_not_a_copy(tmp_path):
    documents = {f"s{i}": _document(ORIGINAL, tmp_path, f"s{i}") for i in range(5)}
    assert copies.find(documents) == []


def test_one_shared_function_alone_is_not_enough(tmp_path):
    """A single textbook function (the shifted softmax) written alike is common enough."""
    only_softmax = "import numpy as np\n" + ORIGINAL.partition("def softmax_loss")[1] + \
        ORIGINAL.partition("def softmax_loss")[2].partition("def relu_forward")[0]
    documents = {"ann": _document(ORIGINAL, tmp_path, "ann"),
                 "dan": _document(only_softmax, tmp_path, "dan")}
    assert copies.function_fingerprints(only_softmax)["softmax_loss"] == \
        copies.function_fingerprints(ORIGINAL)["softmax_loss"]
    assert copies.find(documents) == []


def test_a_source_the_parser_cannot_take_gives_no_fingerprint():
    assert copies.function_fingerprints("x = " + "(" * 5000 + ")" * 5000) == {}
    assert copies.function_fingerprints("def f(:\n") == {}
    deep = "def f(x):\n    return " + "-" * 50_000 + "x\n"
    assert set(copies.function_fingerprints(deep)) <= {"f"}


def test_a_huge_submission_is_read_only_up_to_its_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(copies, "MAX_TOTAL_BYTES", 3 * len(ORIGINAL))
    for i in range(6):
        (tmp_path / f"part{i}.py").write_text(ORIGINAL)
    files = {key.partition(":")[0] for key in copies.fingerprints(tmp_path)}
    assert files == {"part0.py", "part1.py", "part2.py"}


def test_grading_lists_the_copy_in_the_report_and_changes_no_score(tmp_path):
    submissions = tmp_path / "class"
    submissions.mkdir()
    for name, source in (("ann", ORIGINAL), ("ben", INDEPENDENT), ("cat", RENAMED)):
        (submissions / f"{name}.py").write_text(source)
    (tmp_path / "rubric.toml").write_text("examples = 3\n[points]\naffine_forward = 1\n")
    documents, _, _ = grade_all(submissions, tmp_path / "out", load(tmp_path / "rubric.toml",
                                REGISTRY), allow_weak=not process.isolation().full)
    assert {n: d["score"] for n, d in documents.items()} == {"ann": 1.0, "ben": 1.0, "cat": 1.0}
    from bpcheck.grading.report import write_class_report

    write_class_report(tmp_path / "out", documents)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| ann and cat | affine_backward, affine_forward, softmax_loss | 100% |" in report
    assert "ben" not in report.partition("## Possible copies")[2].partition("##")[0]
    stored = json.loads((tmp_path / "out" / "cat" / "results.json").read_text())
    assert "cat.py:affine_backward" in stored["extra_data"]["bpcheck"]["fingerprints"]
