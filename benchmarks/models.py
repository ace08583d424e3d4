"""Whole models: the course notebooks' own check against bpcheck, on the catalogue's model mistakes.

The notebooks check a model the way their cells do: one set-up (the notebook's sizes, standard
normal data, seeded), ``loss(X, y)`` and each ``grads[name]`` against a central-difference
numerical gradient of the model's own loss (h = 1e-5), at the notebook's regularisation
strengths, and a verdict by the notebook's tolerance on ``rel_error`` (the conv net's 1e-2, the
others' 1e-5, read as a student reads "should be e-7 or less"). A key missing from ``grads`` is
the notebook's KeyError: caught. That check runs here on every catalogue file whose LAYER is a
model, and on manual/'s correct models (a catch there is a false alarm), beside bpcheck's default
verdict (``verdict_on_file``).

    python -m benchmarks.models        # prints the table
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from benchmarks.bpcheck_runs import verdict_on, verdict_on_file
from benchmarks.peers import numerical_gradient, rel_error
from bpcheck.modelcall import _keywords
from mistakes import catalogue

#: Tolerances the notebooks state: the conv net's gradient check is read at 1e-2 (its numerical
#: gradients cross relu and max-pool kinks), the fully connected ones at 1e-5 ("e-7 or less",
#: with the room a student gives a few entries near a kink).
TOLERANCE = {"ThreeLayerConvNet": 1e-2}
DEFAULT_TOLERANCE = 1e-5
#: The losses the notebooks compare first, by (model, reg).
ANCHORS = {("TwoLayerNet", 0.0): 3.4702243556, ("TwoLayerNet", 1.0): 26.5948426952}
STEP = 1e-5


def _setups(name: str, cls: Any, rng: np.random.Generator) -> list[tuple[Any, tuple, dict]]:
    """(model, loss arguments, loss keywords) for each of the notebook's cases."""
    if name == "TwoLayerNet":  # the notebook's linspace parameters and data
        X = np.linspace(-5.5, 4.5, num=15).reshape(5, 3).T
        cases = []
        for reg in (0.0, 0.7, 1.0):
            model = cls(input_dim=5, hidden_dim=50, num_classes=7, weight_scale=1e-3, reg=reg)
            model.params = {
                "W1": np.linspace(-0.7, 0.3, num=250).reshape(5, 50),
                "b1": np.linspace(-0.1, 0.9, num=50),
                "W2": np.linspace(-0.3, 0.4, num=350).reshape(50, 7),
                "b2": np.linspace(-0.9, 0.1, num=7)}
            cases.append((model, (X, np.array([0, 5, 1])), {}))
        return cases
    if name == "neural_net_TwoLayerNet":
        X, y = 10 * rng.standard_normal((5, 4)), np.array([0, 1, 2, 2, 1])
        return [(cls(4, 10, 3, std=1e-1), (X, y), {"reg": reg}) for reg in (0.0, 0.05)]
    if name == "FullyConnectedNet":  # the FullyConnectedNets, BatchNormalization and Dropout
        X, y = rng.standard_normal((2, 15)), rng.integers(0, 10, 2)  # notebooks' checks
        cases = []
        for reg, normalization, keep in ((0.0, None, 1), (3.14, None, 1), (0.0, "batchnorm", 1),
                                         (3.14, "batchnorm", 1), (0.0, None, 0.5)):
            wanted = dict(input_dim=15, num_classes=10, reg=reg, weight_scale=5e-2,
                          dtype=np.float64, seed=123, normalization=normalization)
            wanted.update(_dropout_keywords(cls, keep))
            model = cls([20, 30], **_keywords(cls, wanted))
            cases.append((model, (X, y), {}))
        return cases
    if name == "ThreeLayerConvNet":
        X, y = rng.standard_normal((2, 3, 16, 16)), rng.integers(0, 10, 2)
        np.random.seed(231)
        return [(cls(num_filters=3, filter_size=3, input_dim=(3, 16, 16), hidden_dim=7,
                     dtype=np.float64), (X, y), {})]
    if name == "CaptioningRNN":
        words = {"<NULL>": 0, "cat": 2, "dog": 3}
        captions, features = rng.integers(0, 3, (2, 3)), rng.standard_normal((2, 4))
        return [(cls(words, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type="rnn",
                     dtype=np.float64), (features, captions), {})]
    raise ValueError(f"no notebook set-up for {name}")


def _dropout_keywords(cls: Any, keep: float) -> dict:
    """Dropout with keep probability ``keep`` in the constructor's own keyword."""
    known = _keywords(cls, {"dropout_keep_ratio": 0, "dropout": 0})
    return {"dropout_keep_ratio": keep} if "dropout_keep_ratio" in known else {"dropout": keep}


def _classifier(function: Callable, rng: np.random.Generator) -> tuple[bool, str]:
    """The linear classifiers' notebook check: grad_check_sparse-like, every entry here."""
    W, X, y = 1e-2 * rng.standard_normal((20, 10)), rng.standard_normal((30, 20)), rng.integers(
        0, 10, 30)
    worst = 0.0
    for reg in (0.0, 5.0):
        _, dW = function(W, X, y, reg)
        numeric = numerical_gradient(lambda: function(W, X, y, reg)[0], W, 1.0, STEP)
        worst = max(worst, rel_error(numeric, dW))
    return not worst <= 1e-6, f"rel_error {worst:.1e}"


def notebook_check(name: str, cls: Any, seed: int = 0) -> tuple[bool, str]:
    """(caught, detail): the notebook's check of model ``name`` (a class, or a classifier's loss
    function) at its own set-up."""
    rng = np.random.default_rng(seed)
    if not isinstance(cls, type):
        return _classifier(cls, rng)
    tolerance = TOLERANCE.get(name, DEFAULT_TOLERANCE)
    worst = 0.0
    try:
        for model, args, keywords in _setups(name, cls, rng):
            anchor = ANCHORS.get((name, getattr(model, "reg", None)))
            if anchor is not None and not abs(model.loss(*args)[0] - anchor) < 1e-6:
                return True, f"loss {model.loss(*args)[0]:.10g}, the notebook's {anchor}"
            model.params = {k: np.asarray(v, dtype=np.float64) for k, v in model.params.items()}
            loss, grads = model.loss(*args, **keywords)
            for key in sorted(model.params):
                numeric = numerical_gradient(lambda: model.loss(*args, **keywords)[0],
                                             model.params[key], 1.0, STEP)
                worst = max(worst, rel_error(numeric, grads[key]))
    except Exception as exc:  # the notebook's cell raises: the student sees it
        return True, f"{type(exc).__name__}: {exc}"
    return not worst <= tolerance, f"rel_error {worst:.1e}"


@dataclass
class ModelRow:
    name: str  # the mistake's file stem, or "manual/<model>"
    model: str
    correct: bool
    notebook: bool  # the notebook's check caught it (a false alarm on a correct model)
    notebook_detail: str
    bpcheck: bool  # bpcheck's verdict failed it
    bpcheck_diagnosed: bool | None  # its message names the mistake (None for manual/)


def _raw(impl_function: Any) -> Any:
    """The course's object behind an adapted model (``bpcheck.modelcall``)."""
    return getattr(impl_function, "__wrapped_model__", impl_function)


def run(examples: int = 30) -> list[ModelRow]:
    import manual
    from bpcheck.implementation import Implementation
    from bpcheck.registry import layer_named

    rows = []
    models = [m for m in catalogue() if layer_named(m.layer).model]
    for mistake in models:
        function = _raw(mistake.functions()[mistake.layer])
        caught, detail = notebook_check(mistake.layer, function)
        result = verdict_on_file(mistake.path, mistake.layer, max_examples=examples,
                                 shrink=False, derandomize=True)
        rows.append(ModelRow(mistake.name, mistake.layer, mistake.convention, caught, detail,
                             result.caught, mistake.diagnosed(" ".join(result.messages.values()))))
    impl = Implementation.from_module(manual)
    for name in sorted({m.layer for m in models} | {"ThreeLayerConvNet", "CaptioningRNN"}):
        caught, detail = notebook_check(name, _raw(impl.functions[name]))
        result = verdict_on(impl, layer_named(name), max_examples=examples, shrink=False,
                            derandomize=True)
        rows.append(ModelRow(f"manual/{name}", name, True, caught, detail, result.caught, None))
    return rows


def main() -> None:
    print(f"{'case':40} {'notebook':>9} {'bpcheck':>8}  notebook detail")
    for row in run():
        print(f"{row.name:40} {'caught' if row.notebook else '-':>9} "
              f"{'caught' if row.bpcheck else '-':>8}  {row.notebook_detail}"
              + ("" if row.bpcheck_diagnosed in (None, True) else "  (bpcheck: not named)"))


if __name__ == "__main__":
    main()
