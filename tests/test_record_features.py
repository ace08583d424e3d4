"""The layer record generalises: each feature the coming families need, proven on a small layer
defined here (its NumPy pair, its JAX twin, its record), with a planted bug that the battery must
catch and a correct version that must pass.

* a layer's own dimensions (``dims``: a ``Sizes`` strategy, like OpInfo's sample_inputs);
* several outputs and several upstream gradients, in a declared order (an LSTM step);
* arguments that get no gradient: integer arrays (token ids) and hyper-parameter dicts;
* a gradient returned alone rather than in a tuple (cs231n's word_embedding_backward);
* modes, and where the backward exists (batchnorm's backward is defined in train mode only);
* a random layer with a seed, judged at its own random choices (``observed``) and by its own
  properties (``properties``).
"""

from typing import NamedTuple

import numpy as np
import pytest

from bpcheck.battery.runner import run_checks
from bpcheck.implementation import Implementation
from bpcheck.jaxsetup import jax  # noqa: F401  (float64 before any JAX array exists)
from bpcheck.layer import Layer, Property, RegistryError
from bpcheck.outcomes import Fail, Status
from bpcheck.registry.convolution import DROPOUT_SEEDS
from bpcheck.sampling import sizes

import jax.numpy as jnp  # noqa: E402

EXAMPLES = 40


def verdicts(layer: Layer, **functions) -> dict[str, tuple[Status, str]]:
    """Each check's status and message for ``functions`` (the layer's forward and backward)."""
    runs = run_checks(layer, Implementation("here", functions), max_examples=EXAMPLES,
                      derandomize=True)
    return {r.check: (r.status, r.failure.message if r.failure else
                      r.warning.message if r.warning else "") for r in runs}


def failed(results: dict[str, tuple[Status, str]]) -> set[str]:
    return {name for name, (status, _) in results.items() if status == Status.FAILED}


# ---------------------------------------------------------------- own dimensions, two outputs


class PairCache(NamedTuple):
    x: np.ndarray
    w: np.ndarray


def pair_forward(x, w):
    """Two outputs: a = x @ w (N, K) and b = tanh(x) (N, D)."""
    return x @ w, np.tanh(x), PairCache(x, w)


def pair_backward(da, db, cache):
    """dx = da @ w.T + db ⊙ (1 − tanh² x); dw = x.T @ da."""
    t = np.tanh(cache.x)
    return da @ cache.w.T + db * (1 - t * t), cache.x.T @ da


def pair_backward_drops_db(da, db, cache):
    return da @ cache.w.T, cache.x.T @ da


def pair_backward_swapped(da, db, cache):  # takes the upstream gradients in the wrong order
    return pair_backward(db, da, cache) if da.shape == db.shape else pair_backward(da, db, cache)


def pair_twin(x, w):
    return x @ w, jnp.tanh(x)


def _pair_args(dims, values):
    return values.real((dims.n, dims.d)), values.real((dims.d, dims.k))


PAIR = Layer("pair", pair_twin, _pair_args, differentiable=(0, 1),
             dims=sizes(n=(1, 3), d=(2, 4), k=(2, 5)), outputs=("a", "b"))


def test_a_layer_with_two_outputs_takes_two_upstream_gradients_in_order():
    assert PAIR.dout_names == ("da", "db")
    assert not failed(verdicts(PAIR, pair_forward=pair_forward, pair_backward=pair_backward))


def test_a_backward_that_drops_one_upstream_gradient_fails_the_value_checks():
    results = verdicts(PAIR, pair_forward=pair_forward, pair_backward=pair_backward_drops_db)
    assert {"vjp", "finite_differences"} <= failed(results)


def test_upstream_gradients_taken_in_the_wrong_order_fail():
    results = verdicts(PAIR, pair_forward=pair_forward, pair_backward=pair_backward_swapped)
    assert "vjp" in failed(results)


def test_a_failure_at_batch_size_one_is_probed_on_the_layers_own_dimensions():
    # The runner's "only at batch size 1" probe rebuilds the failing draw at other batch sizes:
    # on a layer's own Sizes as on the shared Dims (it called dataclasses.replace on a Sizes).
    ones = Layer("pair", pair_twin, _pair_args, differentiable=(0, 1),
                 dims=sizes(n=(1,), d=(2,), k=(5,)), outputs=("a", "b"))
    results = verdicts(ones, pair_forward=pair_forward, pair_backward=pair_backward_drops_db)
    assert "vjp" in failed(results)


def test_a_layer_draws_its_own_dimensions():
    from bpcheck.battery.example import build_example

    from bpcheck.sampling import Draw, Sizes

    drawn = build_example(PAIR, Draw(Sizes(n=3, d=4, k=5), 1.0, False, 7))
    a, b = drawn.douts
    x, w = drawn.args
    assert a.shape == (x.shape[0], w.shape[1]) and b.shape == x.shape
    assert "Sizes(" in drawn.reproduce()


# ---------------------------------------------------------------- integer arguments, lone gradient


class LookupCache(NamedTuple):
    ids: np.ndarray
    vocabulary: int


def lookup_forward(ids, W):
    """out = W[ids]: ids (N, T) integers in [0, V), W (V, D), out (N, T, D)."""
    return W[ids], LookupCache(ids, W.shape[0])


def lookup_backward(dout, cache):
    """dW alone: np.add.at accumulates the rows of repeated ids."""
    dW = np.zeros((cache.vocabulary, dout.shape[-1]))
    np.add.at(dW, cache.ids, dout)
    return dW


def lookup_backward_assigns(dout, cache):  # repeated ids overwrite instead of adding up
    dW = np.zeros((cache.vocabulary, dout.shape[-1]))
    dW[cache.ids] = dout
    return dW


def lookup_twin(ids, W):
    return jnp.asarray(W)[ids]


def _lookup_args(dims, values):
    ids = values.rng.integers(0, dims.v, size=(dims.n, dims.t))  # repeats: V is small
    return ids, values.real((dims.v, dims.d))


LOOKUP = Layer("lookup", lookup_twin, _lookup_args, differentiable=(1,), batched=(0,),
               dims=sizes(n=(1, 3), t=(1, 4), v=(2, 3), d=(2,)))


def test_an_integer_argument_gets_no_gradient_and_a_lone_gradient_is_accepted():
    assert LOOKUP.grad_names == ("dW",)
    assert not failed(verdicts(LOOKUP, lookup_forward=lookup_forward,
                               lookup_backward=lookup_backward))


def test_assigning_where_repeated_ids_must_accumulate_fails():
    results = verdicts(LOOKUP, lookup_forward=lookup_forward,
                       lookup_backward=lookup_backward_assigns)
    assert "vjp" in failed(results) and "finite_differences" in failed(results)


# ---------------------------------------------------------------- modes, hyper-parameter dicts


class NormCache(NamedTuple):
    xhat: np.ndarray
    inv_std: np.ndarray


def norm_forward(x, param):
    """Scale each column to unit spread in train mode (statistics written back into param);
    in test mode use param['scale'], and keep no cache (as cs231n's starter code does)."""
    out, cache = None, None
    if param["mode"] == "train":
        inv_std = 1.0 / np.sqrt(x.var(axis=0) + 1.0)
        out = x * inv_std
        param["scale"] = inv_std
        cache = NormCache(out, inv_std)
    else:
        out = x * param["scale"]
    return out, cache


def norm_backward(dout, cache):
    """out = x / s with s = sqrt(var(x) + 1) per column, x̂ = out:
    dx = (dout − (x̂ − mean x̂) ⊙ Σ_batch(dout ⊙ x̂) / N) / s."""
    xhat, inv_std = cache.xhat, cache.inv_std
    centred = xhat - xhat.mean(axis=0)
    return inv_std * (dout - centred * (dout * xhat).sum(axis=0) / dout.shape[0])


def norm_twin(x, param):
    if param["mode"] == "train":
        return x / jnp.sqrt(jnp.var(x, axis=0) + 1.0)
    return x * param["scale"]


def _norm_args(dims, values):
    param = {"mode": values.choice(("train", "test")), "scale": values.positive((dims.d,))}
    return values.real((dims.n, dims.d)), param


def _train(x, param):
    return param["mode"] == "train"


NORM = Layer("norm", norm_twin, _norm_args, batched=(),
             dims=sizes(n=(2, 5), d=(1, 3)), backward_in=_train,
             writes=lambda x, param: {1: ("scale",)} if param["mode"] == "train" else {})


def test_a_backward_defined_in_train_mode_only_is_never_called_in_test_mode():
    assert not failed(verdicts(NORM, norm_forward=norm_forward, norm_backward=norm_backward))


def test_without_the_mode_a_test_mode_cache_of_none_would_fail():
    """The planted counterpart: a record that calls the backward in every mode fails the file
    that keeps no cache in test mode — the false alarm of issue 12."""
    everywhere = Layer("norm", norm_twin, _norm_args, batched=(), dims=NORM.dims,
                       writes=NORM.writes)
    assert "vjp" in failed(verdicts(everywhere, norm_forward=norm_forward,
                                    norm_backward=norm_backward))


def norm_forward_adds_a_key(x, param):
    param["calls"] = param.get("calls", 0) + 1
    return norm_forward(x, param)


def norm_forward_writes_in_test_mode(x, param):
    out, cache = norm_forward(x, param)
    if param["mode"] == "test":
        param["scale"] = param["scale"] * 0.5
    return out, cache


def test_a_key_added_to_a_parameter_dict_is_a_warning_naming_it():
    results = verdicts(NORM, norm_forward=norm_forward_adds_a_key, norm_backward=norm_backward)
    status, message = results["no_mutation"]
    assert status == Status.WARNING and "param['calls']" in message
    assert not failed(results)


def test_a_key_changed_where_the_record_writes_none_fails():
    results = verdicts(NORM, norm_forward=norm_forward_writes_in_test_mode,
                       norm_backward=norm_backward)
    status, message = results["no_mutation"]
    assert status == Status.FAILED and "param['scale']" in message and "test mode" in message


# ---------------------------------------------------------------- a random layer with a seed


class MaskCache(NamedTuple):
    mask: np.ndarray
    p: float


def mask_forward(x, param):
    """Inverted dropout: keep each entry with probability p, scale kept entries by 1/p."""
    if "seed" in param:
        np.random.seed(param["seed"])
    mask = (np.random.rand(*x.shape) < param["p"]) / param["p"]
    return x * mask, MaskCache(mask, param["p"])


def mask_backward(dout, cache):
    return dout * cache.mask


def mask_forward_shared(x, param):  # one mask row for the whole batch
    if "seed" in param:
        np.random.seed(param["seed"])
    mask = (np.random.rand(1, *x.shape[1:]) < param["p"]) / param["p"]
    return x * mask, MaskCache(np.broadcast_to(mask, x.shape), param["p"])


def mask_twin(x, param, kept):
    return x * kept / param["p"]


def _mask_args(dims, values):
    x = values.rng.uniform(0.5, 2.0, size=(dims.n, dims.d)) * values.rng.choice((-1, 1), (
        dims.n, dims.d))  # no exact zeros: a kept entry is told from a dropped one
    # seeds from the registry's dropout pool: a seed is baked into the twin's program, so 65,536
    # of them were a compilation per example (80 in all, 3.6 s of the run)
    return x, {"p": values.choice((0.3, 0.8)), "seed": values.choice(DROPOUT_SEEDS)}


def _independent_rows(caller, args, outputs):
    """Rows of a large batch are not all dropped alike (a mask shared across the batch is)."""
    x, param = args
    big = np.ones((64, x.shape[1]))
    (out,), _ = caller.forward(big, dict(param))
    if x.shape[1] >= 1 and all(np.array_equal(out[0] != 0, row != 0) for row in out[1:]):
        raise Fail("every row of a 64-row batch has the same mask: the mask is shared across "
                   "the batch (draw it with x's shape)")


MASK = Layer("mask", mask_twin, _mask_args, batched=(),
             dims=sizes(n=(1, 4), d=(3, 8)),
             observed=lambda args, outputs: (np.ones(np.shape(args[0]), bool) if outputs is None
                                             else outputs[0] != 0),
             properties=(Property("independent", "masks differ across the batch",
                                  _independent_rows),))


def test_a_random_layer_is_judged_at_its_own_random_choices():
    assert MASK.arg_names == ("x", "param")
    assert not failed(verdicts(MASK, mask_forward=mask_forward, mask_backward=mask_backward))


def test_a_random_layer_that_does_not_reuse_its_mask_fails():
    def backward_new_mask(dout, cache):
        return dout * ((np.random.rand(*dout.shape) < cache.p) / cache.p)

    results = verdicts(MASK, mask_forward=mask_forward, mask_backward=backward_new_mask)
    assert "vjp" in failed(results)


def test_a_layer_property_catches_a_mask_shared_across_the_batch():
    results = verdicts(MASK, mask_forward=mask_forward_shared, mask_backward=mask_backward)
    assert failed(results) == {"properties"}
    assert "shared across the batch" in results["properties"][1]


# ---------------------------------------------------------------- records are validated


@pytest.mark.parametrize("fields, problem", [
    (dict(outputs=("a", "a")), "distinct"),
    (dict(outputs=()), "distinct"),
    (dict(dims=(1, 2)), "strategy"),
    (dict(names=("only_one",)), "names"),
    (dict(elementwise=True, outputs=("a", "b")), "one output"),
    (dict(writes=3), "writes"),
])
def test_malformed_new_fields_are_rejected(fields, problem):
    with pytest.raises(RegistryError, match=problem):
        Layer("pair", pair_twin, _pair_args, **fields)
