"""The store of compiled reference programs (``bpcheck.programs``): a process loads what an
earlier one compiled, and gets the same values; what it cannot name or read it compiles."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: One process: the affine and relu twins' vjp at fixed arguments, a lambda twin's, and what the
#: store did.
PROBE = """
import dataclasses, json, sys
import numpy as np
from bpcheck import programs
from bpcheck.autodiff import reference_vjp
from bpcheck.registry import layer_named

rng = np.random.default_rng(0)
affine, relu = layer_named("affine"), layer_named("relu")
x, w, b, dout = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2), \\
    rng.standard_normal((3, 2))
out, grads = reference_vjp(affine, (x, w, b), dout)
_, (dx,) = reference_vjp(relu, (x,), x)
scaled = dataclasses.replace(relu, reference=lambda x: 2.0 * x)
_, (dx2,) = reference_vjp(scaled, (x,), x)
print(json.dumps({"values": [out.tolist(), [g.tolist() for g in grads], dx.tolist(),
                             dx2.tolist()], "counts": programs.COUNTS}))
"""


def _probe(cache: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "BPCHECK_JAX_CACHE": str(cache)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_later_process_loads_what_an_earlier_one_compiled(tmp_path):
    first, second = _probe(tmp_path), _probe(tmp_path)
    # affine's vjp and relu's: stored by the first, loaded by the second; the lambda twin never
    assert first["counts"] == {"loaded": 0, "stored": 2}, first
    assert second["counts"] == {"loaded": 2, "stored": 0}, second
    assert second["values"] == first["values"]


def test_an_entry_that_cannot_be_read_is_compiled_again(tmp_path):
    first = _probe(tmp_path)
    entries = [p for p in (tmp_path / "programs").rglob("*") if p.is_file()]
    assert len(entries) == 2
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:100])  # truncated: a crash while writing elsewhere
    again = _probe(tmp_path)
    assert again["counts"] == {"loaded": 0, "stored": 2} and again["values"] == first["values"]


def test_an_old_generation_goes_when_another_is_used(tmp_path):
    stale, recent = tmp_path / "programs" / "stale", tmp_path / "programs" / "recent"
    for folder in (stale, recent):
        folder.mkdir(parents=True)
        (folder / "entry").write_bytes(b"x")
    old = time.time() - 30 * 86400
    os.utime(stale, (old, old))
    _probe(tmp_path)
    assert not stale.exists() and recent.exists()


def test_an_entry_that_loads_but_cannot_run_is_compiled_again(monkeypatch):
    """A stored executable that came out of JAX's persistent cache loads, then fails when its
    answer is read ("NOT_FOUND: Function wrapped_divide not found", seen in a run): its first
    answer is materialised where it is loaded, so it is compiled again there, and the answer is
    right."""
    import numpy as np

    from bpcheck import autodiff, programs
    from bpcheck.jaxsetup import jax
    from bpcheck.registry import layer_named

    def broken(*inputs):
        raise jax.errors.JaxRuntimeError("NOT_FOUND: Function wrapped_divide not found")

    layer = layer_named("affine")
    rng = np.random.default_rng(7)
    args = (rng.standard_normal((6, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3))
    dout = rng.standard_normal((6, 3))
    monkeypatch.setattr(autodiff, "_EXECUTABLES", {})
    monkeypatch.setattr(programs, "load_executable", lambda name: broken)
    monkeypatch.setattr(programs, "save_executable", lambda name, compiled: None)
    out, (dx, dw, db) = autodiff.reference_vjp(layer, args, dout)
    np.testing.assert_allclose(out, args[0] @ args[1] + args[2], rtol=1e-14)
    np.testing.assert_allclose(dw, args[0].T @ dout, rtol=1e-14)
