"""The layer record: everything the battery needs to know about one layer, and nothing else.

A record names a layer of the protocol (``affine`` → ``affine_forward`` / ``affine_backward``;
a name ending in ``_loss`` is one function returning ``(loss, dx)``), gives its JAX twin and
describes its input domain. Checks never know which layer they run on: a layer's peculiarities
(labels that get no gradient, a kink, running statistics updated in place) live here.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import numpy as np

from bpcheck.sampling import Dims, Values
from bpcheck.tolerances import ANALYTIC, Tolerance


class RegistryError(ValueError):
    """A layer record is malformed."""


@dataclass(frozen=True, repr=False)
class Layer:
    #: Protocol name: ``affine`` for the pair affine_forward/affine_backward, or a name ending in
    #: ``_loss`` for one function returning (loss, grads) — dx alone for ``softmax_loss``, one
    #: gradient per differentiable argument for a whole model's loss.
    name: str
    #: JAX twin: same arguments as the forward (or the loss); returns out (or the scalar loss).
    #: Gradients come from ``jax.vjp`` of this function. Used by: forward, vjp, finite differences.
    reference: Callable[..., Any]
    #: Draws the forward's arguments from dimensions and a value style. Used by: every check.
    sample: Callable[[Dims, Values], tuple[Any, ...]]
    #: Positions of the arguments that get a gradient, in the order backward returns them.
    differentiable: tuple[int, ...] = (0,)
    #: Positions of the arguments whose axis 0 is the batch; () when the layer couples the batch.
    #: Used by: batch consistency (rows for layers, a mean over rows for losses).
    batched: tuple[int, ...] = (0,)
    #: ``kinks(*args)`` -> array whose sign changes mark non-differentiable points (relu: x).
    #: Finite differences are not trusted across a kink. Used by: finite differences.
    kinks: Callable[..., np.ndarray] | None = None
    #: Magnitudes values are drawn at (large ones for softmax, losses, sigmoid).
    magnitudes: tuple[float, ...] = (1.0,)
    #: Positions of arguments the forward may update in place (batchnorm's bn_param).
    mutable: tuple[int, ...] = ()
    #: Tolerance for analytic comparisons; override only with a reason written beside it.
    tolerance: Tolerance = ANALYTIC
    #: The twin maps each entry of its first argument to the same entry of its output, and its
    #: other arguments are constants (relu, leaky_relu's alpha, sigmoid …). Its reference is then
    #: computed on the entries flattened and zero-padded to a size bucket, so that one compiled
    #: program serves every shape (a compilation costs ~0.1 s; a padded entry, nothing). Used by:
    #: the reference side (``autodiff``).
    elementwise: bool = False

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise RegistryError(f"layer name {self.name!r} is not a Python identifier")
        if not callable(self.reference) or not callable(self.sample):
            raise RegistryError(f"{self.name}: reference and sample must be callable")
        arity = len(self.arg_names)
        for field in ("differentiable", "batched", "mutable"):
            positions = getattr(self, field)
            if any(not 0 <= p < arity for p in positions) or len(set(positions)) != len(positions):
                raise RegistryError(
                    f"{self.name}: {field}={positions} must be distinct argument positions "
                    f"of {self.arg_names}"
                )
        if not self.differentiable:
            raise RegistryError(f"{self.name}: at least one argument must be differentiable")
        if self.elementwise and self.differentiable != (0,):
            raise RegistryError(f"{self.name}: an elementwise layer differentiates its first "
                                f"argument only")
        if not self.magnitudes or any(m <= 0 for m in self.magnitudes):
            raise RegistryError(f"{self.name}: magnitudes must be positive")

    def __repr__(self) -> str:
        return f"Layer({self.name!r})"

    @property
    def is_loss(self) -> bool:
        return self.name.endswith("_loss")

    @property
    def independent_rows(self) -> bool:
        """Each row of the output depends on its own rows of the batched arguments only (a layer
        with batched arguments; a loss's mean couples its rows)."""
        return bool(self.batched) and not self.is_loss

    @cached_property
    def arg_names(self) -> tuple[str, ...]:
        params = inspect.signature(self.reference).parameters.values()
        return tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))

    @cached_property
    def grad_names(self) -> tuple[str, ...]:
        return tuple("d" + self.arg_names[p] for p in self.differentiable)

    @property
    def forward_name(self) -> str:
        return self.name if self.is_loss else f"{self.name}_forward"

    @property
    def backward_name(self) -> str:
        return self.name if self.is_loss else f"{self.name}_backward"

    @property
    def functions(self) -> tuple[str, ...]:
        return (self.name,) if self.is_loss else (self.forward_name, self.backward_name)
