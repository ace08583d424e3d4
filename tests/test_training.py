"""Training equivalence: gradient descent driven by the hand-derived gradients follows the same
parameter trajectory as gradient descent driven by ``jax.vjp``.

For every loss in the registry with more than one differentiable argument (whole models from
bpcheck/registry/networks.py, identities from bpcheck/registry/identities.py — any record added
later is covered without a change here), an example is drawn and STEPS steps of plain gradient
descent, θ ← θ − α·∂L/∂θ on every differentiable argument at once, run twice from it: once with
manual/'s gradients, once with the JAX twin's. The two runs must agree at every step.

This is more than the per-example ``vjp`` check: the gradients are evaluated at the points the
descent itself reaches, and an error in one argument's gradient moves every later gradient.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import find

import manual
from bpcheck.autodiff import reference_vjp
from bpcheck.implementation import Implementation, evaluate
from bpcheck.layer import Layer
from bpcheck.registry import REGISTRY, layer_named
from bpcheck.sampling import Dims, Draw, Sizes
from bpcheck.battery.example import build_example
from bpcheck.tolerances import ANALYTIC, compare

STEPS = 8
#: The step size when the loss allows it; halved (HALVINGS at most) until the JAX run decreases
#: the loss at every step. A large loss has a steep curvature (‖WXV − U‖²'s Hessian grows with
#: ‖XV‖²), where α = 0.05 overshoots: each step then multiplies the rounding difference between
#: the two runs by |1 − αλ| > 1 and the test would measure that amplification, not the gradients.
LEARNING_RATE = 0.05
HALVINGS = 30
#: The two runs compute the same exact quantities by different float64 operations; while the
#: descent contracts, their rounding differences add up over the steps (≈ STEPS × 1e-15) instead
#: of growing, so the analytic tolerance (1e-10 of the larger max-norm) holds at every step.
#: Observed (2026-11, every record, both starting points): at most 5e-16.
TRAJECTORY = ANALYTIC

#: Starting points: a batch of 5 and a batch of one, with different widths; values at scale 1, no
#: exact zeros (a training run starts from a generic point).
DRAWS = (
    # d = 1 picks the network widths (D, H, C) = (1, 3, 4): no model is degenerate there (with
    # C = 1 a softmax loss is identically 0 and there is nothing to train).
    Draw(Dims(n=5, d=1, m=4, c=3, trailing=(), split=False), scale=1.0, zeros=False, seed=11),
    Draw(Dims(n=1, d=4, m=1, c=4, trailing=(), split=False), scale=1.0, zeros=False, seed=12),
)

Gradients = Callable[[tuple[Any, ...]], tuple[float, tuple[np.ndarray, ...]]]


def _params():
    return [pytest.param(layer, id=layer.name, marks=pytest.mark.xdist_group(name=layer.name))
            for layer in REGISTRY if layer.is_loss]


def manual_gradients(layer: Layer, impl: Implementation) -> Gradients:
    """(loss, grads) from the implementation's ``<name>_loss``, through the engine's one call."""
    def gradients(args):
        loss, grads = evaluate(layer, impl, args, None)
        return float(loss), grads
    return gradients


def jax_gradients(layer: Layer) -> Gradients:
    """(loss, grads) from ``jax.vjp`` of the record's JAX twin."""
    def gradients(args):
        # (a loss whose L2 factor is read from the implementation's: the twin's default, 0.5)
        loss, grads = reference_vjp(layer, layer.twin_args(args), None)
        return float(loss), grads
    return gradients


def descend(layer: Layer, args: tuple[Any, ...], gradients: Gradients, alpha: float):
    """STEPS steps of gradient descent from ``args``: [(loss_k, θ_k)] for k = 0 … STEPS, θ_k the
    differentiable arguments in ``layer.differentiable`` order."""
    args = list(args)
    trajectory = []
    for step in range(STEPS + 1):
        loss, grads = gradients(tuple(args))
        trajectory.append((loss, tuple(np.array(args[p], dtype=np.float64)
                                       for p in layer.differentiable)))
        if step < STEPS:
            for position, grad in zip(layer.differentiable, grads):
                args[position] = np.asarray(args[position], dtype=np.float64) - alpha * grad
    return trajectory


def step_size(layer: Layer, args: tuple[Any, ...]) -> float:
    """LEARNING_RATE, halved until the JAX run decreases the loss at every step."""
    alpha = LEARNING_RATE
    for _ in range(HALVINGS):
        losses = [loss for loss, _ in descend(layer, args, jax_gradients(layer), alpha)]
        if np.isfinite(losses).all() and all(b <= a for a, b in zip(losses, losses[1:])):
            break
        alpha /= 2
    return alpha


def first_divergence(layer: Layer, ours, theirs) -> str | None:
    """Where two trajectories first differ beyond TRAJECTORY, described; None if they agree."""
    for step, ((loss, params), (ref_loss, ref_params)) in enumerate(zip(ours, theirs)):
        for name, mine, ref in zip(layer.grad_names, params, ref_params):
            result = compare(mine, ref, TRAJECTORY)
            if not result.ok:
                return f"step {step}: {name[1:]} {result.describe()}"
        result = compare(np.float64(loss), np.float64(ref_loss), TRAJECTORY)
        if not result.ok:
            return f"step {step}: the loss {result.describe()}"
    return None


def own(layer: Layer, draw: Draw) -> Draw:
    """``draw`` for a record that draws its own dimensions (a model's ``Sizes``): the simplest
    ones of its pools, at the draw's batch size."""
    if layer.dims is None:
        return draw
    sizes = find(layer.dims, lambda _: True)
    return replace(draw, dims=Sizes({**sizes, "n": draw.dims.n}))


def trajectories(layer: Layer, impl: Implementation, draw: Draw):
    """The manual and the JAX trajectory from the example ``draw`` builds, and α."""
    args = build_example(layer, own(layer, draw)).args
    alpha = step_size(layer, args)
    ours = descend(layer, args, manual_gradients(layer, impl), alpha)
    theirs = descend(layer, args, jax_gradients(layer), alpha)
    return ours, theirs, alpha


#: Models whose parameters are packed into one vector θ (one differentiable argument that is
#: nevertheless a whole network's parameters).
PACKED_MODELS = {"deep_column_net_loss", "mlp_loss"}


def multi_argument(layer: Layer) -> None:
    if len(layer.differentiable) < 2 and layer.name not in PACKED_MODELS:
        pytest.skip(f"{layer.name} has one differentiable argument: the vjp check covers it")


# ---------------------------------------------------------------- the tests


def test_some_loss_trains_several_arguments():
    """The parametrized tests below are not all skips."""
    assert any(layer.is_loss and len(layer.differentiable) > 1 for layer in REGISTRY)


@pytest.mark.parametrize("draw", DRAWS, ids=("N5", "N1"))
@pytest.mark.parametrize("layer", _params())
def test_manual_and_jax_gradients_train_alike(layer, draw, impl):
    multi_argument(layer)
    ours, theirs, alpha = trajectories(layer, impl, draw)
    divergence = first_divergence(layer, ours, theirs)
    assert divergence is None, (
        f"{layer.name}, α = {alpha:g}: manual/ and jax.vjp trajectories differ at {divergence}")
    # The descent moved: the agreement is about a real trajectory, not a standing start.
    assert ours[-1][0] < ours[0][0], f"{layer.name}: the loss did not decrease (α = {alpha:g})"


@pytest.mark.parametrize("layer", _params())
def test_a_planted_factor_one_half_makes_the_trajectories_diverge(layer, impl):
    """The comparison can fail: halve the largest gradient and the runs part at the first step."""
    multi_argument(layer)
    draw = DRAWS[0]
    args = build_example(layer, own(layer, draw)).args
    _, start = jax_gradients(layer)(args)
    halved = int(np.argmax([np.max(np.abs(g), initial=0.0) for g in start]))
    correct = impl.functions[layer.name]

    def planted(*call_args):
        loss, grads = correct(*call_args)
        grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
        grads[halved] = 0.5 * grads[halved]
        return loss, tuple(grads)

    ours, theirs, alpha = trajectories(layer, impl.replace(**{layer.name: planted}), draw)
    divergence = first_divergence(layer, ours, theirs)
    assert divergence is not None, f"{layer.name}: halving {layer.grad_names[halved]} went unseen"
    name = layer.grad_names[halved][1:]
    assert divergence.startswith(f"step 1: {name} worst entry"), divergence


def test_training_equivalence_needs_every_gradient(impl):
    """A concrete case: least squares with dW halved parts from JAX in W after one step, then in
    x too (x's later gradients are evaluated at the wrong W)."""
    layer = layer_named("least_squares_loss")

    def half_dW(W, x, y):
        loss, (dW, dx) = manual.least_squares_loss(W, x, y)
        return loss, (0.5 * dW, dx)

    bad = impl.replace(least_squares_loss=half_dW)
    ours, theirs, _ = trajectories(layer, bad, DRAWS[0])
    assert first_divergence(layer, ours[:2], theirs[:2]).startswith("step 1: W ")
    x_gap = [compare(o[1][1], t[1][1], TRAJECTORY) for o, t in zip(ours, theirs)]
    assert x_gap[1].ok and not x_gap[2].ok  # x is right after step 1, wrong after step 2
