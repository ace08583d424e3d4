"""The spiral demo: the cs231n "neural networks case study", trained with manual/'s gradients.

Three classes of 100 points on interleaved spirals in 2-D (radius linspace(0, 1), angle
linspace(4k, 4(k + 1)) + 0.2·noise). A linear softmax classifier (step 1.0, reg 1e-3, 200
iterations) and a two-layer ReLU network (100 hidden units, step 1.0, reg 1e-3, 10,000 iterations)
are trained by full-batch gradient descent on gradients from manual/ — affine, relu and softmax
loss composed as a forward/backward sandwich — and at checkpoints those gradients are compared with
``jax.grad`` of the same loss written in JAX. The case study reports 49% and 98% training accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import manual
from bpcheck.jaxsetup import jax
from bpcheck.tolerances import ANALYTIC, compare

CLASSES, POINTS_PER_CLASS = 3, 100
STEP, REG = 1.0, 1e-3
LINEAR_ITERATIONS, TWO_LAYER_ITERATIONS, HIDDEN = 200, 10_000, 100
CHECKPOINTS = 6  # gradient comparisons with JAX per model, spread over the run

Progress = Callable[[str, int, int], None]  # (model, iteration done, total)


def spiral(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X: (K·100, 2) points, y: (K·100,) labels."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(CLASSES):
        radius = np.linspace(0.0, 1.0, POINTS_PER_CLASS)
        angle = np.linspace(4 * k, 4 * (k + 1), POINTS_PER_CLASS) + rng.standard_normal(POINTS_PER_CLASS) * 0.2
        xs.append(np.c_[radius * np.sin(angle), radius * np.cos(angle)])
        ys.append(np.full(POINTS_PER_CLASS, k))
    return np.concatenate(xs), np.concatenate(ys)


def _linear_loss_and_grads(params, X, y):
    """L = softmax_loss(XW + b) + ½·reg·ΣW²; dW = Xᵀ·dF + reg·W, db = Σ dF."""
    scores, cache = manual.affine_forward(X, params["W"], params["b"])
    data_loss, dscores = manual.softmax_loss(scores, y)
    _, dW, db = manual.affine_backward(dscores, cache)
    loss = data_loss + 0.5 * REG * np.sum(params["W"] ** 2)
    return loss, {"W": dW + REG * params["W"], "b": db}


def _two_layer_loss_and_grads(params, X, y):
    """affine → relu → affine → softmax loss, L2 on both weights, as a forward/backward sandwich."""
    z1, fc1 = manual.affine_forward(X, params["W1"], params["b1"])
    h, relu_cache = manual.relu_forward(z1)
    scores, fc2 = manual.affine_forward(h, params["W2"], params["b2"])
    data_loss, dscores = manual.softmax_loss(scores, y)
    dh, dW2, db2 = manual.affine_backward(dscores, fc2)
    dz1 = manual.relu_backward(dh, relu_cache)
    _, dW1, db1 = manual.affine_backward(dz1, fc1)
    loss = data_loss + 0.5 * REG * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return loss, {"W1": dW1 + REG * params["W1"], "b1": db1,
                  "W2": dW2 + REG * params["W2"], "b2": db2}


def _jax_losses():
    import jax.numpy as jnp

    def data_loss(scores, y):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(scores), y[:, None], axis=1))

    def linear(params, X, y):
        return data_loss(X @ params["W"] + params["b"], y) + 0.5 * REG * jnp.sum(params["W"] ** 2)

    def two_layer(params, X, y):
        h = jax.nn.relu(X @ params["W1"] + params["b1"])
        penalty = jnp.sum(params["W1"] ** 2) + jnp.sum(params["W2"] ** 2)
        return data_loss(h @ params["W2"] + params["b2"], y) + 0.5 * REG * penalty

    return jax.jit(jax.grad(linear)), jax.jit(jax.grad(two_layer))


def _predict_linear(params, X):
    return np.argmax(X @ params["W"] + params["b"], axis=1)


def _predict_two_layer(params, X):
    h = np.maximum(0.0, X @ params["W1"] + params["b1"])
    return np.argmax(h @ params["W2"] + params["b2"], axis=1)


@dataclass
class Trained:
    name: str
    params: dict[str, np.ndarray]
    accuracy: float
    losses: list[float] = field(default_factory=list)
    worst_error_vs_jax: float = 0.0
    mismatches: list[str] = field(default_factory=list)

    def as_json(self, iterations: int) -> dict:
        return {"accuracy": self.accuracy, "final_loss": self.losses[-1], "iterations": iterations,
                "checkpoints_verified_against_jax": CHECKPOINTS,
                "worst_gradient_error_vs_jax": self.worst_error_vs_jax,
                "mismatches": self.mismatches}


def _train(name, params, loss_and_grads, jax_grad, predict, X, y, iterations, progress):
    checkpoints = set(np.linspace(0, iterations - 1, CHECKPOINTS).astype(int))
    run = Trained(name, params, 0.0)
    for i in range(iterations):
        loss, grads = loss_and_grads(params, X, y)
        run.losses.append(float(loss))
        if i in checkpoints:
            expected = jax_grad(params, X, y)
            for key, grad in grads.items():
                result = compare(grad, np.asarray(expected[key]), ANALYTIC)
                run.worst_error_vs_jax = max(run.worst_error_vs_jax, result.error)
                if not result.ok:
                    run.mismatches.append(f"iteration {i}: d{key} {result.describe()}")
        params = {key: value - STEP * grads[key] for key, value in params.items()}
        if progress and (i + 1) % max(1, iterations // 100) == 0:
            progress(name, i + 1, iterations)
    run.params = params
    run.accuracy = float(np.mean(predict(params, X) == y))
    return run


def run(seed: int = 0, progress: Progress | None = None) -> dict:
    """Train both models; return the data, both runs and the seed."""
    X, y = spiral(seed)
    rng = np.random.default_rng(seed + 1)
    linear_grad, two_layer_grad = _jax_losses()
    linear = _train("linear", {"W": 0.01 * rng.standard_normal((2, CLASSES)), "b": np.zeros(CLASSES)},
                    _linear_loss_and_grads, linear_grad, _predict_linear, X, y,
                    LINEAR_ITERATIONS, progress)
    two_layer_params = {"W1": 0.01 * rng.standard_normal((2, HIDDEN)), "b1": np.zeros(HIDDEN),
                        "W2": 0.01 * rng.standard_normal((HIDDEN, CLASSES)), "b2": np.zeros(CLASSES)}
    two_layer = _train("two_layer", two_layer_params, _two_layer_loss_and_grads, two_layer_grad,
                       _predict_two_layer, X, y, TWO_LAYER_ITERATIONS, progress)
    return {"X": X, "y": y, "linear": linear, "two_layer": two_layer, "seed": seed}


def summary(result: dict) -> dict:
    """The JSON document `bpcheck demo spiral --json` writes."""
    return {"linear": result["linear"].as_json(LINEAR_ITERATIONS),
            "two_layer": result["two_layer"].as_json(TWO_LAYER_ITERATIONS),
            "seed": result["seed"],
            "data": {"classes": CLASSES, "points_per_class": POINTS_PER_CLASS},
            "hyperparameters": {"step": STEP, "reg": REG, "hidden": HIDDEN}}


def plot(result: dict, path) -> None:
    """Decision regions of both models and their loss curves (needs the `plot` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = result["X"], result["y"]
    grid = np.linspace(-1.1, 1.1, 300)
    xx, yy = np.meshgrid(grid, grid)
    points = np.c_[xx.ravel(), yy.ravel()]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for axis, (key, predict) in zip(axes, (("linear", _predict_linear),
                                           ("two_layer", _predict_two_layer))):
        trained = result[key]
        regions = predict(trained.params, points).reshape(xx.shape)
        axis.contourf(xx, yy, regions, cmap="Spectral", alpha=0.5)
        axis.scatter(X[:, 0], X[:, 1], c=y, s=12, cmap="Spectral", edgecolors="k", linewidths=0.3)
        axis.set_title(f"{key.replace('_', '-')}: {trained.accuracy:.0%} training accuracy")
    for key in ("linear", "two_layer"):
        axes[2].plot(result[key].losses, label=key.replace("_", "-"))
    axes[2].set(xscale="log", xlabel="iteration", ylabel="loss", title="training loss")
    axes[2].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
