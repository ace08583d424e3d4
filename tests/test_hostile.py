"""Whatever a protocol function returns or raises, the battery ends with a verdict: one sentence
naming the problem, never a traceback (issue 12, item 3).

The fuzz test draws a protocol function and a hostile behaviour (tests/hostile.py: odd return
values in odd places, exceptions of every kind, answers whose shape changes per call, behaviour
that changes between calls) and runs the runner on it, as ``bpcheck check`` does. Its budget is a
few seconds in the default profile; ``HYPOTHESIS_PROFILE=thorough`` draws many more.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpcheck.battery.checks import checks_for
from bpcheck.battery.runner import run_checks
from bpcheck.battery.verdict import verdicts
from bpcheck.cli.main import main
from bpcheck.implementation import Implementation, ImplementationError, call
from bpcheck.registry import REGISTRY

from hostile import Behaviour, behaviours

#: Hostile draws per profile, each running the battery on up to INNER_EXAMPLES examples of its
#: layer (the first draw of a layer in a process compiles its JAX programs: most of the time).
FUZZ_EXAMPLES = {"dev": 20, "ci": 20, "thorough": 1500}
INNER_EXAMPLES = 3
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or "dev"
PROTOCOL = [(name, layer) for layer in REGISTRY for name in layer.functions]
#: The longest line a verdict may hold: a sentence, not a dump of the value or the exception.
LONGEST_LINE = 1500


def assert_clean(rows, behaviour: Behaviour, function: str, called: bool = True) -> None:
    """Every function of the layer has a verdict whose message is sentences, not a traceback; a
    behaviour that must fail fails something (when the function was called at all: batchnorm's
    backward is not, on test-mode examples); an exception is named with the function."""
    for row in rows:
        assert row.status in ("passed", "failed", "warning"), (row.function, row.status)
        message = row.message
        assert isinstance(message, str) and "Traceback" not in message, message
        for line in message.splitlines():
            assert len(line) <= LONGEST_LINE, line[:300]
    failed = [row for row in rows if row.status == "failed"]
    if not called:
        return
    if behaviour.must_fail:
        assert failed, f"{function} {behaviour.what}: nothing failed"
    if behaviour.raises is not None and behaviour.timing == "always":
        assert any(f"{function} raised" in row.message or f"{function} called sys.exit" in
                   row.message for row in failed), [row.message for row in failed]


@settings(max_examples=FUZZ_EXAMPLES.get(PROFILE, FUZZ_EXAMPLES["dev"]), deadline=None,
          suppress_health_check=[HealthCheck.nested_given, HealthCheck.too_slow])
@given(protocol=st.sampled_from(PROTOCOL), behaviour=behaviours(), shrink=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_a_hostile_function_ends_as_a_clean_verdict(impl, protocol, behaviour, shrink, seed):
    """The runner as ``bpcheck check`` runs it, on a few examples of the layer (their draw fixed
    by ``seed``, so that a failure replays), shrinking or not."""
    function, layer = protocol
    wrapped = behaviour.wrap(impl.functions[function])
    functions = {function: wrapped}
    # A value put in a forward's cache shows only when the backward reads it: batchnorm's is not
    # called on test-mode examples (a cache of None is then the protocol).
    in_cache = _in_cache(layer, function, behaviour)
    if in_cache:
        functions[layer.backward_name] = _counted(impl.functions[layer.backward_name])
    hostile = impl.replace(**functions)
    runs = run_checks(layer, hostile, checks_for(layer), max_examples=INNER_EXAMPLES,
                      shrink=shrink, random_seed=seed)
    rows = verdicts(runs, [(name, layer.name) for name in layer.functions])
    judged = functions[layer.backward_name] if in_cache else wrapped
    assert_clean(rows, behaviour, function, called=judged.calls > 0)
    # what a worker process sends back survives the trip
    again = pickle.loads(pickle.dumps(rows))
    assert [(r.function, r.status, r.message) for r in again] == [
        (r.function, r.status, r.message) for r in rows]


def _in_cache(layer, function: str, behaviour: Behaviour) -> bool:
    """Whether the behaviour puts its value in the cache a forward returns."""
    return (function == layer.forward_name and not layer.is_loss
            and behaviour.raises is None and not behaviour.varying_shape
            and behaviour.place.startswith("item ")
            and int(behaviour.place.split()[1]) % (len(layer.outputs) + 1) == len(layer.outputs))


def _counted(function):
    """``function`` as it is, counting its calls (``calls``)."""
    def counting(*args):
        counting.calls += 1
        return function(*args)

    counting.calls = 0
    return counting


#: Hostile draws through the grading sandbox per profile (each starts a sandboxed child).
SANDBOX_EXAMPLES = {"dev": 4, "ci": 4, "thorough": 200}
MANUAL = Path(__file__).resolve().parent.parent / "manual"
RUNTIME = Path(__file__).resolve().parent / "fixtures" / "hostile" / "runtime.py"


@settings(max_examples=SANDBOX_EXAMPLES.get(PROFILE, SANDBOX_EXAMPLES["dev"]), deadline=None,
          suppress_health_check=[HealthCheck.nested_given, HealthCheck.too_slow])
@given(protocol=st.sampled_from(PROTOCOL), behaviour=behaviours(), seed=st.integers(0, 2**32 - 1))
@pytest.mark.xdist_group(name="sandbox-fuzz")
def test_a_hostile_function_ends_as_a_clean_verdict_in_the_sandbox(tmp_path_factory, protocol,
                                                                   behaviour, seed):
    """The same behaviours in a submission graded in the sandbox: whatever crosses the wire, the
    grader ends with a verdict (the child may die, time out or answer nonsense)."""
    from bpcheck.battery.checks import checks_available
    from bpcheck.grading.sandbox import Sandbox

    function, layer = protocol
    folder = tmp_path_factory.mktemp("hostile-submission")
    shutil.copytree(MANUAL, folder / "mylayers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(RUNTIME, folder / "hostile_runtime.py")
    (folder / "layers.py").write_text(behaviour.source(function))
    with Sandbox(folder, REGISTRY) as sandbox:
        assert sandbox.load_error is None, sandbox.load_error
        checks = checks_available(layer, sandbox.impl, sandbox.problems)
        runs = run_checks(layer, sandbox.impl, checks, max_examples=2, shrink=False,
                          random_seed=seed)
    rows = verdicts(runs, [(name, layer.name) for name in layer.functions])
    # whether the backward was called is the child's secret: batchnorm's is not on test-mode
    # examples, where neither it nor a value in the forward's cache can fail
    called = layer.backward_in is None or (function == layer.forward_name
                                           and not _in_cache(layer, function, behaviour))
    assert_clean(rows, behaviour, function, called=called)


# ---------------------------------------------------------------- the same verdict everywhere

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_FILE = ROOT / "tests" / "fixtures" / "hostile" / "layers.py"
#: tests/fixtures/hostile/layers.py: each layer misbehaves in one way (see the file).
HOSTILE_VERDICTS = {
    "affine_forward": "failed", "affine_backward": "passed",  # the squeeze of issue 12
    "relu_forward": "passed", "relu_backward": "failed",  # SystemExit
    "leaky_relu_forward": "passed", "leaky_relu_backward": "failed",  # a generator
    "sigmoid_forward": "passed",  # the right values in an ndarray subclass that cannot be copied
    "sigmoid_backward": "failed",  # KeyboardInterrupt
    "tanh_forward": "failed", "tanh_backward": "failed",  # a complex output (no cache to judge)
    "softplus_forward": "passed", "softplus_backward": "failed",  # an object array
    "elu_forward": "passed", "elu_backward": "failed",  # a shape that changes per call
    "log_softmax_forward": "passed", "log_softmax_backward": "failed",  # a structured array
    "softmax_forward": "failed", "softmax_backward": "failed",  # an unprintable exception
    "softmax_loss": "failed",  # a custom BaseException
    "svm_loss": "failed",  # endless recursion
    "mse_loss": "failed",  # a gradient of 10^10 entries
    "cross_entropy_loss": "failed",  # a 0-d object array for the loss
    "batchnorm_forward": "failed", "batchnorm_backward": "failed",  # GeneratorExit
    "layernorm_forward": "failed", "layernorm_backward": "failed",  # a 100,000-character message
}


def _check_statuses(tmp_path, jobs: int) -> dict[str, str]:
    out = tmp_path / f"jobs{jobs}.json"
    status = main(["check", str(HOSTILE_FILE), "--examples", "10", "--jobs", str(jobs),
                   "--no-shrink", "--json", str(out)])
    assert status == 1
    functions = json.loads(out.read_text())["functions"]
    for name, entry in functions.items():
        assert "Traceback" not in entry["message"]
        assert all(len(line) <= LONGEST_LINE for line in entry["message"].splitlines()), name
    return {name: entry["status"] for name, entry in functions.items()
            if entry["status"] != "missing"}


@pytest.mark.xdist_group(name="hostile-file")
def test_the_hostile_file_gets_the_same_verdicts_in_process_and_in_workers(tmp_path, capsys):
    """Before: the squeeze crashed the batch check (np.concatenate of 0-d arrays); with worker
    processes its failure could not be unpickled (BrokenProcessPool, no verdict at all)."""
    assert _check_statuses(tmp_path, 1) == HOSTILE_VERDICTS
    assert _check_statuses(tmp_path, 2) == HOSTILE_VERDICTS
    assert "Traceback" not in capsys.readouterr().out


@pytest.mark.xdist_group(name="hostile-file")
def test_the_hostile_file_gets_the_same_verdicts_when_graded(tmp_path):
    from bpcheck.grading.grade import grade_submission
    from bpcheck.grading.rubric import Rubric

    shutil.copy(HOSTILE_FILE, tmp_path / "layers.py")
    document = grade_submission(tmp_path, Rubric(examples=10), seed=0, name="hostile")
    functions = document["extra_data"]["bpcheck"]["functions"]
    graded = {name: entry["status"] for name, entry in functions.items()
              if entry["status"] != "missing"}
    assert graded == HOSTILE_VERDICTS
    for test in document["tests"]:
        assert "Traceback" not in test["output"] and len(test["output"]) < 2000, test["name"]


@pytest.mark.xdist_group(name="hostile-file")
def test_the_hostile_file_gets_the_same_verdicts_under_pytest_impl():
    """A layer's test fails when any of its functions fails, and only ever by the battery's own
    assertion (CheckFailed), never by an error escaping it."""
    command = [sys.executable, "-m", "pytest", "-v", "-rf", "-n", "0", "-p", "no:cacheprovider",
               "tests/test_properties.py", "--bpcheck-impl", str(HOSTILE_FILE), "-k", "test_battery"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "400"})
    assert "INTERNALERROR" not in done.stdout, done.stdout[-3000:]
    outcomes = dict(re.findall(r"::test_battery\[(\w+)\] (PASSED|FAILED|SKIPPED)", done.stdout))
    reasons = dict(re.findall(r"^FAILED \S+::test_battery\[(\w+)\] - (\S+)", done.stdout, re.M))
    for layer in REGISTRY:
        statuses = {HOSTILE_VERDICTS.get(f) for f in layer.functions}
        expected = ("SKIPPED" if statuses == {None} else
                    "FAILED" if "failed" in statuses else "PASSED")
        assert outcomes.get(layer.name) == expected, (layer.name, done.stdout[-3000:])
        if expected == "FAILED":
            assert reasons[layer.name].startswith("bpcheck.battery.findings.CheckFailed"), (
                layer.name, reasons[layer.name])


# ---------------------------------------------------------------- KeyboardInterrupt: the user's code's or a real Ctrl-C


@pytest.fixture
def default_sigint():
    """The interpreter's own SIGINT handler for the test (a pytest-xdist worker may ignore
    SIGINT), put back afterwards."""
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def _ctrl_c_in(seconds: float) -> threading.Timer:
    """SIGINT to the main thread after ``seconds``. Sent to the process, the kernel may hand it
    to any thread (JAX's, OpenBLAS's, the timer's own): the main thread's sleep then ran its
    full 10 s once in a loaded run."""
    timer = threading.Timer(seconds, signal.pthread_kill,
                            (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    return timer


def _sleeper(swallow: bool):
    def relu_backward(dout, cache):
        try:
            time.sleep(10)
        except KeyboardInterrupt:
            if not swallow:
                raise
        return dout
    return relu_backward


@pytest.mark.parametrize("swallow", [False, True], ids=["propagated", "swallowed by the code"])
def test_a_real_ctrl_c_during_a_call_stops_bpcheck(default_sigint, swallow):
    """A SIGINT that arrives while the user's function runs is the user of bpcheck pressing
    Ctrl-C: it stops bpcheck, even when the function catches it and returns."""
    impl = Implementation("sleepy", {"relu_backward": _sleeper(swallow)})
    timer = _ctrl_c_in(0.2)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        call(impl, "relu_backward", np.ones(2), None)
    timer.join()
    assert time.monotonic() - started < 5


def test_a_keyboardinterrupt_the_code_raises_is_its_error(default_sigint):
    def relu_backward(dout, cache):
        raise KeyboardInterrupt

    impl = Implementation("raises", {"relu_backward": relu_backward})
    with pytest.raises(ImplementationError, match="relu_backward raised KeyboardInterrupt"):
        call(impl, "relu_backward", np.ones(2), None)
    # and in a thread of its own (no signal can arrive there), the same
    errors = []
    thread = threading.Thread(target=lambda: errors.append(
        pytest.raises(ImplementationError, call, impl, "relu_backward", np.ones(2), None)))
    thread.start()
    thread.join()
    assert errors and "KeyboardInterrupt" in str(errors[0].value)


def test_ctrl_c_on_bpcheck_check_ends_it_with_status_130(tmp_path):
    """The command line: a file whose backward sleeps; a SIGINT ends bpcheck at once with
    "interrupted" and exit status 130, no verdict, no traceback."""
    path = tmp_path / "layers.py"
    path.write_text("import time\nimport numpy as np\n\ndef relu_forward(x):\n"
                    "    return np.maximum(x, 0.0), x\n\ndef relu_backward(dout, cache):\n"
                    "    print('sleeping', flush=True)\n    time.sleep(60)\n    return dout\n")
    # As a terminal's foreground job: SIGINT at its default. A pytest started in the background
    # of a non-interactive shell ignores SIGINT, and a child inherits that (it then slept 60 s).
    child = subprocess.Popen([sys.executable, "-m", "bpcheck.cli.main", "check", str(path),
                              "--jobs", "1"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        output = ""
        while "sleeping" not in output and time.monotonic() < deadline:
            output += child.stdout.readline()
        child.send_signal(signal.SIGINT)
        rest, _ = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130, output + rest
    assert "interrupted" in rest and "Traceback" not in rest, rest


# ---------------------------------------------------------------- what crosses a process boundary


def test_every_type_a_worker_sends_back_survives_pickle(impl):
    """A worker of ``bpcheck check --jobs N`` sends check runs (their findings and examples), a
    failed example (CheckFailed) or a load error back; before, CheckFailed came back as a bare
    string ('str' object has no attribute 'report': BrokenProcessPool, no verdict)."""
    from bpcheck.battery.findings import CheckFailed
    from bpcheck.battery.runner import CheckRun
    from bpcheck.battery.verdict import Verdict
    from bpcheck.loader import LoadError
    from bpcheck.standins import Missing, StandInUsed
    from bpcheck.registry import layer_named

    layer = layer_named("relu")
    # a backward that is wrong, and a cache that cannot be pickled (a local lambda)
    broken = impl.replace(
        relu_forward=lambda x: (np.maximum(x, 0.0), (x, lambda: x)),
        relu_backward=lambda dout, cache: 2.0 * dout * (cache[0] > 0))
    runs = run_checks(layer, broken, checks_for(layer), max_examples=5, shrink=False)
    failures = [run.failure for run in runs if run.failure is not None]
    assert failures and "differs from jax.vjp" in failures[0].message
    rows = verdicts(runs, [(name, layer.name) for name in layer.functions])
    missing = Missing("torch", 3, "/x/layers.py")
    verdict = Verdict("layers.py", rows, stand_ins=(missing,), numpy_aliases=("int",),
                      internal_errors={"relu": "Traceback …"})
    for value in (*runs, *failures, CheckFailed(failures), *rows, failures[0].example,
                  LoadError("x.py: no such file", usage=True), ImplementationError("raised"),
                  verdict, StandInUsed("torch.tensor", missing)):
        again = pickle.loads(pickle.dumps(value))
        assert type(again) is type(value)
        if isinstance(value, CheckRun):
            assert (again.failure and again.failure.report()) == (
                value.failure and value.failure.report())
        elif hasattr(value, "report"):
            assert again.report() == value.report()
        elif hasattr(value, "message") and not isinstance(value, BaseException):
            assert (again.status, again.message) == (value.status, value.message)
        elif isinstance(value, LoadError):
            assert again.usage and str(again) == str(value)
        elif isinstance(value, (CheckFailed, StandInUsed)):
            assert str(again) == str(value)
        elif isinstance(value, Verdict):
            assert again.as_json() == value.as_json() and again.report() == value.report()
    example = pickle.loads(pickle.dumps(failures[0].example))
    assert example.reproduce() == failures[0].example.reproduce()


# ---------------------------------------------------------------- one layer never costs the others their verdict


def test_a_worker_the_code_kills_costs_only_its_layer(tmp_path):
    """``os._exit`` in a backward kills its worker process, which breaks the whole pool: the
    layers left are checked again, each in a process of its own, and only the killer is an
    error row (in-process, ``--jobs 1``, nothing can survive os._exit)."""
    path = tmp_path / "layers.py"
    path.write_text("import os\nimport numpy as np\n\n"
                    "def relu_forward(x):\n    return np.maximum(x, 0.0), x\n\n"
                    "def relu_backward(dout, cache):\n    os._exit(3)\n\n"
                    "def tanh_forward(x):\n    t = np.tanh(x)\n    return t, t\n\n"
                    "def tanh_backward(dout, cache):\n    return dout * (1 - cache ** 2)\n")
    out = tmp_path / "verdict.json"
    assert main(["check", str(path), "--examples", "5", "--jobs", "2", "--no-shrink",
                 "--json", str(out)]) == 1
    functions = json.loads(out.read_text())["functions"]
    assert functions["tanh_backward"]["status"] == "passed"
    assert functions["relu_backward"]["status"] == "error"
    assert "the process checking this layer died" in functions["relu_backward"]["message"]


def test_a_layer_of_the_file_whose_twin_raises_is_named_with_its_line(tmp_path):
    """A layer the file adds brings its own twin: an error there is the file's, named with its
    line, and the protocol layers are still checked."""
    path = tmp_path / "layers.py"
    path.write_text("import numpy as np\n\n"
                    "def cube_forward(x):\n    return x ** 3, x\n\n"
                    "def cube_backward(dout, cache):\n    return 3 * dout * cache ** 2\n\n"
                    "def cube_reference(x):\n    raise ValueError('not written yet')\n\n"
                    "def tanh_forward(x):\n    t = np.tanh(x)\n    return t, t\n\n"
                    "def tanh_backward(dout, cache):\n    return dout * (1 - cache ** 2)\n")
    out = tmp_path / "verdict.json"
    assert main(["check", str(path), "--examples", "5", "--jobs", "1", "--no-shrink",
                 "--json", str(out)]) == 1
    verdict = json.loads(out.read_text())
    cube = verdict["functions"]["cube_backward"]
    assert cube["status"] == "error" and "ValueError: not written yet" in cube["message"]
    assert "layers.py:10" in cube["message"] and "internal_errors" not in verdict
    assert verdict["functions"]["tanh_backward"]["status"] == "passed"


def test_a_cache_is_compared_by_its_own_equality_else_by_its_attributes():
    """Whether a backward changed its cache: an object with an equality of its own (the
    sandbox's cache handle, compared by the fingerprint of the cache in the child) by that; one
    whose equality cannot answer (a SimpleNamespace of arrays) or has none by its attributes; a
    tuple subclass by its items, whatever its ``__len__`` says. Before, the handle was compared by
    its attributes (its id differs in every copy): an untouched cache counted as edited when the
    sandbox went one call at a time (found by tests/test_sandbox_parity.py)."""
    from copy import deepcopy
    from types import SimpleNamespace

    from bpcheck.implementation import unchanged

    class Handle:
        def __init__(self, id, state):
            self.id, self.state = id, state

        def __eq__(self, other):
            return isinstance(other, Handle) and self.state == other.state

    assert unchanged(Handle(1, "abc"), Handle(2, "abc"))
    assert not unchanged(Handle(1, "abc"), Handle(1, "abd"))
    cache = SimpleNamespace(x=np.arange(3.0), mode="train")
    copy = deepcopy(cache)
    assert unchanged(copy, cache)
    cache.x[0] = 7.0
    assert not unchanged(copy, cache)
    assert unchanged(EvilTupleLike((1.0, 2.0)), EvilTupleLike((1.0, 2.0)))


class EvilTupleLike(tuple):
    def __len__(self):
        raise SystemExit(3)


def test_a_layer_property_meets_only_the_shapes_it_asked_for(impl):
    """A layer's own property (max-pool's ties) calls the forward and backward again and does
    arithmetic on what they return: a backward whose shape changes per call made it raise
    ValueError (broadcast) out of the battery (found by the fuzz test); now the shape is named."""
    from bpcheck.battery.checks import check_named
    from bpcheck.registry import layer_named

    layer = layer_named("max_pool")
    behaviour = Behaviour("varying", "always", varying_shape=True)
    hostile = impl.replace(**{layer.backward_name: behaviour.wrap(
        impl.functions[layer.backward_name])})
    runs = run_checks(layer, hostile, (check_named("properties"),), max_examples=3, shrink=False,
                      random_seed=0)
    failure = runs[0].failure
    assert failure is not None and f"{layer.backward_name}'s dx has shape" in failure.message


@pytest.mark.parametrize("behaviour", [
    Behaviour("varying", "always", varying_shape=True),
    Behaviour("the transpose", "always", value="the transpose", place="item 0"),
    Behaviour("an empty array", "always", value="an empty array", place="item 0"),
], ids=lambda b: b.what)
def test_a_random_layer_whose_output_has_the_wrong_shape_gets_a_verdict(impl, behaviour):
    """A random layer's choices (dropout's mask) are read from its output: one of the wrong
    shape made the twin's arguments disagree and JAX raise TypeError out of the battery (found
    by the thorough fuzz, on x of shape (1, 6)); now the twin gets a fixed choice and the
    output's shape is named."""
    from bpcheck.battery.checks import run_battery
    from bpcheck.battery.example import build_example
    from bpcheck.registry import layer_named
    from bpcheck.sampling import Draw, Sizes

    layer = layer_named("dropout")
    hostile = impl.replace(**{layer.forward_name: behaviour.wrap(
        impl.functions[layer.forward_name])})
    example = build_example(layer, Draw(dims=Sizes(shape=(1, 6)), scale=1.0, zeros=False,
                                        seed=1))
    findings = run_battery(layer, hostile, example)
    forward = [f for f in findings if f.check == "forward"]
    assert forward and forward[0].failed and "shape" in forward[0].message, forward
