"""The battery through the sandbox sees what it sees in-process: every mistake of the catalogue
(``mistakes/``), run in a sandboxed child, is caught by the checks its CATCHES names (and a
convention warned about by its WARNS) and blamed on the same function. This is what the
arguments' write-back, the aliasing report and the cache fingerprints are for (an in-place edit
of dout, of the input or of the cache; a gradient that is dout)."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from bpcheck.battery.checks import check_named
from bpcheck.registry import REGISTRY, layer_named
from bpcheck.battery.runner import run_check
from bpcheck.grading.sandbox import Sandbox
from mistakes import Mistake, catalogue

MANUAL = Path(__file__).resolve().parent.parent / "manual"
pytestmark = pytest.mark.xdist_group(name="sandbox-parity")

#: Examples per check (derandomized, as in tests/test_checker.py).
BUDGET = 60


def _correct_submission(folder: Path) -> Path:
    """manual/ copied as a package that the submission's layers.py imports."""
    shutil.copytree(MANUAL, folder / "mylayers", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "layers.py").write_text("from mylayers import *\n")
    return folder


def _rounds(mistakes: list[Mistake]) -> list[list[Mistake]]:
    """The catalogue in rounds of at most one mistake per layer: each round is one submission
    (one sandbox) importing its files, since a sandbox costs a child process."""
    rounds: dict[int, list[Mistake]] = defaultdict(list)
    seen: dict[str, int] = defaultdict(int)
    for mistake in mistakes:
        rounds[seen[mistake.layer]].append(mistake)
        seen[mistake.layer] += 1
    return [rounds[i] for i in sorted(rounds)]


ROUNDS = _rounds(catalogue())


class Sandboxes:
    """One round's sandbox at a time, opened when its first mistake is tested."""

    def __init__(self, folder: Path):
        self.folder, self.round, self.sandbox = folder, None, None

    def of(self, number: int) -> Sandbox:
        if self.round != number:
            self.close()
            submission = self.folder / f"round_{number}"
            submission.mkdir()
            for mistake in ROUNDS[number]:
                shutil.copy(mistake.path, submission / mistake.path.name)
            (submission / "layers.py").write_text(
                "".join(f"from {m.name} import *\n" for m in ROUNDS[number]))
            self.round, self.sandbox = number, Sandbox(submission, REGISTRY, allow_weak=True).__enter__()
            assert self.sandbox.load_error is None, self.sandbox.load_error
        return self.sandbox

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.__exit__(None, None, None)
            self.round, self.sandbox = None, None


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory):
    opened = Sandboxes(tmp_path_factory.mktemp("rounds"))
    yield opened
    opened.close()


@pytest.mark.parametrize("number, mistake", [
    pytest.param(number, m, id=m.name) for number, mistakes in enumerate(ROUNDS) for m in mistakes])
def test_a_catalogue_mistake_is_caught_through_the_sandbox(number, mistake, sandboxes):
    layer = layer_named(mistake.layer)
    sandbox = sandboxes.of(number)
    for check in mistake.catches + mistake.warns:
        run = run_check(layer, sandbox.impl, check_named(check), max_examples=BUDGET,
                        derandomize=True, shrink=False)
        if check in mistake.warns:
            assert run.failure is None and run.warnings, f"{check}: {mistake.name} through the sandbox"
            continue
        assert run.failure is not None, f"{check} missed {mistake.name} through the sandbox"
        assert run.failure.function in mistake.broken, run.failure.report()


def test_the_correct_layers_pass_through_the_sandbox(tmp_path):
    with Sandbox(_correct_submission(tmp_path), REGISTRY, allow_weak=True) as sandbox:
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
