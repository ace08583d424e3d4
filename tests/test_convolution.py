"""The convolutional family (bpcheck/registry/convolution.py): what the generic battery cannot say
on its own. The battery (tests/test_properties.py) already runs every check on every record; here:
the geometries reach the cases they are chosen for, the dropout test's numbers are what its message
says, the max-pool sampler is tie-free beyond a stencil, and the conv twin's gradient does not abort
XLA at the shape that once did.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpcheck.registry import convolution as conv_records
from bpcheck.registry.convolution import (
    CONV_GEOMETRIES, CONV_POOL, DROPOUT_P, DROPOUT_FALSE_ALARM, DROPOUT_COLUMNS, DROPOUT_ROWS,
    GROUPNORM_SHAPES, POOL_GEOMETRIES, _kept_fraction_margin, _tie_free,
)
from bpcheck.sampling import Draw, Sizes, Values
from bpcheck.tolerances import FD_STEP

ROOT = Path(__file__).resolve().parent.parent


def test_conv_geometries_tile_and_reach_the_cases_that_break_solutions():
    pads, strides, kernels = set(), set(), set()
    for index, (c, f, hh, ww, stride, pad, ho, wo) in enumerate(CONV_GEOMETRIES):
        sizes = conv_records._conv_sizes(index, 1)
        assert sizes.h >= 1 and sizes.w >= 1
        assert 1 + (sizes.h + 2 * pad - hh) // stride == ho
        assert (sizes.h + 2 * pad - hh) % stride == 0 and (sizes.w + 2 * pad - ww) % stride == 0
        pads.add(pad)
        strides.add(stride)
        kernels.add((hh, ww))
    assert sum(g[5] == 0 for g in CONV_GEOMETRIES) * 2 >= len(CONV_GEOMETRIES)  # pad 0: half
    assert strides == {1, 2, 3} and {1, 2} <= pads
    assert (1, 1) in kernels and any(hh != ww for hh, ww in kernels)
    assert any(s > max(hh, ww) for _, _, hh, ww, s, *_ in CONV_GEOMETRIES)  # unread pixels
    assert any(conv_records._conv_sizes(i, 1).h != conv_records._conv_sizes(i, 1).w
               for i in range(len(CONV_GEOMETRIES)))


def test_pool_geometries_overlap_and_leave_gaps():
    for c, ph, pw, stride, ho, wo in POOL_GEOMETRIES:
        sizes = conv_records._pool_sizes((c, ph, pw, stride, ho, wo), 1)
        assert 1 + (sizes.h - ph) // stride == ho and (sizes.h - ph) % stride == 0
    assert any(s < max(ph, pw) for _, ph, pw, s, *_ in POOL_GEOMETRIES)  # overlapping windows
    assert any(s > max(ph, pw) for _, ph, pw, s, *_ in POOL_GEOMETRIES)  # gaps
    assert any(ph == pw == stride == 2 for _, ph, pw, stride, *_ in POOL_GEOMETRIES)  # notebooks
    for choice in CONV_POOL:
        conv_records._conv_pool_sizes(choice, 1)  # raises unless the pool tiles the conv output


def test_group_norm_shapes_include_groups_split_in_the_wrong_order():
    assert all(c % g == 0 for c, g, _, _ in GROUPNORM_SHAPES)
    assert any(1 < g < c for c, g, _, _ in GROUPNORM_SHAPES)
    assert any(g == 1 for _, g, _, _ in GROUPNORM_SHAPES)
    assert any(g == c for c, g, _, _ in GROUPNORM_SHAPES)


def test_the_kept_fraction_margin_has_the_stated_false_alarm_rate():
    entries = DROPOUT_ROWS * DROPOUT_COLUMNS
    margin = _kept_fraction_margin(entries)
    assert 2 * math.exp(-2 * entries * margin ** 2) == pytest.approx(DROPOUT_FALSE_ALARM)
    assert margin < 0.0087


@pytest.mark.parametrize("p", DROPOUT_P)
def test_every_drawn_p_tells_the_classic_mask_mistakes_from_a_right_mask(p):
    """At each p, a randn mask (kept fraction Φ(p)) and the drop convention (1 − p) miss p by more
    than twice the margin: their test fails whatever the noise (a further margin of its own)."""
    margin = _kept_fraction_margin(DROPOUT_ROWS * DROPOUT_COLUMNS)
    normal_cdf = 0.5 * (1 + math.erf(p / math.sqrt(2)))
    assert abs(normal_cdf - p) > 2 * margin
    assert abs((1 - p) - p) > 2 * margin


def test_max_pool_values_are_spaced_beyond_a_finite_difference_stencil():
    rng = np.random.default_rng(0)
    for seed in rng.integers(0, 2**31, size=20):
        values = Values(Draw(Sizes(), 1.0, False, int(seed)))
        x = _tie_free((3, 3, 4, 4), values)
        gaps = np.diff(np.sort(x.ravel()))
        assert gaps.min() > 4 * 2 * FD_STEP  # a unit max-norm stencil moves entries by ≤ 2h


def test_the_conv_twin_gradient_survives_the_shape_that_aborted_xla():
    """jax.vjp of lax.conv_general_dilated with its own padding aborted the process (XLA's
    algebraic simplifier) at x (1, 1, 1, 4), w (1, 1, 3, 2), stride 2, pad 1; the twin pads first.
    Run in a child process: an abort cannot be caught."""
    code = (
        "import bpcheck.jaxsetup, jax, numpy as np, reference\n"
        "x, w, b = np.ones((1, 1, 1, 4)), np.ones((1, 1, 3, 2)), np.zeros(1)\n"
        "f = lambda x, w, b: reference.conv(x, w, b, {'stride': 2, 'pad': 1})\n"
        "out, pull = jax.vjp(f, x, w, b)\n"
        "print(pull(np.ones(out.shape))[0].shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(1, 1, 1, 4)"
