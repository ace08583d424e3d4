"""The float32 tier (``bpcheck.tiers``): manual/ passes it for every layer; a layer that computes
in float32 fails the float64 tier with the precision-loss diagnosis and passes this one; a wrong
derivation, or one computed in float16, fails it; its examples are the float64 tier's, rounded,
and reuse the float64 tier's compiled JAX programs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import bpcheck  # noqa: F401  (for the reproduce lines evaluated below)
import manual
from bpcheck import autodiff
from bpcheck.battery.checks import check_named
from bpcheck.cli.main import main
from bpcheck.battery.diagnose import precision_loss
from bpcheck.registry import REGISTRY, layer_named
from bpcheck.battery.runner import run_check, run_checks
from bpcheck.sampling import Dims, Draw
from bpcheck.battery.example import build_example
from mistakes import named

#: Examples per layer: the tier's own property suite is ``pytest --bpcheck-tier float32``; here a few
#: derandomized ones per layer show that nothing in the tier rejects correct code.
EXAMPLES = 12


def _run(layer: str, check: str, impl, tier: str, **functions):
    """One check over derandomized examples of one tier, the first failure kept as drawn."""
    return run_check(layer_named(layer), impl.replace(**functions), check_named(check),
                     max_examples=40, derandomize=True, shrink=False, tier=tier)


# ---------------------------------------------------------------- manual/ passes the tier


@pytest.mark.parametrize("layer", [
    pytest.param(layer, id=layer.name, marks=pytest.mark.xdist_group(name=layer.name))
    for layer in REGISTRY
])
def test_manual_passes_the_float32_tier(layer, impl):
    runs = run_checks(layer, impl, max_examples=EXAMPLES, derandomize=True, tier="float32")
    assert {r.tier for r in runs} == {"float32"}
    assert "finite_differences" not in {r.check for r in runs}
    for run in runs:
        report = (run.failure or run.warning).report() if run.status != "passed" else ""
        assert run.status == "passed", report
        assert run.passed > 0, f"{layer.name} {run.check}: no example judged"


# ---------------------------------------------------------------- the examples


def test_float32_examples_are_the_float64_ones_rounded():
    dims = Dims(n=5, d=3, m=4, c=4, trailing=(), split=False)
    for name in ("affine", "softmax_loss", "batchnorm", "mlp_loss"):
        layer = layer_named(name)
        draw = Draw(dims, 1.0, False, 11)
        ex64 = build_example(layer, draw)
        ex32 = build_example(layer, Draw(dims, 1.0, False, 11, tier="float32"))
        assert ex32.dout is None or ex32.dout.dtype == np.float32
        for a64, a32 in zip(ex64.args, ex32.args):
            if isinstance(a64, np.ndarray) and a64.dtype == np.float64:
                assert a32.dtype == np.float32
                if name != "batchnorm":  # its x is the tier's own nearly-constant style
                    assert np.array_equal(a32, a64.astype(np.float32))
            elif isinstance(a64, np.ndarray):  # labels keep their integer dtype
                assert a32.dtype == a64.dtype and np.array_equal(a32, a64)
            elif isinstance(a64, dict):  # bn_param: arrays rounded, scalars and mode kept
                for key, value in a64.items():
                    if isinstance(value, np.ndarray):
                        assert a32[key].dtype == np.float32
                    else:
                        assert type(a32[key]) is type(value) and a32[key] == value
            else:
                assert a32 == a64  # sizes, activation names, reg: unchanged


def test_a_float32_example_is_rebuilt_by_its_reproduce_line():
    draw = Draw(Dims(n=1, d=4, m=3, c=1, trailing=(), split=True), 40.0, True, 5, tier="float32")
    example = build_example(layer_named("affine"), draw)
    assert "tier='float32'" in example.reproduce()
    again = eval(example.reproduce())
    for a, b in zip(example.args, again.args):
        assert np.array_equal(a, b) and a.dtype == b.dtype
    assert repr(Draw(draw.dims, 1.0, False, 5)).endswith("seed=5)")  # float64: no tier shown


def test_the_float32_tier_reuses_the_float64_programs():
    """The reference differentiates the float32 values upcast to float64: the same programs, no
    new executable, and exactly the float64 VJP at the rounded values."""
    layer = layer_named("layernorm")
    dims = Dims(n=5, d=4, m=1, c=1, trailing=(), split=False)
    ex64 = build_example(layer, Draw(dims, 1.0, False, 2))
    autodiff.reference_vjp(layer, ex64.args, ex64.dout)
    autodiff.reference_forward(layer, ex64.args)
    before = (len(autodiff._PROGRAMS), len(autodiff._EXECUTABLES))
    ex32 = build_example(layer, Draw(dims, 1.0, False, 2, tier="float32"))
    out, grads = autodiff.reference_vjp(layer, ex32.args, ex32.dout)
    autodiff.reference_forward(layer, ex32.args)
    after = (len(autodiff._PROGRAMS), len(autodiff._EXECUTABLES))
    assert after == before
    upcast = tuple(a.astype(np.float64) if isinstance(a, np.ndarray) else a for a in ex32.args)
    out64, grads64 = autodiff.reference_vjp(layer, upcast, ex32.dout.astype(np.float64))
    assert out.dtype == np.float64 and np.array_equal(out, out64)
    assert all(np.array_equal(g, h) for g, h in zip(grads, grads64))


# ---------------------------------------------------------------- planted mistakes


def affine_forward_in_float32(x, w, b):
    """cs231n's nets in float32: the right formula, on float32 copies of the arguments."""
    return manual.affine_forward(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32))


def affine_backward_in_float32(dout, cache):
    return manual.affine_backward(dout.astype(np.float32), cache)


def softmax_loss_in_float32(x, y):
    return manual.softmax_loss(x.astype(np.float32), y)


def affine_backward_dx_twice(dout, cache):
    dx, dw, db = manual.affine_backward(dout, cache)
    return 2 * dx, dw, db


def affine_backward_dw_in_float16(dout, cache):
    """dw through float16 (half precision: ~5e-4), returned as float32."""
    dx, _, db = manual.affine_backward(dout, cache)
    dw = cache.x2d.astype(np.float16).T @ dout.astype(np.float16)
    return dx, dw.astype(np.float32), db


def affine_backward_returns_float16(dout, cache):
    return tuple(g.astype(np.float16) for g in manual.affine_backward(dout, cache))


IN_FLOAT32 = {
    "affine": {"affine_forward": affine_forward_in_float32,
               "affine_backward": affine_backward_in_float32},
    "softmax_loss": {"softmax_loss": softmax_loss_in_float32},
}


@pytest.mark.parametrize("layer", sorted(IN_FLOAT32))
def test_float32_arithmetic_fails_float64_as_a_precision_loss_and_passes_float32(layer, impl):
    planted_impl = impl.replace(**IN_FLOAT32[layer])
    record = layer_named(layer)
    vjp = run_check(record, planted_impl, check_named("vjp"), max_examples=40, derandomize=True)
    assert vjp.failure is not None, "the float64 tier did not catch float32 arithmetic"
    assert precision_loss(vjp.failure.diagnosis), vjp.failure.report()
    runs = run_checks(record, planted_impl, max_examples=EXAMPLES, derandomize=True,
                      tier="float32")
    failed = [r.failure.report() for r in runs if r.failure is not None]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("tier", ["float64", "float32"])
@pytest.mark.parametrize("functions, diagnosis", [
    ({"affine_backward": affine_backward_dx_twice}, "dx is 2 times too large"),
    (named("affine_dw_transposed_reshaped").functions(), "dw is transposed"),
    (named("mse_loss_missing_2").functions(), "dx is half the correct value"),
], ids=["dx times 2", "transposed dw", "mse without 2"])
def test_a_wrong_derivation_fails_both_tiers(functions, diagnosis, tier, impl):
    layer = "mse_loss" if "mse_loss" in functions else "affine"
    found = _run(layer, "vjp", impl, tier, **functions)
    assert found.failure is not None, f"{tier} tier missed {functions}"
    assert found.failure.diagnosis is not None and diagnosis in found.failure.diagnosis, (
        found.failure.report())
    assert not precision_loss(found.failure.diagnosis)


def test_a_gradient_through_float16_fails_the_float32_tier(impl):
    found = _run("affine", "vjp", impl, "float32", affine_backward=affine_backward_dw_in_float16)
    assert found.failure is not None and found.failure.message.startswith("dw differs")


def test_the_float32_tier_accepts_float32_or_float64_gradients_only(impl):
    assert _run("affine", "shapes", impl, "float32",
                affine_backward=affine_backward_in_float32).failure is None
    found = _run("affine", "shapes", impl, "float32",
                 affine_backward=affine_backward_returns_float16)
    assert found.failure is not None
    assert found.failure.message == "dx has dtype float16, expected float32 or float64"
    in_float64 = _run("affine", "shapes", impl, "float64",
                      affine_backward=affine_backward_in_float32)
    assert in_float64.failure.message.endswith("has dtype float32, expected float64")


# ---------------------------------------------------------------- bpcheck check --tier

FLOAT32_AFFINE = """
import numpy as np
from manual import affine_backward as _backward, affine_forward as _forward

def affine_forward(x, w, b):
    return _forward(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32))

def affine_backward(dout, cache):
    return _backward(dout.astype(np.float32), cache)
"""


def _check(tmp_path, *options):
    path = tmp_path / "layers.py"
    path.write_text(FLOAT32_AFFINE)
    out = tmp_path / "verdict.json"
    status = main(["check", str(path), "--examples", "8", "--jobs", "1", "--no-shrink",
                   "--json", str(out), *options])
    return status, json.loads(out.read_text())


def test_check_runs_the_float32_tier_after_a_precision_loss(tmp_path):
    status, verdict = _check(tmp_path)
    backward = verdict["functions"]["affine_backward"]
    assert status == 1 and verdict["tiers"] == ["float64"]
    assert backward["status"] == "failed"
    assert backward["tiers"] == {"float64": "failed", "float32": "passed"}
    assert ("the float32 tier (run because of a precision loss in this layer) passed: right at "
            "single precision" in backward["message"])
    assert "`bpcheck check --tier float32`" in backward["message"]
    assert all(f["tier"] == "float64" for f in backward["failures"])


def test_check_with_tier_float32_passes_a_float32_file(tmp_path):
    status, verdict = _check(tmp_path, "--tier", "float32")
    assert status == 0
    for name in ("affine_forward", "affine_backward"):
        function = verdict["functions"][name]
        assert function["status"] == "passed" and function["tiers"] == {"float32": "passed"}
        assert "finite_differences" not in function["checks"]


def test_check_with_both_tiers_reports_each(tmp_path, capsys):
    status, verdict = _check(tmp_path, "--tier", "both")
    # The table: a column per tier holding each function's verdict, readable at 80 columns.
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "┃" in line and "function" in line)
    assert [cell.strip() for cell in header.split("┃")[2:4]] == ["float64", "float32"]
    rows = {line.split("│")[1].strip(): line.split("│") for line in lines if line.count("│") > 2}
    assert "✗" in rows["affine_backward"][2] and "✓" in rows["affine_backward"][3]
    assert all(len(line) <= 80 for line in lines if "│" in line or "┃" in line)
    backward = verdict["functions"]["affine_backward"]
    assert status == 1 and verdict["tiers"] == ["float64", "float32"]
    assert backward["tiers"] == {"float64": "failed", "float32": "passed"}
    assert set(backward["checks_by_tier"]) == {"float64", "float32"}
    assert verdict["functions"]["relu_forward"]["tiers"] == {"float64": "missing",
                                                             "float32": "missing"}
