"""The layer record: everything the battery needs to know about one layer, and nothing else.

A record names a layer of the protocol (``affine`` → ``affine_forward`` / ``affine_backward``;
a name ending in ``_loss`` is one function returning ``(loss, dx)``), gives its JAX twin and
describes its input domain. Checks never know which layer they run on: a layer's peculiarities
(labels that get no gradient, a kink, running statistics updated in place) live here.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Callable, Mapping

import numpy as np
from hypothesis import strategies as st

from bpcheck.sampling import Values, dimensions
from bpcheck.tolerances import ANALYTIC, Tolerance

#: ``writes`` value for a dict argument whose every key the forward may write.
ANY_KEY = "*"


def _writes_nothing(*args: Any) -> Mapping[int, tuple[str, ...]]:
    return {}


def _positional(function: Callable[..., Any]) -> tuple[str, ...]:
    params = inspect.signature(function).parameters.values()
    return tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


@dataclass(frozen=True)
class Property:
    """A layer's own invariant, beyond the battery's generic checks (dropout's mask statistics,
    batchnorm's running statistics untouched in test mode, max-pool's tie convention).

    ``verify(caller, args, outputs)`` judges one example: ``caller`` calls the implementation
    again (``implementation.Caller``: its forward and backward, validated), ``args`` are the
    example's arguments and ``outputs`` what the forward returned for them (a tuple, one float64
    array per output). It raises ``Fail``, ``Warn`` or ``Skip`` (``bpcheck.outcomes``) or returns
    None. ``judges``: "forward" or "backward", the function a finding names.
    """

    name: str
    title: str
    verify: Callable[..., None]
    judges: str = "forward"


class RegistryError(ValueError):
    """A layer record is malformed."""


@dataclass(frozen=True)
class KnownMistake:
    """A classic wrong version of a layer, named when a failure matches it exactly.

    Either ``twin``: a JAX function with the record's twin's arguments (a random layer's observed
    choices at the end) computing the wrong layer. When the forward check fails, outputs equal to
    this twin's name the mistake; when a gradient differs from jax.vjp of the right twin, a
    gradient equal to jax.vjp of this one names it (a mistake in the backward alone is a twin
    with the right values and a wrong derivative: ``jax.lax.stop_gradient`` on a path). Or
    ``shapes(*args)``: {gradient name: the shape the mistake returns for these forward
    arguments} (conv's dx with its padding kept). ``diagnosis`` is said only on a match to the
    layer's tolerance (an exact shape): a clause naming the mistake and its fix. The twins are
    compiled only after a value check has failed. Used by: ``battery.diagnose``.
    """

    diagnosis: str
    twin: Callable[..., Any] | None = None
    shapes: Callable[..., Mapping[str, tuple[int, ...]]] | None = None
    #: A random layer's backward that makes choices of its own: ``reads(args, dout, grad)`` ->
    #: the choices ``twin`` is evaluated at, read from a failing gradient (dropout: the mask a
    #: backward drew anew), or None where they cannot be read. Only with ``twin``, only for the
    #: gradients; None: the forward's own choices (``Layer.observed``).
    reads: Callable[..., Any] | None = None


@dataclass(frozen=True, repr=False)
class Layer:
    #: Protocol name: ``affine`` for the pair affine_forward/affine_backward, or a name ending in
    #: ``_loss`` for one function returning (loss, grads) — dx alone for ``softmax_loss``, one
    #: gradient per differentiable argument for a whole model's loss.
    name: str
    #: JAX twin: same arguments as the forward (or the loss); returns out (or the scalar loss).
    #: Gradients come from ``jax.vjp`` of this function. Used by: forward, vjp, finite differences.
    reference: Callable[..., Any]
    #: Draws the forward's arguments from dimensions (drawn by ``dims``) and a value style.
    #: Used by: every check.
    sample: Callable[[Any, Values], tuple[Any, ...]]
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
    #: (magnitude, error, why): at values drawn at this magnitude or above, a floating-point
    #: ``error`` the forward raises (e.g. "divide by zero encountered in log"), or an output that
    #: is inf or NaN where the twin's is finite and equal to it elsewhere, is a warning naming
    #: ``why``, not a failure — a stress magnitude beyond what the course's own code handles
    #: (cs231n's given temporal_softmax_loss takes log of probabilities that underflow at ±1e4).
    #: Every other error still fails there. None: a failure at every magnitude. Used by: the
    #: battery's checks.
    beyond_contract: tuple[float, str, str] | None = None
    #: ``writes(*args)`` -> {position of a dict argument: keys the forward writes into it}, for
    #: these arguments (batchnorm in train mode: {3: ("running_mean", "running_var")}; ``ANY_KEY``
    #: for any). Changing another key's value fails; adding a key is a warning (a convention of
    #: the file, e.g. ``ln_param['mode'] = 'train'``). Used by: no_mutation.
    writes: Callable[..., Mapping[int, tuple[str, ...]]] | Mapping[int, tuple[str, ...]] = (
        _writes_nothing)
    #: Tolerance for analytic comparisons; override only with a reason written beside it.
    tolerance: Tolerance = ANALYTIC
    #: The twin maps each entry of its first argument to the same entry of its output, and its
    #: other arguments are constants (relu, leaky_relu's alpha, sigmoid …). Its reference is then
    #: computed on the entries flattened and zero-padded to a size bucket, so that one compiled
    #: program serves every shape (a compilation costs ~0.1 s; a padded entry, nothing). Used by:
    #: the reference side (``autodiff``).
    elementwise: bool = False
    #: The dimensions ``sample`` receives: a strategy drawing any (hashable, printable) object,
    #: from pools small enough to bound the compiled JAX programs; None: the shared ``Dims``
    #: pools (``sampling.dimensions``). Used by: every check (through the example's ``Draw``).
    dims: st.SearchStrategy[Any] | None = None
    #: The forward's outputs, before its cache, in return order; the backward takes one upstream
    #: gradient per output in that order (``lstm_step``: ("next_h", "next_c") →
    #: ``lstm_step_backward(dnext_h, dnext_c, cache)``), and the twin returns a tuple of them.
    outputs: tuple[str, ...] = ("out",)
    #: (forward, backward) names where the course's differ from ``<name>_forward`` /
    #: ``<name>_backward`` (``conv_forward_naive``; ``batchnorm_backward_alt`` with
    #: ``batchnorm_forward``). Used by: the loader, the report.
    names: tuple[str, str] | None = None
    #: ``backward_in(*args)``: whether the protocol defines the backward for these arguments
    #: (batchnorm's backward exists in train mode only; its test mode checks the forward alone).
    #: None: always. Used by: every check that calls the backward (they skip such examples).
    backward_in: Callable[..., bool] | None = None
    #: A random layer (dropout): ``observed(args, outputs)`` -> the twin's last argument, the
    #: random choices the implementation made, read from its own outputs for these arguments
    #: (dropout: the mask ``outputs[0] != 0``); with ``outputs=None`` any fixed choice (used
    #: only to learn output shapes). None for a deterministic layer. Used by: the trial.
    observed: Callable[[tuple[Any, ...], tuple[np.ndarray, ...] | None], Any] | None = None
    #: The layer's own invariants, run by the ``properties`` check.
    properties: tuple[Property, ...] = ()
    #: Classic wrong versions of the layer (``KnownMistake``): a failure that matches one exactly
    #: is diagnosed with its sentence. Used by: the diagnosis of a failed value or shape check.
    mistakes: tuple[KnownMistake, ...] = ()
    #: A whole model or classifier of the course, by its own name (``TwoLayerNet``,
    #: ``svm_loss_naive``): a loss (one function returning ``(loss, grads)``, gradients in the
    #: order of ``differentiable``) that does not end in ``_loss``. A class is called through
    #: its adapter in ``bpcheck.modelcall`` (built with keywords, its ``params`` replaced by the
    #: drawn arrays, ``grads`` read key by key). Used by: ``is_loss``, the implementation.
    model: bool = False

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise RegistryError(f"layer name {self.name!r} is not a Python identifier")
        if not callable(self.reference) or not callable(self.sample):
            raise RegistryError(f"{self.name}: reference and sample must be callable")
        arity = len(self.arg_names)
        for field in ("differentiable", "batched"):
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
        if self.beyond_contract is not None and (
                len(self.beyond_contract) != 3 or self.beyond_contract[0] not in self.magnitudes
                or not all(isinstance(t, str) and t.strip() for t in self.beyond_contract[1:])):
            raise RegistryError(f"{self.name}: beyond_contract must be (one of the magnitudes, "
                                f"the error allowed, why), got {self.beyond_contract!r}")
        if isinstance(self.writes, Mapping):  # the same keys whatever the arguments
            fixed = {int(p): tuple(keys) for p, keys in self.writes.items()}
            object.__setattr__(self, "writes", lambda *args: fixed)
        if not callable(self.writes):
            raise RegistryError(f"{self.name}: writes must be a dict or a function of the "
                                f"forward's arguments")
        if not self.outputs or len(set(self.outputs)) != len(self.outputs) or not all(
                o.isidentifier() for o in self.outputs):
            raise RegistryError(f"{self.name}: outputs={self.outputs} must be distinct names")
        if self.is_loss and (len(self.outputs) > 1 or self.backward_in or self.names):
            raise RegistryError(f"{self.name}: a loss has one output, no modes and its own name")
        if self.elementwise and len(self.outputs) > 1:
            raise RegistryError(f"{self.name}: an elementwise layer has one output")
        if self.dims is not None and not isinstance(self.dims, st.SearchStrategy):
            raise RegistryError(f"{self.name}: dims must be a hypothesis strategy")
        if self.names is not None and (len(self.names) != 2 or not all(
                isinstance(n, str) and n.isidentifier() for n in self.names)):
            raise RegistryError(f"{self.name}: names must be (forward, backward) identifiers")
        self._validate_mistakes()

    def _validate_mistakes(self) -> None:
        if not isinstance(self.mistakes, tuple):
            raise RegistryError(f"{self.name}: mistakes must be a tuple of KnownMistake")
        parameters = _positional(self.reference)
        for mistake in self.mistakes:
            if not isinstance(mistake, KnownMistake):
                raise RegistryError(f"{self.name}: mistakes must be KnownMistake records, not "
                                    f"{mistake!r}")
            if not isinstance(mistake.diagnosis, str) or not mistake.diagnosis.strip():
                raise RegistryError(f"{self.name}: a known mistake needs a diagnosis")
            if (mistake.twin is None) == (mistake.shapes is None):
                raise RegistryError(f"{self.name}: known mistake {mistake.diagnosis!r} needs "
                                    f"exactly one of twin and shapes")
            if mistake.twin is not None and (not callable(mistake.twin)
                                             or _positional(mistake.twin) != parameters):
                raise RegistryError(f"{self.name}: known mistake {mistake.diagnosis!r}: its twin "
                                    f"must take the twin's arguments {parameters}")
            if mistake.reads is not None and (mistake.twin is None or self.observed is None
                                              or not callable(mistake.reads)):
                raise RegistryError(f"{self.name}: known mistake {mistake.diagnosis!r}: reads "
                                    f"is a function, for a random layer's twin")
            if mistake.shapes is not None and not callable(mistake.shapes):
                raise RegistryError(f"{self.name}: known mistake {mistake.diagnosis!r}: shapes "
                                    f"must be a function of the forward's arguments")

    def __repr__(self) -> str:
        return f"Layer({self.name!r})"

    @cached_property
    def is_loss(self) -> bool:
        return self.model or self.name.endswith("_loss")

    @cached_property
    def independent_rows(self) -> bool:
        """Each row of the output depends on its own rows of the batched arguments only (a layer
        with batched arguments; a loss's mean couples its rows)."""
        return bool(self.batched) and not self.is_loss

    @cached_property
    def arg_names(self) -> tuple[str, ...]:
        """The forward's arguments: the twin's, less the observed outputs of a random layer."""
        names = _positional(self.reference)
        return names[:-1] if self.observed is not None else names

    def with_twin(self, twin: Callable[..., Any]) -> "Layer":
        """This record with another twin (a known mistake's), for the reference side: computed on
        the arguments as they are (no padded rows or entries, which a wrong twin may not ignore;
        its programs are compiled only after a failure)."""
        return replace(self, reference=twin, mistakes=(), batched=(), elementwise=False)

    def twin_args(self, args: tuple[Any, ...],
                  outputs: tuple[np.ndarray, ...] | None = None) -> tuple[Any, ...]:
        """The twin's arguments for the forward's ``args``: the same, and a random layer's
        observed choices (from the implementation's ``outputs``) at the end."""
        if self.observed is None:
            return args
        return (*args, self.observed(args, outputs))

    @property
    def dimensions(self) -> st.SearchStrategy[Any]:
        """The strategy drawing this layer's dimensions."""
        return self.dims if self.dims is not None else dimensions()

    @cached_property
    def dout_names(self) -> tuple[str, ...]:
        """The backward's upstream gradients, in the order it takes them (``dout`` for one)."""
        return ("dout",) if len(self.outputs) == 1 else tuple("d" + o for o in self.outputs)

    def has_backward(self, args: tuple[Any, ...]) -> bool:
        """Whether the protocol defines the backward at these arguments (see ``backward_in``);
        a loss's gradients come with it."""
        return self.is_loss or self.backward_in is None or bool(self.backward_in(*args))

    @cached_property
    def grad_names(self) -> tuple[str, ...]:
        return tuple("d" + self.arg_names[p] for p in self.differentiable)

    @cached_property
    def forward_name(self) -> str:
        if self.is_loss:
            return self.name
        return self.names[0] if self.names else f"{self.name}_forward"

    @cached_property
    def backward_name(self) -> str:
        if self.is_loss:
            return self.name
        return self.names[1] if self.names else f"{self.name}_backward"

    @cached_property
    def functions(self) -> tuple[str, ...]:
        return (self.name,) if self.is_loss else (self.forward_name, self.backward_name)
