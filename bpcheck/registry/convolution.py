"""Records of the convolutional family (issue 15): conv, max-pool, spatial batchnorm, spatial group
norm, batchnorm_backward_alt, dropout and the layer_utils sandwiches.

Dimensions. Each layer draws its own (a ``Sizes``) from a few fixed geometries, not from a product
of pools: every distinct shape is a compiled JAX program per kind (forward, vjp, and finite
differences' stacked forward), so the geometries below bound them. Where rows are independent
(``batched=(0,)``) the reference pads the batch to 8 rows, so N = 1 and N = 3 share one program;
where the batch is coupled (batchnorm) or the layer has modes (a static leaf: 'train', 'test'),
each N and mode is its own. Geometries are written as output sizes (H', W') and the input size is
derived, so 1 + (H + 2 pad − HH) / stride is always an integer.

What the pools are chosen to reach: pad = 0 in half the conv geometries (a dx cropped with
``[pad:-pad]`` is empty there), stride 1, 2 and 3 (3 > kernel: pixels no window reads), 1×1 and
non-square kernels, H ≠ W (a transposed H/W), overlapping pool windows (stride < pool size) and
pools with gaps; 1 < G < C for group norm (channels split in the wrong order) as well as G = 1 and
G = C; p away from 0.5 and from 0.78 for dropout (where the drop convention, resp. a randn mask,
would keep the right fraction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import bpcheck.jaxsetup  # noqa: F401  (float64 before any JAX array exists)
import reference
from bpcheck.autodiff import reference_forward, reference_vjp
from bpcheck.layer import KnownMistake, Layer, Property
from bpcheck.outcomes import Fail, Warn
from bpcheck.registry.layers import LAYERS, _batchnorm_args, _running_statistics, _train_mode
from bpcheck.sampling import Sizes, Values
from bpcheck.tolerances import ANALYTIC, Tolerance

# ---------------------------------------------------------------- geometries

#: Conv geometries: (C, F, HH, WW, stride, pad, H', W'); the input's H, W follow.
CONV_GEOMETRIES = (
    (3, 2, 3, 3, 1, 1, 4, 3),  # the notebooks' 3×3 'same' convolution; H ≠ W
    (2, 3, 3, 3, 2, 1, 3, 2),  # stride 2, pad 1
    (1, 2, 2, 3, 1, 0, 3, 2),  # pad 0, a non-square kernel
    (2, 2, 2, 2, 3, 0, 2, 2),  # stride 3 > kernel: some pixels are read by no window
    (3, 1, 3, 1, 2, 0, 2, 3),  # pad 0, a 3×1 kernel at stride 2, F = 1
    (1, 3, 3, 3, 3, 2, 2, 3),  # pad 2 at stride 3
    (2, 2, 1, 1, 1, 0, 2, 3),  # a 1×1 kernel
    (2, 3, 2, 2, 3, 1, 2, 3),  # pad 1 at stride 3
)
#: Max-pool geometries: (C, pool_height, pool_width, stride, H', W').
POOL_GEOMETRIES = (
    (2, 2, 2, 2, 2, 3),  # the notebooks' 2×2 at stride 2
    (2, 3, 3, 1, 2, 3),  # overlapping windows, stride 1
    (1, 3, 3, 2, 2, 2),  # overlapping windows, stride 2
    (3, 2, 3, 1, 3, 2),  # a non-square, overlapping window
    (2, 2, 2, 3, 2, 2),  # stride 3 > window: gaps
    (1, 1, 2, 1, 1, 3),  # H' = 1
)
#: Sandwiches: a conv geometry (index) and, for conv_relu_pool, a pool on its output.
SANDWICH_CONV = (0, 2, 5)
#: conv_relu_pool: (conv geometry index, pool_height, pool_width, stride) tiling its output.
CONV_POOL = ((0, 2, 2, 1), (3, 2, 1, 1))
#: Spatial batchnorm shapes (N, C, H, W): the batch couples, so each is a program.
SPATIAL_BN_SHAPES = ((1, 3, 2, 3), (3, 2, 3, 2), (2, 1, 2, 2))
#: Group norm: (C, G, H, W), G dividing C: 1 < G < C twice, G = 1 (layernorm), G = C.
GROUPNORM_SHAPES = ((6, 2, 2, 3), (6, 3, 3, 2), (4, 1, 2, 2), (4, 4, 1, 3))
#: Dropout input shapes.
DROPOUT_SHAPES = ((1, 6), (3, 2, 4))
#: Dropout seeds. An int in a parameter dict is baked into the compiled twin (it is static, like
#: conv's stride), so every distinct seed would be a program of its own: 100 random seeds cost
#: 136 compilations. The twin ignores the seed and the properties vary it themselves (seed + 1).
DROPOUT_SEEDS = (0, 1, 2)
#: Keep probabilities: away from 0.5 (where the drop convention keeps the same fraction) and
#: from ~0.78 (where randn(...) < p keeps the fraction p too: Φ(p) = p).
DROPOUT_P = (0.3, 0.6, 0.9)
#: Affine sandwiches: (D, M); D = 4 with x drawn as (N, 2, 2) half the time. M ≠ 2: layernorm
#: over two features outputs ±γ whatever its input, so its dx is exactly 0 up to eps-sized terms
#: and a float32 implementation's rounding noise is all there is to compare.
AFFINE_SHAPES = ((3, 4), (4, 3))
#: affine_bn_relu's batch (coupled: one program per size). 8 rows, not 4: affine's db through
#: train-mode batchnorm is exactly 0 (b cancels), computed as a sum of terms of size γ·dout/σ, so
#: a column of affine's output with a small batch variance σ² amplifies rounding noise; 4 rows
#: have a column variance below a tenth of its expectation ~4% of the time (χ²₃/3), 8 rows ~0.1%.
#: The weights of the batchnorm sandwiches are drawn without planted zeros for the same reason:
#: a zero column of w makes a column of the output constant (σ² = 0, 1/σ = 1/√ε ≈ 300). In
#: float64 that noise is far below ANALYTIC; in the float32 tier it exceeded FLOAT32 (db).
AFFINE_BN_ROWS = 8
#: affine_bn_relu's tolerance: that db is exactly 0, so the comparison sees two computations of
#: rounding noise of size eps·Σ|γ·dout/σ| — up to 9.3e-14 over 1,000 thorough examples, beside
#: ANALYTIC's atol of 1e-13 (a flake in waiting). atol 1e-12 leaves 10×; a wrong db is O(1).
AFFINE_BN_TOLERANCE = Tolerance(rtol=ANALYTIC.rtol, atol=1e-12)


def _conv_sizes(index: int, n: int) -> Sizes:
    c, f, hh, ww, stride, pad, ho, wo = CONV_GEOMETRIES[index]
    return Sizes(n=n, c=c, f=f, h=stride * (ho - 1) + hh - 2 * pad,
                 w=stride * (wo - 1) + ww - 2 * pad, hh=hh, ww=ww, stride=stride, pad=pad)


def _pool_sizes(geometry: tuple[int, ...], n: int) -> Sizes:
    c, ph, pw, stride, ho, wo = geometry
    return Sizes(n=n, c=c, h=stride * (ho - 1) + ph, w=stride * (wo - 1) + pw,
                 pool_height=ph, pool_width=pw, stride=stride)


def _conv_pool_sizes(choice: tuple[int, ...], n: int) -> Sizes:
    index, ph, pw, stride = choice
    conv = _conv_sizes(index, n)
    *_, ho, wo = CONV_GEOMETRIES[index]
    if (ho - ph) % stride or (wo - pw) % stride:
        raise ValueError(f"pool {ph}×{pw} at stride {stride} does not tile {ho}×{wo}")
    return Sizes(**conv, pool_height=ph, pool_width=pw, pool_stride=stride)


_N = st.sampled_from((1, 3))


def _conv_dims(indices=range(len(CONV_GEOMETRIES)), n=_N):
    return st.builds(_conv_sizes, st.sampled_from(tuple(indices)), n)


def _spatial_bn_sizes(shape: tuple[int, int, int, int]) -> Sizes:
    n, c, h, w = shape
    return Sizes(n=n, c=c, h=h, w=w)


def _groupnorm_sizes(shape: tuple[int, int, int, int], n: int) -> Sizes:
    c, groups, h, w = shape
    return Sizes(n=n, c=c, groups=groups, h=h, w=w)


def _affine_sizes(dm: tuple[int, int], n: int, split: bool) -> Sizes:
    return Sizes(n=n, d=dm[0], m=dm[1], split=split and dm[0] == 4)


# ---------------------------------------------------------------- samplers


def _conv_param(d: Sizes) -> dict[str, int]:
    return {"stride": d.stride, "pad": d.pad}


def _conv_args(d: Sizes, v: Values):
    return (v.real((d.n, d.c, d.h, d.w)), v.real((d.f, d.c, d.hh, d.ww)), v.real((d.f,)),
            _conv_param(d))


def _tie_free(shape: tuple[int, ...], v: Values) -> np.ndarray:
    """Distinct values spaced at least 2/size apart in [-2, 2] (times the scale), in a random
    order: no ties, and no two within a finite-difference stencil (±2e-4) of each other."""
    size = int(np.prod(shape))
    ranks = v.rng.permutation(size) + v.rng.uniform(0.25, 0.75, size)
    return ((ranks * (4.0 / size) - 2.0) * v.scale).reshape(shape)


def _pool_param(d: Sizes) -> dict[str, int]:
    return {"pool_height": d.pool_height, "pool_width": d.pool_width, "stride": d.stride}


def _max_pool_args(d: Sizes, v: Values):
    return _tie_free((d.n, d.c, d.h, d.w), v), _pool_param(d)


def _bn_param(v: Values, c: int, mode: str | None = None) -> dict[str, Any]:
    """As batchnorm's sampler: a mode, running statistics, and half the time eps and momentum
    away from their defaults."""
    bn_param = {"mode": mode or v.choice(("train", "test")),
                "running_mean": v.real((c,), scaled=False), "running_var": v.positive((c,))}
    if v.choice((True, False)):
        bn_param.update(eps=v.uniform(1e-5, 1e-3), momentum=v.uniform(0.5, 0.99))
    return bn_param


def _nearly_constant_channels(shape: tuple[int, ...], v: Values) -> np.ndarray:
    """x (N, C, H, W) whose channels are nearly constant over (N, H, W) a third of the time:
    ``Values.nearly_constant`` on the (N·H·W, C) matrix of pixels."""
    n, c, h, w = shape
    pixels = v.nearly_constant((n * h * w, c), axis=0)
    return pixels.reshape(n, h, w, c).transpose(0, 3, 1, 2).copy()


def _spatial_batchnorm_args(d: Sizes, v: Values):
    x = _nearly_constant_channels((d.n, d.c, d.h, d.w), v)
    return x, v.real((d.c,)), v.real((d.c,)), _bn_param(v, d.c)


def _spatial_groupnorm_args(d: Sizes, v: Values):
    # nearly constant within each (sample, group) a third of the time
    x = v.nearly_constant((d.n * d.groups, (d.c // d.groups) * d.h * d.w), axis=1)
    gn_param = v.choice(({}, {"eps": v.uniform(1e-5, 1e-3)}, {"mode": "train"}))
    return (x.reshape(d.n, d.c, d.h, d.w), v.real((1, d.c, 1, 1)), v.real((1, d.c, 1, 1)),
            d.groups, gn_param)


def _dropout_args(d: Sizes, v: Values):
    # no exact zeros: a kept entry is told from a dropped one by its output
    x = v.rng.uniform(0.5, 2.0, d.shape) * v.rng.choice((-1.0, 1.0), d.shape) * v.scale
    param = {"p": v.choice(DROPOUT_P), "mode": v.choice(("train", "train", "test"))}
    # the notebooks pass a seed; a forward without one is drawn too (test mode draws nothing)
    if param["mode"] == "train" and v.rng.random() < 0.75:
        param["seed"] = v.choice(DROPOUT_SEEDS)
    return x, param


def _dropout_mask(args, outputs):
    """The random choice a dropout forward made: the entries it kept (x has no exact zeros)."""
    if outputs is None:
        return np.ones(np.shape(args[0]), dtype=bool)
    return np.asarray(outputs[0]) != 0


def _affine_relu_args(d: Sizes, v: Values):
    x = v.real((d.n, 2, 2) if d.split else (d.n, d.d))  # the multi-dimensional cs231n input
    return x, v.real((d.d, d.m)), v.real((d.m,))


def _zero_free(shape: tuple[int, ...], v: Values) -> np.ndarray:
    """Standard normal entries times the scale, without the style's planted zeros."""
    return v.rng.standard_normal(shape) * v.scale


def _affine_bn_relu_args(d: Sizes, v: Values):
    x = v.real((d.n, 2, 2) if d.split else (d.n, d.d))
    return (x, _zero_free((d.d, d.m), v), v.real((d.m,)), v.real((d.m,)), v.real((d.m,)),
            _bn_param(v, d.m))


def _affine_ln_relu_args(d: Sizes, v: Values):
    ln_param = {"eps": v.uniform(1e-5, 1e-3)} if v.choice((True, False)) else {}
    return (*_affine_relu_args(d, v), v.real((d.m,)), v.real((d.m,)), ln_param)


def _conv_relu_pool_args(d: Sizes, v: Values):
    pool = {"pool_height": d.pool_height, "pool_width": d.pool_width, "stride": d.pool_stride}
    return (*_conv_args(d, v), pool)


def _conv_bn_relu_args(d: Sizes, v: Values):
    x, w = v.real((d.n, d.c, d.h, d.w)), _zero_free((d.f, d.c, d.hh, d.ww), v)
    return (x, w, v.real((d.f,)), v.real((d.f,)), v.real((d.f,)), _conv_param(d),
            _bn_param(v, d.f))


# ---------------------------------------------------------------- kinks


def _window_entries(x, pool_param) -> tuple[np.ndarray, np.ndarray]:
    """(x_i, x_j) for every pair i < j of entries in every pool window, as two flat arrays."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x), (ph, pw), axis=(2, 3))
    flat = windows[:, :, ::stride, ::stride].reshape(-1, ph * pw)
    i, j = np.triu_indices(ph * pw, 1)
    return flat[:, i].ravel(), flat[:, j].ravel()


def _max_pool_kinks(x, pool_param):
    """x_i − x_j for every pair of entries sharing a window: a change of sign is a change of the
    window's order, hence possibly of its maximum."""
    first, second = _window_entries(x, pool_param)
    return first - second


def _twin(name: str) -> Layer:
    return next(layer for layer in LAYERS if layer.name == name)


def _affine_kinks(x, w, b, *_):
    """The relu's input: affine's output."""
    return reference_forward(_twin("affine"), (x, w, b))


def _affine_bn_kinks(x, w, b, gamma, beta, bn_param):
    a = reference_forward(_twin("affine"), (x, w, b))
    return reference_forward(_twin("batchnorm"), (a, gamma, beta, bn_param))


def _affine_ln_kinks(x, w, b, gamma, beta, ln_param):
    a = reference_forward(_twin("affine"), (x, w, b))
    return reference_forward(_twin("layernorm"), (a, gamma, beta, ln_param))


def _conv_kinks(x, w, b, conv_param):
    """The relu's input: the conv output."""
    return reference_forward(CONV, (x, w, b, conv_param))


def _conv_relu_pool_kinks(x, w, b, conv_param, pool_param):
    """The relu's kinks (the conv output a), then the order of every window's pairs of positive
    entries of a (a pair with a non-positive entry is ordered by that entry's relu kink)."""
    a = np.asarray(reference_forward(CONV, (x, w, b, conv_param)))
    first, second = _window_entries(a, pool_param)
    order = np.where((first > 0) & (second > 0), first - second, 1.0)
    return np.concatenate([a.ravel(), order])


def _conv_bn_kinks(x, w, b, gamma, beta, conv_param, bn_param):
    a = reference_forward(CONV, (x, w, b, conv_param))
    return reference_forward(SPATIAL_BATCHNORM, (a, gamma, beta, bn_param))


# ---------------------------------------------------------------- properties

#: Entries of the large input dropout's statistical properties draw on.
DROPOUT_ROWS, DROPOUT_COLUMNS = 200, 500
#: False-alarm rate of the kept-fraction test, per example, for a correct implementation whose
#: generator gives independent uniform draws (Hoeffding's bound, exact for any p).
DROPOUT_FALSE_ALARM = 1e-6


def _kept_fraction_margin(entries: int) -> float:
    """t with P(|kept/entries − p| ≥ t) ≤ DROPOUT_FALSE_ALARM for independent Bernoulli(p) entries:
    Hoeffding, 2·exp(−2·entries·t²) = DROPOUT_FALSE_ALARM."""
    return float(np.sqrt(np.log(2.0 / DROPOUT_FALSE_ALARM) / (2.0 * entries)))


def _dropout_statistics(caller, args, outputs):
    """On a 200 × 500 input of ones (train mode, the example's p and seed): the masks differ across
    rows (the batch) and across columns (the features), the kept fraction is p (within 0.0086, at
    a false-alarm rate of 1e-6), and every kept entry is 1/p."""
    x, param = args
    if param.get("mode") != "train":
        return
    p = float(param["p"])
    ones = np.ones((DROPOUT_ROWS, DROPOUT_COLUMNS))
    (out,), _ = caller.forward(ones, dict(param))
    kept = out != 0
    if kept.any() and not kept.all():
        if all(np.array_equal(kept[0], row) for row in kept[1:]):
            raise Fail("every row of a 200-row batch has the same mask: the mask is shared "
                       "across the batch (draw it with x's shape, np.random.rand(*x.shape))")
        if all(np.array_equal(kept[:, 0], column) for column in kept.T[1:]):
            raise Fail("every feature of a row is kept or dropped together: the mask is shared "
                       "across the features (draw it with x's shape, np.random.rand(*x.shape))")
    fraction, margin = float(kept.mean()), _kept_fraction_margin(kept.size)
    scales = np.unique(np.round(out[kept], 12)) if kept.any() else np.array([])
    if abs(fraction - p) > margin:
        if abs(fraction - (1 - p)) <= margin and np.allclose(scales, 1 / (1 - p)):
            raise Fail(f"it keeps {fraction:.3f} of the entries and scales them by "
                       f"1/{1 - p:g} at p = {p:g}: p is read as the drop probability (the "
                       f"course's 2016–2017 convention); bpcheck checks the keep convention "
                       f"(keep each entry with probability p, then divide by p)")
        raise Fail(f"it keeps {fraction:.4f} of {kept.size:,} entries at p = {p:g} (allowed: "
                   f"{p:g} ± {margin:.4f}, a false-alarm rate of {DROPOUT_FALSE_ALARM:g}): "
                   f"the kept fraction is wrong — draw the mask as np.random.rand(*x.shape) < p "
                   f"(randn is not uniform on [0, 1))")
    if scales.size and not np.allclose(scales, 1 / p, rtol=1e-9):
        if np.allclose(scales, 1.0):
            raise Fail(f"kept entries of an input of ones stay 1 where 1/p = {1 / p:g} is due: "
                       f"the dropout is not inverted (divide the kept entries by p in training, "
                       f"so that test mode is the identity)")
        raise Fail(f"kept entries of an input of ones are {scales[:3]} where 1/p = {1 / p:g} is "
                   f"due: inverted dropout divides the kept entries by p")


def _dropout_seed(caller, args, outputs):
    """The same seed gives the same output; another seed gives another one."""
    x, param = args
    if param.get("mode") != "train" or "seed" not in param:
        return
    ones = np.ones((20, 50))
    (first,), _ = caller.forward(ones, dict(param))
    (again,), _ = caller.forward(ones, dict(param))
    if not np.array_equal(first, again):
        raise Fail(f"two calls with seed {param['seed']} give different masks: seed NumPy's "
                   f"generator with np.random.seed(dropout_param['seed']) before drawing")
    (other,), _ = caller.forward(ones, {**param, "seed": param["seed"] + 1})
    if np.array_equal(first, other):
        raise Fail(f"seeds {param['seed']} and {param['seed'] + 1} give the same mask: the seed "
                   f"is not used to draw it")


def _tie_convention(dx: np.ndarray, windows: np.ndarray, jax_dx: np.ndarray) -> str:
    """Name how a backward shares a tied window's gradient (dout = ones on an input of zeros)."""
    if np.allclose(dx, jax_dx):
        return "to its first maximum"
    total, expected = float(dx.sum()), float(windows)
    if np.isclose(total, expected):
        return ("among its maxima (the gradient summed over each window is dout, split "
                "differently from JAX's first maximum)")
    return (f"to every maximum (a window's gradient counted {total / expected:.3g} times over, "
            f"where the sum over each window is dout)")


def _max_pool_ties(caller, args, outputs):
    """On an input of equal entries every window is a tie: any maximum may take the gradient
    (the protocol leaves it open); a choice other than JAX's is named as a convention."""
    x, pool_param = args
    tied = np.zeros(np.shape(x))
    (out,), cache = caller.forward(tied, dict(pool_param))
    ones = np.ones(out.shape)
    (dx,) = caller.backward((ones,), cache)
    _, (jax_dx,) = reference_vjp(MAX_POOL, (tied, pool_param), ones)
    if not np.allclose(dx, jax_dx):
        raise Warn(f"on tied windows (an input of zeros) your backward sends each window's "
                   f"gradient {_tie_convention(dx, out.size, jax_dx)}; JAX sends it to the "
                   f"first maximum (row-major). The protocol leaves ties open: a convention, "
                   f"not a mistake")


# ---------------------------------------------------------------- known mistakes


def _padded_dx(x, w, b, conv_param):
    """dx of the padded input, (N, C, H + 2 pad, W + 2 pad): the padding not stripped."""
    n, c, h, wd = np.shape(x)
    pad = conv_param["pad"]
    return {"dx": (n, c, h + 2 * pad, wd + 2 * pad)}


def _minus_pad_dx(x, w, b, conv_param):
    """dx cropped from the padded input with [pad:-pad]: (N, C, 0, 0) at pad = 0."""
    n, c, h, wd = np.shape(x)
    pad = conv_param["pad"]
    return {"dx": (n, c, len(range(h + 2 * pad)[pad:-pad]), len(range(wd + 2 * pad)[pad:-pad]))}


CONV_MISTAKES = (
    KnownMistake("a flipped kernel (w[:, :, ::-1, ::-1], a textbook convolution): cs231n's conv "
                 "is a cross-correlation, out = Σ x_window ⊙ w",
                 twin=reference.conv_flipped_kernel),
    KnownMistake("the backward ignores the stride: output (i, j) reads the window at "
                 "(stride·i, stride·j), not (i, j)", twin=reference.conv_stride_ignored),
    KnownMistake("the padding not stripped: dx is the gradient of the padded input; return "
                 "dxp[:, :, pad:pad + H, pad:pad + W]", shapes=_padded_dx),
    KnownMistake("dx is empty: the padding was cropped with [pad:-pad], which is empty at pad = 0 "
                 "(-0 is 0); crop with [pad:pad + H, pad:pad + W]", shapes=_minus_pad_dx),
)
MAX_POOL_MISTAKES = (
    KnownMistake("each window's gradient goes to its whole window, not only to its maximum: "
                 "multiply by the mask window == window.max()",
                 twin=reference.max_pool_whole_window),
    KnownMistake("each window's gradient assigned with = where overlapping windows must add "
                 "it up (+=): a later window overwrites what an earlier one sent to a shared "
                 "entry", twin=reference.max_pool_overlap_assigned),
)
SPATIAL_BATCHNORM_MISTAKES = (
    KnownMistake("train mode normalises per (c, h, w) over the batch alone (x.mean(axis=0)), where "
                 "spatial batchnorm normalises each channel over the batch and its pixels "
                 "(axis=(0, 2, 3))", twin=reference.spatial_batchnorm_per_pixel),
)
GROUPNORM_MISTAKES = (
    KnownMistake("channels g, g + G, g + 2G, … grouped together (x.reshape(N, C // G, G, H, W)): "
                 "a group is C/G consecutive channels (x.reshape(N, G, C // G, H, W))",
                 twin=reference.spatial_groupnorm_strided_groups),
)
def _mask_of_gradient(args, dout, dx):
    """The mask a dropout backward applied, read from its dx where dout ≠ 0 (dropped: dx = 0);
    None when it drops nothing there (dx = dout / p is another mistake than a mask of its own)."""
    dout, dx = np.asarray(dout), np.asarray(dx)
    if dx.shape != dout.shape or (dx[dout != 0] != 0).all():
        return None
    return dx != 0


DROPOUT_MISTAKES = (
    KnownMistake("the dropout is not inverted: train mode keeps x ⊙ mask without dividing by p",
                 twin=reference.dropout_not_inverted),
    KnownMistake("the dropout is scaled at test time (x · p) where inverted dropout's test mode "
                 "is the identity", twin=reference.dropout_scaled_at_test),
    KnownMistake("p is read as the drop probability (kept entries divided by 1 − p, the course's "
                 "2016–2017 convention); bpcheck checks the keep convention (divide by p)",
                 twin=reference.dropout_drop_probability),
    KnownMistake("the backward draws a mask of its own (dx = dout ⊙ mask / p for another mask): "
                 "reuse the forward's mask, kept in the cache", twin=reference.dropout,
                 reads=_mask_of_gradient),
)


# ---------------------------------------------------------------- records

CONV = Layer(
    "conv", reference.conv, _conv_args, differentiable=(0, 1, 2), batched=(0,),
    dims=_conv_dims(), names=("conv_forward_naive", "conv_backward_naive"),
    mistakes=CONV_MISTAKES,
)
MAX_POOL = Layer(
    "max_pool", reference.max_pool, _max_pool_args, batched=(0,), kinks=_max_pool_kinks,
    dims=st.builds(_pool_sizes, st.sampled_from(POOL_GEOMETRIES), _N),
    names=("max_pool_forward_naive", "max_pool_backward_naive"),
    properties=(Property("ties", "tied windows: the convention named", _max_pool_ties,
                         judges="backward"),),
    mistakes=MAX_POOL_MISTAKES,
)

SPATIAL_BATCHNORM = Layer(
    "spatial_batchnorm", reference.spatial_batchnorm, _spatial_batchnorm_args,
    differentiable=(0, 1, 2), batched=(), writes=_running_statistics, backward_in=_train_mode,
    dims=st.sampled_from(SPATIAL_BN_SHAPES).map(_spatial_bn_sizes),
    mistakes=SPATIAL_BATCHNORM_MISTAKES,
)

CONVOLUTION: tuple[Layer, ...] = (
    CONV,
    MAX_POOL,
    SPATIAL_BATCHNORM,
    Layer(
        "spatial_groupnorm", reference.spatial_groupnorm, _spatial_groupnorm_args,
        differentiable=(0, 1, 2), batched=(0,),
        dims=st.builds(_groupnorm_sizes, st.sampled_from(GROUPNORM_SHAPES), _N),
        mistakes=GROUPNORM_MISTAKES,
    ),
    # batchnorm's own examples (shared dimensions and values, and its compiled programs), judged
    # with batchnorm_backward_alt.
    Layer(
        "batchnorm_alt", reference.batchnorm, _batchnorm_args,
        differentiable=(0, 1, 2), batched=(), writes=_running_statistics,
        backward_in=_train_mode, names=("batchnorm_forward", "batchnorm_backward_alt"),
    ),
    Layer(
        "dropout", reference.dropout, _dropout_args, batched=(),
        dims=st.sampled_from(DROPOUT_SHAPES).map(lambda shape: Sizes(shape=shape)),
        observed=_dropout_mask,
        properties=(Property("mask", "the mask keeps a fraction p, independently per entry",
                             _dropout_statistics),
                    Property("seed", "the seed fixes the mask", _dropout_seed)),
        mistakes=DROPOUT_MISTAKES,
    ),
    # The layer_utils sandwiches (cs231n's return orders: dx, dw, db, then dgamma, dbeta).
    Layer(
        "affine_relu", reference.affine_relu, _affine_relu_args, differentiable=(0, 1, 2),
        batched=(0,), kinks=_affine_kinks,
        dims=st.builds(_affine_sizes, st.sampled_from(AFFINE_SHAPES), _N, st.booleans()),
    ),
    Layer(
        "affine_bn_relu", reference.affine_bn_relu, _affine_bn_relu_args,
        differentiable=(0, 1, 2, 3, 4), batched=(), kinks=_affine_bn_kinks,
        tolerance=AFFINE_BN_TOLERANCE,
        writes=lambda *args: {5: ("running_mean", "running_var")} if args[5]["mode"] == "train"
        else {}, backward_in=lambda *args: args[5]["mode"] == "train",
        dims=st.builds(_affine_sizes, st.sampled_from(AFFINE_SHAPES), st.just(AFFINE_BN_ROWS),
                       st.booleans()),
    ),
    Layer(
        "affine_ln_relu", reference.affine_ln_relu, _affine_ln_relu_args,
        differentiable=(0, 1, 2, 3, 4), batched=(0,), kinks=_affine_ln_kinks,
        dims=st.builds(_affine_sizes, st.sampled_from(AFFINE_SHAPES), _N, st.booleans()),
    ),
    Layer(
        "conv_relu", reference.conv_relu, _conv_args, differentiable=(0, 1, 2), batched=(0,),
        kinks=_conv_kinks, dims=_conv_dims(SANDWICH_CONV),
    ),
    Layer(
        "conv_relu_pool", reference.conv_relu_pool, _conv_relu_pool_args,
        differentiable=(0, 1, 2), batched=(0,), kinks=_conv_relu_pool_kinks,
        dims=st.builds(_conv_pool_sizes, st.sampled_from(CONV_POOL), _N),
    ),
    Layer(
        "conv_bn_relu", reference.conv_bn_relu, _conv_bn_relu_args,
        differentiable=(0, 1, 2, 3, 4), batched=(), kinks=_conv_bn_kinks,
        writes=lambda *args: {6: ("running_mean", "running_var")} if args[6]["mode"] == "train"
        else {}, backward_in=lambda *args: args[6]["mode"] == "train",
        dims=_conv_dims(SANDWICH_CONV[:2], n=st.just(2)),
    ),
)

