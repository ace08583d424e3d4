"""Kink functions shared by registry records: quantities whose sign change marks a point where a
layer is not differentiable (finite differences are not trusted across one)."""

from __future__ import annotations

import numpy as np


def at_zero(x, *_):
    """Elementwise kinks at x = 0 (relu, leaky relu, elu)."""
    return np.asarray(x)


def hinge_margins(x, y):
    """Multiclass hinge kinks: where a margin x_j − x_{y_i} + 1 (j ≠ y_i) crosses 0.

    x: (N, C) scores; y: (N,) labels; returns (N, C), the j = y_i entries set to 1 (no hinge).
    """
    x = np.asarray(x)
    y = np.asarray(y)
    margins = x - np.take_along_axis(x, y[:, None], axis=1) + 1.0
    margins[np.arange(x.shape[0]), y] = 1.0
    return margins
