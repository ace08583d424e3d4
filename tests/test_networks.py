"""Whole models (manual/networks.py): what the generic battery cannot say on its own.

The battery (tests/test_properties.py) already runs every check on every model of
``bpcheck.registry.networks``. Here: the softmax Jacobian against ``jax.jacobian``, the identity
∂L/∂z₂ = (ŷ − y)/N on its own, the 2 → 500 → 2 instance of the tanh-softmax net, and one classic
mistake per model that the ``vjp`` check must catch; the list forms of the packed models and the
models' argument errors. (Every model at large magnitudes: tests/test_properties.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import manual
import reference
from bpcheck.battery.checks import check_named
from bpcheck.jaxsetup import jax
from bpcheck.registry import layer_named
from bpcheck.battery.runner import run_check
from bpcheck.sampling import draws
from bpcheck.battery.example import build_example
from bpcheck.tolerances import ANALYTIC, compare

import jax.numpy as jnp  # noqa: E402  (after bpcheck.jaxsetup: float64)

pytestmark = pytest.mark.xdist_group(name="networks")

EXAMPLES = 25  # per property; shapes come from small pools, so JAX compiles a handful of programs


def _assert_close(actual, expected, what: str) -> None:
    result = compare(np.asarray(actual), np.asarray(expected), ANALYTIC)
    assert result.ok, f"{what}: {result.describe()}"


# ---------------------------------------------------------------- softmax Jacobian


@jax.jit
def _row_jacobians(x):
    """jax.jacobian of the softmax of one row, mapped over the rows: (N, C) -> (N, C, C)."""
    return jax.vmap(jax.jacobian(jax.nn.softmax))(x)


@settings(max_examples=EXAMPLES)
@given(n=st.sampled_from((1, 5)), c=st.sampled_from((1, 3, 4)),
       scale=st.sampled_from((1.0, 40.0, 1e4)), seed=st.integers(0, 2**32 - 1))
def test_softmax_jacobian_matches_jax_jacobian_row_by_row(n, c, scale, seed):
    x = np.random.default_rng(seed).standard_normal((n, c)) * scale
    before = x.copy()
    J = manual.softmax_jacobian(x)
    assert isinstance(J, np.ndarray) and J.dtype == np.float64 and J.shape == (n, c, c)
    assert np.array_equal(x, before), "softmax_jacobian modified its input"
    _assert_close(J, _row_jacobians(x), f"softmax_jacobian, x {x.shape}, scale {scale:g}")


# ---------------------------------------------------------------- ∂L/∂z₂ = (ŷ − y)/N


def _cross_entropy_of_z2(z2, y):
    """The tanh-softmax net's loss as a function of its logits z₂ alone."""
    return -jnp.sum(y * jax.nn.log_softmax(z2, axis=1)) / z2.shape[0]


_grad_wrt_z2 = jax.jit(jax.grad(_cross_entropy_of_z2))


@settings(max_examples=EXAMPLES)
@given(n=st.sampled_from((1, 5)), d=st.sampled_from((1, 3)), h=st.sampled_from((3, 4)),
       c=st.sampled_from((1, 3, 4)), seed=st.integers(0, 2**32 - 1))
def test_tanh_softmax_net_logit_gradient_is_y_hat_minus_y_over_n(n, d, h, c, seed):
    rng = np.random.default_rng(seed)
    W1, b1 = rng.standard_normal((d, h)), rng.standard_normal(h)
    W2, b2 = rng.standard_normal((h, c)), rng.standard_normal(c)
    x, y = rng.standard_normal((n, d)), np.eye(c)[rng.integers(0, c, size=n)]
    z2 = np.tanh(x @ W1 + b1) @ W2 + b2
    y_hat = manual.softmax_forward(z2)[0]
    dz2 = (y_hat - y) / n
    _assert_close(dz2, _grad_wrt_z2(z2, y), "(ŷ − y)/N against jax.grad of the loss in z₂")
    # and it is the factor the model backpropagates: db2 = Σ over the batch of dz2
    _, (_, _, _, db2) = manual.tanh_softmax_net_loss(W1, b1, W2, b2, x, y)
    _assert_close(db2, dz2.sum(axis=0), "db2 against the column sums of (ŷ − y)/N")


# ---------------------------------------------------------------- the 2 → 500 → 2 net

_twin_loss_and_grads = jax.jit(
    jax.value_and_grad(reference.tanh_softmax_net_loss, argnums=(0, 1, 2, 3)))


@pytest.mark.parametrize("n", [1, 7, 64])
def test_tanh_softmax_net_2_500_2_matches_jax_grad(n):
    d, h, c = 2, 500, 2
    rng = np.random.default_rng(500 + n)
    W1, b1 = rng.standard_normal((d, h)), rng.standard_normal(h)
    W2, b2 = rng.standard_normal((h, c)) / np.sqrt(h), rng.standard_normal(c)
    x, y = rng.standard_normal((n, d)), np.eye(c)[rng.integers(0, c, size=n)]
    loss, grads = manual.tanh_softmax_net_loss(W1, b1, W2, b2, x, y)
    expected_loss, expected = _twin_loss_and_grads(W1, b1, W2, b2, x, y)
    _assert_close(loss, expected_loss, "loss")
    for name, grad, ref in zip(("dW1", "db1", "dW2", "db2"), grads, expected):
        assert grad.shape == ref.shape and grad.dtype == np.float64, name
        _assert_close(grad, ref, f"{name} of the 2 → 500 → 2 net, N = {n}")


# ---------------------------------------------------------------- planted mistakes


def linear_classifier_without_reg_in_dw(W, b, X, y, reg):
    """dW = Xᵀ dF, the regulariser's reg·W forgotten."""
    loss, dF = manual.softmax_loss(X @ W + b, y)
    return loss + 0.5 * reg * np.sum(W * W), (X.T @ dF, dF.sum(axis=0))


def two_layer_net_without_relu_backward(W1, b1, W2, b2, X, y, reg):
    """The upstream gradient passed through the relu as if it were the identity."""
    a = X @ W1 + b1
    hidden = np.maximum(a, 0.0)
    loss, dscores = manual.softmax_loss(hidden @ W2 + b2, y)
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    da = dscores @ W2.T  # mistake: no ⊙ [a > 0]
    return loss, (X.T @ da + reg * W1, da.sum(axis=0), hidden.T @ dscores + reg * W2,
                  dscores.sum(axis=0))


def column_two_layer_db2_wrong_axis(W1, b1, W2, b2, X, Y, activation):
    """db2 summed over the rows (the outputs) instead of the columns (the examples)."""
    cost, (dW1, db1, dW2, _) = manual.column_two_layer_loss(W1, b1, W2, b2, X, Y, activation)
    Z1 = W1 @ X + b1
    X2 = {"sigmoid": manual.sigmoid_forward, "tanh": manual.tanh_forward,
          "relu": manual.relu_forward}[activation](Z1)[0]
    dF = 2.0 * (W2 @ X2 + b2 - Y) / X.shape[1]
    return cost, (dW1, db1, dW2, dF.sum(axis=0, keepdims=True))  # mistake: axis=0 → (1, N)


def bias_free_three_layer_delta_missing_tanh_slope(w1, w2, w3, x, y):
    """δ recomputed for the first layer without h2's (1 − h2²) factor."""
    m = x.shape[0]
    h1 = np.tanh(x @ w1)
    h2 = np.tanh(h1 @ w2)
    diff = h2 @ w3 - y
    delta3 = 2.0 * diff / m
    delta2 = (delta3 @ w3.T) * (1.0 - h2 * h2)
    delta1 = ((2.0 * diff / m) @ w3.T @ w2.T) * (1.0 - h1 * h1)  # mistake: (1 − h2²) dropped
    return np.sum(diff * diff) / m, (x.T @ delta1, h1.T @ delta2, h2.T @ delta3)


def tanh_softmax_net_without_1_over_n(W1, b1, W2, b2, x, y):
    """dz2 = ŷ − y: the 1/N of the mean forgotten."""
    loss, _ = manual.tanh_softmax_net_loss(W1, b1, W2, b2, x, y)
    a1 = np.tanh(x @ W1 + b1)
    dz2 = manual.softmax_forward(a1 @ W2 + b2)[0] - y  # mistake: no / N
    dz1 = (dz2 @ W2.T) * (1.0 - a1 * a1)
    return loss, (x.T @ dz1, dz1.sum(axis=0), a1.T @ dz2, dz2.sum(axis=0))


def deep_column_net_delta_L_without_slope(theta, X, Y, sizes, activations):
    """δ_L = (2/N)(a_L − Y), forgetting ⊙ σ'_L(z_L): wrong unless the last layer is the identity."""
    from manual import deep_networks as deep

    from manual._packing import unpack

    shapes = [s for i, o in zip(sizes[:-1], sizes[1:]) for s in ((o, i), (o, 1))]
    params = unpack(theta, shapes)
    Ws, bs = params[0::2], params[1::2]
    last = activations[-1]
    if last == "identity":
        return manual.deep_column_net_loss(theta, X, Y, sizes, activations)
    # the same network whose last activation's slope is taken to be 1 in the recursion
    n = X.shape[1]
    a, inputs, slopes = X, [], []
    for W, b, name in zip(Ws, bs, activations):
        inputs.append(a)
        a, slope = deep._activate(name, W @ a + b)
        slopes.append(slope)
    delta = (2.0 / n) * (a - Y)
    grads = []
    for layer in reversed(range(len(Ws))):
        grads = [delta @ inputs[layer].T, delta.sum(axis=1, keepdims=True)] + grads
        if layer:
            delta = (Ws[layer].T @ delta) * slopes[layer - 1]
    return float(np.sum((a - Y) ** 2) / n), np.concatenate([g.ravel() for g in grads])


def deep_column_net_without_1_over_n(theta, X, Y, sizes, activations):
    loss, grad = manual.deep_column_net_loss(theta, X, Y, sizes, activations)
    return loss, grad * X.shape[1]


def mlp_skipping_the_first_activation_backward(theta, X, y, sizes, activations, loss):
    """The sandwich's backward forgets the first hidden layer's activation (dz = da)."""
    from manual import mlp

    if not activations:
        return manual.mlp_loss(theta, X, y, sizes, activations, loss)
    broken = dict(mlp.HIDDEN)
    broken[activations[0]] = (broken[activations[0]][0], lambda da, cache: da.copy())
    original, mlp.HIDDEN = mlp.HIDDEN, broken
    try:
        return manual.mlp_loss(theta, X, y, sizes, activations, loss)
    finally:
        mlp.HIDDEN = original


PLANTED = [
    ("mlp_loss", mlp_skipping_the_first_activation_backward),
    ("deep_column_net_loss", deep_column_net_delta_L_without_slope),
    ("deep_column_net_loss", deep_column_net_without_1_over_n),
    ("linear_classifier_loss", linear_classifier_without_reg_in_dw),
    ("two_layer_net_loss", two_layer_net_without_relu_backward),
    ("column_two_layer_loss", column_two_layer_db2_wrong_axis),
    ("bias_free_three_layer_loss", bias_free_three_layer_delta_missing_tanh_slope),
    ("tanh_softmax_net_loss", tanh_softmax_net_without_1_over_n),
]


@pytest.mark.parametrize("name, bad", PLANTED, ids=[bad.__name__ for _, bad in PLANTED])
def test_planted_mistake_fails_the_vjp_check(name, bad, impl):
    layer = layer_named(name)
    run = run_check(layer, impl.replace(**{name: bad}), check_named("vjp"), max_examples=100,
                    shrink=False)
    assert run.failure is not None, f"vjp did not catch {bad.__name__} in {run.passed} examples"
    assert run.failure.function == name


# ---------------------------------------------------------------- relu at exactly zero


@pytest.mark.parametrize("name", ["two_layer_net_loss", "column_two_layer_loss"])
@pytest.mark.parametrize("n", [1, 5])
def test_a_dead_first_layer_takes_relu_derivative_zero_as_jax_does(name, n, impl):
    """With X = 0 and b1 = 0 every first-layer pre-activation is exactly 0, a relu kink. Inside a
    whole model the battery cannot tell a convention there from a mistake (the kink feeds every
    gradient), so the hand-written models take relu'(0) = 0, as JAX does: db1 is then 0. Drawn
    examples reach this point only when exact zeros line up (a mutant taking relu'(0) = 1 in
    column_two_layer_loss survived a run whose draws never lined them up)."""
    from bpcheck.autodiff import reference_vjp
    from bpcheck.implementation import evaluate
    from bpcheck.sampling import Dims, Draw

    layer = layer_named(name)
    ex = build_example(layer, Draw(Dims(n, 3, 3, 4, (), False), 1.0, False, 17))  # c = 4: relu
    args = list(ex.args)
    if "activation" in layer.arg_names:
        assert args[layer.arg_names.index("activation")] == "relu"
    for name_zeroed in ("X", "b1"):
        position = layer.arg_names.index(name_zeroed)
        args[position] = np.zeros_like(args[position])
    _, grads = evaluate(layer, impl, tuple(args), None)
    _, expected = reference_vjp(layer, tuple(args), None)
    assert not np.any(expected[layer.grad_names.index("db1")])
    for grad_name, grad, ref in zip(layer.grad_names, grads, expected):
        _assert_close(grad, ref, f"{name} {grad_name} with a dead first layer")


@pytest.mark.parametrize("n", [1, 5])
def test_a_dead_first_layer_of_the_deep_net_takes_relu_derivative_zero(n, impl):
    """The same for the L-layer column-convention net: X = 0 and b_1 = 0 put every first-layer
    pre-activation at relu's kink, where manual/ takes relu'(0) = 0 as JAX does (so ∂C/∂b_1 = 0).
    Kills the mutant (z > 0) → (z >= 0) in deep_networks._activate, which survived a mutation run
    whose drawn examples never lined exact zeros up."""
    from bpcheck.autodiff import reference_vjp
    from bpcheck.implementation import evaluate

    layer = layer_named("deep_column_net_loss")
    sizes, activations = (3, 4, 2), ("relu", "identity")
    rng = np.random.default_rng(5)
    W1, b1, W2, b2 = (rng.standard_normal((4, 3)), np.zeros((4, 1)),
                      rng.standard_normal((2, 4)), rng.standard_normal((2, 1)))
    theta = np.concatenate([a.ravel() for a in (W1, b1, W2, b2)])
    args = (theta, np.zeros((3, n)), rng.standard_normal((2, n)), sizes, activations)
    _, (grad,) = evaluate(layer, impl, args, None)
    _, (expected,) = reference_vjp(layer, args, None)
    db1 = slice(12, 16)  # theta packs W_1 (12 entries), then b_1 (4)
    assert not np.any(expected[db1])
    _assert_close(grad, expected, "deep_column_net_loss dθ with a dead first layer")


def test_the_mlp_domain_reaches_every_loss_at_every_depth_and_every_activation():
    from bpcheck.registry.networks import MLP_ACTIVATIONS, MLP_LOSSES, _mlp_args
    from bpcheck.sampling import FEATURE_SIZES, Dims, Draw, Values

    losses, activations = set(), set()
    for d in FEATURE_SIZES:
        for c in FEATURE_SIZES:
            dims = Dims(n=5, d=d, m=3, c=c, trailing=(), split=False)
            _, _, _, sizes, acts, loss = _mlp_args(dims, Values(Draw(dims, 1.0, False, 0)))
            losses.add((len(sizes) - 1, loss))
            activations.update(acts)
    assert losses == {(depth, loss) for depth in (1, 2, 3) for loss in MLP_LOSSES}
    assert activations == set(MLP_ACTIVATIONS)


# ---------------------------------------------------------------- the unpacked forms


@settings(max_examples=EXAMPLES)
@given(draw=draws())
def test_deep_column_net_lists_are_shaped_like_the_parameters(draw):
    """``deep_column_net_loss_and_grads`` (the δ recursion on lists, as the notes write it) returns
    dW_ℓ shaped like W_ℓ and db_ℓ like b_ℓ, (n_ℓ, 1) — not flattened — equal to the packed dθ."""
    from manual._packing import unpack

    theta, X, Y, sizes, activations = build_example(layer_named("deep_column_net_loss"), draw).args
    shapes = [s for n_in, n_out in zip(sizes[:-1], sizes[1:]) for s in ((n_out, n_in), (n_out, 1))]
    params = unpack(theta, shapes)
    cost, dWs, dbs = manual.deep_column_net_loss_and_grads(params[0::2], params[1::2], X, Y,
                                                          activations)
    packed_cost, dtheta = manual.deep_column_net_loss(theta, X, Y, sizes, activations)
    assert [g.shape for pair in zip(dWs, dbs) for g in pair] == shapes
    assert cost == packed_cost
    np.testing.assert_array_equal(np.concatenate([g.ravel() for p in zip(dWs, dbs) for g in p]),
                                  dtheta)


def test_column_two_layer_rejects_an_unknown_activation():
    W1, b1, W2, b2 = np.ones((3, 2)), np.ones((3, 1)), np.ones((1, 3)), np.ones((1, 1))
    with pytest.raises(ValueError, match=r"activation must be one of .*, got 'softsign'"):
        manual.column_two_layer_loss(W1, b1, W2, b2, np.ones((2, 4)), np.ones((1, 4)), "softsign")


def test_deep_column_net_rejects_an_unknown_activation():
    from manual.deep_networks import _activate

    with pytest.raises(ValueError, match=r"activation must be one of .*, got 'softsign'"):
        _activate("softsign", np.zeros((2, 3)))


def test_mlp_needs_one_activation_per_hidden_layer():
    Ws = [np.ones((2, 3)), np.ones((3, 1)), np.ones((1, 1))]
    bs = [np.ones(3), np.ones(1), np.ones(1)]
    with pytest.raises(ValueError, match=r"^3 layers need 2 activations, got 1$"):
        manual.mlp_loss_and_grads(Ws, bs, np.ones((4, 2)), np.zeros(4, dtype=int), ["relu"],
                                  "softmax_loss")


def test_unpack_rejects_a_theta_of_the_wrong_size():
    from manual._packing import unpack

    with pytest.raises(ValueError, match=r"^theta has 7 entries; the shapes \[\(2, 3\)\] need 6$"):
        unpack(np.zeros(7), [(2, 3)])
