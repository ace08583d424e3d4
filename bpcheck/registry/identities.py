"""Registry records for manual/identities.py (issue 3): whole-model losses, each (loss, grads).

Matrix-calculus identities stated as losses. None has a batch axis (``batched=()``): their
arguments are single matrices and vectors. Dimensions come from the drawn pools (n ∈ {1, 5},
d, m, c ∈ {1, 3, 4}), so non-square matrices, square ones (where a transpose keeps the shape) and
size-1 axes all occur.
"""

from __future__ import annotations

import reference
from bpcheck.layer import Layer
from bpcheck.sampling import Dims, Values


def _frobenius_args(d: Dims, v: Values):
    """W (a, b), X (b, c), V (c, d), U (a, d) with (a, b, c, d) = (n, d, m, d): square X occurs
    (d = m) and so do size-1 axes; tying the last width to b keeps it to 18 shapes, not 54."""
    a, b, c, e = d.n, d.d, d.m, d.d
    return v.real((a, b)), v.real((b, c)), v.real((c, e)), v.real((a, e))


def _quadratic_norm_args(d: Dims, v: Values):
    """A (m, d), x (d,)."""
    return v.real((d.m, d.d)), v.real((d.d,))


def _least_squares_args(d: Dims, v: Values):
    """W (m, d), x (d,), y (m,)."""
    return v.real((d.m, d.d)), v.real((d.d,)), v.real((d.m,))


IDENTITIES: tuple[Layer, ...] = (
    Layer("frobenius_loss", reference.frobenius_loss, _frobenius_args,
          differentiable=(0, 1, 2), batched=()),
    Layer("quadratic_norm_loss", reference.quadratic_norm_loss, _quadratic_norm_args,
          differentiable=(1,), batched=()),
    Layer("least_squares_loss", reference.least_squares_loss, _least_squares_args,
          differentiable=(0, 1), batched=()),
)
