"""The battery through the sandbox sees what it sees in-process: every planted mistake of
tests/planted.py, run in a sandboxed child, is caught by the same checks and blamed on the same
function. This is what the arguments' write-back, the aliasing report and the cache fingerprints
are for (an in-place edit of dout, of the input or of the cache; a gradient that is dout)."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import numpy as np
import pytest

from planted import PLANTED

from bpcheck.battery.checks import check_named
from bpcheck.registry import REGISTRY, layer_named
from bpcheck.battery.runner import run_check
from bpcheck.grading.sandbox import Sandbox

MANUAL = Path(__file__).resolve().parent.parent / "manual"
pytestmark = pytest.mark.xdist_group(name="sandbox-parity")


def _submission(folder: Path, functions: dict) -> Path:
    shutil.copytree(MANUAL, folder / "mylayers", ignore=shutil.ignore_patterns("__pycache__"))
    parts = ["import numpy as np", "import mylayers as manual", "from mylayers import *"]
    for name, function in functions.items():
        parts += [inspect.getsource(function), f"{name} = {function.__name__}"]
    (folder / "layers.py").write_text("\n".join(parts) + "\n")
    return folder


@pytest.mark.parametrize("bug", PLANTED, ids=[b.name for b in PLANTED])
def test_a_planted_mistake_is_caught_through_the_sandbox(bug, tmp_path):
    layer = layer_named(bug.layer)
    with Sandbox(_submission(tmp_path, bug.functions), REGISTRY, allow_weak=True) as sandbox:
        assert sandbox.load_error is None
        for check in bug.catches:
            run = run_check(layer, sandbox.impl, check_named(check), max_examples=200,
                            shrink=False)
            assert run.failure is not None, f"{check} missed {bug.name!r} through the sandbox"
            assert run.failure.function in bug.functions, run.failure.report()


def test_the_correct_layers_pass_through_the_sandbox(tmp_path):
    with Sandbox(_submission(tmp_path, {}), REGISTRY, allow_weak=True) as sandbox:
        for name in ("affine", "relu", "batchnorm", "softmax", "softmax_loss"):
            layer = layer_named(name)
            for check in ("vjp", "no_mutation", "linearity", "batch"):
                if check_named(check).applies(layer):
                    run = run_check(layer, sandbox.impl, check_named(check), max_examples=30)
                    assert run.failure is None, run.failure.report()


#: relu_backward variants and the audit each must get, in-process and through the sandbox alike.
AUDITED = {
    "returns part of dout": ("return dout.reshape(-1)[1:]", (False, False, ((0, "dout"),))),
    "returns x from the cache": ("return cache.x", (False, False, ((0, 0),))),
    "edits dout": ("dout *= 2.0\n    return dout.copy()", (True, False, ())),
    "edits the cache": ("cache.x[...] = 0.0\n    return dout.copy()", (False, True, ())),
    "is clean": ("return dout * (cache.x > 0)", (False, False, ())),
}


@pytest.mark.parametrize("behaviour", AUDITED, ids=list(AUDITED))
def test_the_audit_of_a_backward_is_the_same_in_process_and_in_the_sandbox(behaviour, tmp_path):
    """What a backward edited in place or aliased (``implementation.Audit``) is gathered by the
    grader in-process and by the child in the sandbox; both must report the same facts, a
    gradient that is only part of dout's memory included."""
    from bpcheck.implementation import Implementation, evaluations

    body, expected = AUDITED[behaviour]
    source = ("import numpy as np\nfrom collections import namedtuple\n"
              "Cache = namedtuple('Cache', 'x')\n"
              "def relu_forward(x):\n    return np.maximum(x, 0.0), Cache(x)\n"
              f"def relu_backward(dout, cache):\n    {body}\n")
    (tmp_path / "layers.py").write_text(source)
    namespace: dict = {}
    exec(compile(source, str(tmp_path / "layers.py"), "exec"), namespace)
    layer = layer_named("relu")
    args = (np.linspace(-1.0, 1.0, 6).reshape(2, 3),)
    dout = np.arange(6.0).reshape(2, 3) + 1.0
    here = Implementation("here", {n: namespace[n] for n in ("relu_forward", "relu_backward")})
    (local,) = evaluations(layer, here, [(args, [(dout,)])])
    with Sandbox(tmp_path, REGISTRY, allow_weak=True) as sandbox:
        assert sandbox.load_error is None
        (remote,) = evaluations(layer, sandbox.impl, [(args, [(dout,)])])
    for evaluation in (local, remote):
        audit = evaluation.audits[0]
        assert (audit.dout_changed, audit.cache_changed, audit.aliases) == expected
