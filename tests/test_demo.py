"""The spiral demo: reproducible, verified against JAX at checkpoints, and able to notice a wrong
gradient. Runs shortened versions; the full run (≈50% / ≈98%) is `bpcheck demo spiral`."""

import json

import numpy as np
import pytest

import manual
from bpcheck.cli import demo
from bpcheck.cli.main import main


@pytest.fixture
def short_run(monkeypatch):
    monkeypatch.setattr(demo, "LINEAR_ITERATIONS", 60)
    monkeypatch.setattr(demo, "TWO_LAYER_ITERATIONS", 400)


def test_spiral_data_is_the_case_study():
    X, y = demo.spiral(0)
    assert X.shape == (300, 2) and np.bincount(y).tolist() == [100, 100, 100]
    radius = np.hypot(X[:100, 0], X[:100, 1])
    np.testing.assert_allclose(radius, np.linspace(0, 1, 100), atol=1e-12)


def test_demo_is_reproducible_and_agrees_with_jax(short_run, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["demo", "spiral", "--seed", "3", "--json", str(first)]) == 0
    assert main(["demo", "spiral", "--seed", "3", "--json", str(second)]) == 0
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a == b
    for model in ("linear", "two_layer"):
        assert a[model]["mismatches"] == [] and a[model]["worst_gradient_error_vs_jax"] < 1e-10
    assert a["two_layer"]["accuracy"] > a["linear"]["accuracy"]


def test_a_wrong_manual_gradient_is_a_mismatch(short_run, monkeypatch, tmp_path):
    monkeypatch.setattr(manual, "relu_backward", lambda dout, cache: dout.copy())  # ignores the mask
    out = tmp_path / "bad.json"
    assert main(["demo", "spiral", "--json", str(out)]) == 1
    assert json.loads(out.read_text())["two_layer"]["mismatches"]
