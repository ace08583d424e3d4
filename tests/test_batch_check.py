"""The batch check in a batch larger than BATCH_SINGLES_MAX: a sample of the rows alone, the rest
together (``trial.batch_groups``). The default strategies draw batches of 1 and 5, so this path
runs only here and at large shapes (the cost benchmark's N = 128): each case plants a mistake
that only the batch check judges and must see it fail, and sees manual/ pass.
"""

import numpy as np
import pytest

from bpcheck.battery.checks import check_named, run_battery
from bpcheck.battery.example import build_example
from bpcheck.battery.trial import Trial, batch_groups
from bpcheck.registry import layer_named
from bpcheck.registry.networks import DEPTHS, WIDTHS
from bpcheck.sampling import Dims, Draw, Sizes
from bpcheck.tolerances import BATCH_SINGLES_MAX

N = 3 * BATCH_SINGLES_MAX + 1


def _dims(name: str, n: int):
    """Dimensions for ``name`` with a batch of n (its record's own, for a layer that has them)."""
    if name == "lstm_step":
        return Sizes(n=n, d=3, h=2)
    if name == "mlp_loss":
        return Dims(n, sorted(WIDTHS)[0], 3, sorted(DEPTHS)[-1], (), False)
    return Dims(n, 4, 3, 5, (), False)


def _example(name: str, n: int = N, seed: int = 3):
    return build_example(layer_named(name), Draw(_dims(name, n), 1.0, False, seed))


def _batch_finding(name: str, impl, example=None):
    example = example or _example(name)
    [finding] = run_battery(layer_named(name), impl, example, (check_named("batch"),))
    return finding


@pytest.mark.parametrize("n", [1, BATCH_SINGLES_MAX, BATCH_SINGLES_MAX + 1, N])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_groups_cover_every_row_once_with_the_ends_alone(n, seed):
    groups = batch_groups(layer_named("affine"), _example("affine", n, seed))
    rows = np.concatenate(groups)
    assert sorted(rows.tolist()) == list(range(n))
    alone = [g[0] for g in groups if len(g) == 1]
    assert len(groups) == (n if n <= BATCH_SINGLES_MAX else BATCH_SINGLES_MAX + 1)
    assert 0 in alone and n - 1 in alone
    assert len(groups) - 1 <= BATCH_SINGLES_MAX


@pytest.mark.parametrize("name", ["affine", "relu", "softmax_loss", "svm_loss", "mlp_loss",
                                  "lstm_step"])
def test_manual_passes_the_sampled_batch_check(name, impl):
    layer = layer_named(name)
    if not layer.batched:
        pytest.skip(f"{name} couples its rows: no batch check")
    example = _example(name)
    assert np.shape(example.args[layer.batched[0]])[0] == N
    finding = _batch_finding(name, impl, example)
    assert finding.status == "passed", finding
    assert len(Trial(layer, impl, example).evaluated.parts) == BATCH_SINGLES_MAX + 1


def _db_mean(dout, cache):  # db averaged over the batch: right only for N = 1
    import manual

    dx, dw, db = manual.affine_backward(dout, cache)
    return dx, dw, db / len(dout)


def _relu_centred(x):  # each row minus the batch mean: every row depends on the others
    import manual

    return manual.relu_forward(x - x.mean(axis=0, keepdims=True))


def _loss_summed(x, y):  # the loss summed over the rows, its gradient too: off by N
    import manual

    loss, dx = manual.softmax_loss(x, y)
    return loss * len(x), dx * len(x)


def _dw_without_the_last_row(dout, cache):  # a loop that stops one row short
    import manual

    dx, dw, db = manual.affine_backward(dout, cache)
    return dx, dw - cache.x2d[-1:].T @ dout[-1:], db


@pytest.mark.parametrize("name, function, bug, words", [
    ("affine", "affine_backward", _db_mean, "db for the batch differs"),
    ("affine", "affine_backward", _dw_without_the_last_row, "dw for the batch differs"),
    ("relu", "relu_forward", _relu_centred, "out for the batch differs"),
    ("softmax_loss", "softmax_loss", _loss_summed, "for the batch differs"),
])
def test_a_mistake_that_depends_on_the_batch_fails_the_sampled_check(name, function, bug, words,
                                                                      impl):
    finding = _batch_finding(name, impl.replace(**{function: bug}))
    assert finding.failed and words in finding.message, finding
    assert "rows alone, the other" in finding.message, finding


def test_a_batch_gradient_missing_a_row_fails_by_its_shape(impl):
    """A backward whose dx has a row too few on the full batch only (a shape that varies per
    call): reordering the batch's rows for the comparison raised IndexError out of the battery
    (found by the hostile fuzz in a fresh clone); it fails, naming the shapes."""
    import manual

    def short(dout, cache):
        dx, dw, db = manual.affine_backward(dout, cache)
        return (dx[:-1] if len(dx) > 1 else dx), dw, db

    for n in (5, N):
        finding = _batch_finding("affine", impl.replace(affine_backward=short), _example("affine", n))
        assert finding.failed and "dx has shape" in finding.message, finding
