"""The peers, each run the way its users run it, on one example of one layer.

* ``cs231n``: per-element central differences (h = 1e-5) of ⟨dout, forward⟩ (of the loss for a
  loss), compared with the backward by the notebooks' ``rel_error`` = max |a − b| / max(1e-8,
  |a| + |b|), passing below 1e-7. Numerical gradients first, then the analytic ones, as the
  notebooks order them; the array under test is perturbed in place and restored.
* ``torch``: ``torch.autograd.gradcheck`` with its defaults on double tensors, the NumPy pair
  wrapped in a ``torch.autograd.Function`` (``fast_mode=True`` for ``torch-fast``).
* ``jax``: ``jax.test_util.check_grads(f, args, order=1, modes=['rev'])`` with its defaults, ``f``
  a ``jax.custom_vjp`` whose forward and backward call the NumPy code through ``pure_callback``
  (the backward recomputes the cache: residuals must be arrays).

Every peer sees the same example: the forward's arguments ``args`` (a tuple, as the registry's
samplers draw them) and, for a layer, the upstream gradient ``dout`` (the output's shape). Only
the arguments at ``layer.differentiable`` are differentiated; labels and parameter dicts are
held fixed. A peer returns a ``PeerResult``: ``caught`` is True when the user would see a failure —
a value mismatch, or an exception (``crashed``), NaN included.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from benchmarks.counting import CallCounter, Deadline
from bpcheck.implementation import Implementation
from bpcheck.layer import Layer

CS231N_STEP = 1e-5
CS231N_THRESHOLD = 1e-7
PEERS = ("cs231n", "torch", "torch-fast", "jax")

# pure_callback logs the traceback of an exception raised in the callback before re-raising it;
# the peer's verdict reports the exception itself.
logging.getLogger("jax._src.callback").setLevel(logging.CRITICAL)


@dataclass
class PeerResult:
    checker: str
    caught: bool
    crashed: bool = False  # caught by an exception rather than by a comparison
    stopped: bool = False  # ran past its time budget (caught is then False and means nothing)
    detail: str = ""
    seconds: float = 0.0
    forward_calls: int = 0
    backward_calls: int = 0


def with_differentiable(layer: Layer, args: tuple[Any, ...], values: list[Any]) -> tuple[Any, ...]:
    """``args`` with the differentiable positions replaced by ``values`` (in that order)."""
    full = list(args)
    for position, value in zip(layer.differentiable, values):
        full[position] = value
    return tuple(full)


def _as_tuple(grads: Any) -> tuple[Any, ...]:
    return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)


class Subject:
    """The code under test as a peer calls it: value, (value, cache) and the analytic gradients.

    ``impl`` maps protocol names to functions; a loss's one function returns (loss, grads). A
    layer with several outputs (an LSTM step's next_h, next_c) is seen by a peer as one output,
    their entries side by side (``value``), with dout likewise (``flat``): a user's check of such
    a layer sums ⟨dout_k, out_k⟩ over the outputs just the same.
    """

    def __init__(self, layer: Layer, impl: Implementation):
        self.layer, self.impl = layer, impl

    @property
    def several(self) -> bool:
        return len(self.layer.outputs) > 1 and not self.layer.is_loss

    def value_and_cache(self, args: tuple[Any, ...]) -> tuple[Any, Any]:
        """(value, cache): the value a tuple of outputs for a layer with several."""
        result = self.impl.functions[self.layer.forward_name](*args)
        if self.several:
            count = len(self.layer.outputs)
            return tuple(result[:count]), result[count]
        return result

    def value(self, args: tuple[Any, ...]) -> np.ndarray:
        return self.flat(self.value_and_cache(args)[0])

    def flat(self, value: Any) -> np.ndarray:
        """An output (or dout) as one array: several side by side, flattened."""
        if self.several:
            return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in value])
        return np.asarray(value, dtype=np.float64)

    def unflat(self, flat: np.ndarray, like: Any) -> Any:
        """``flat`` split back into the shapes of ``like`` (several outputs), or as it is."""
        if not self.several:
            return flat
        parts, start = [], 0
        for v in like:
            size = int(np.size(v))
            parts.append(np.asarray(flat[start:start + size]).reshape(np.shape(v)))
            start += size
        return tuple(parts)

    def gradients(self, args: tuple[Any, ...], dout: Any) -> tuple[Any, ...]:
        """The analytic gradients for ``dout`` (a loss: its own, times dout when dout is given;
        several outputs: a tuple of douts)."""
        value, second = self.value_and_cache(args)
        if self.layer.is_loss:
            grads = _as_tuple(second)
            return grads if dout is None else tuple(np.asarray(dout) * np.asarray(g) for g in grads)
        douts = tuple(dout) if self.several else (dout,)
        return _as_tuple(self.impl.functions[self.layer.backward_name](*douts, second))


# ---------------------------------------------------------------- cs231n


def numerical_gradient(f: Callable[[], np.ndarray], x: np.ndarray, weights: np.ndarray | float,
                       h: float = CS231N_STEP) -> np.ndarray:
    """∂⟨weights, f()⟩/∂x entry by entry by central differences; ``f`` reads ``x``, which is
    perturbed in place and restored entry by entry (2 evaluations per entry)."""
    grad = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        saved = x[index]
        x[index] = saved + h
        plus = np.array(f(), dtype=np.float64)
        x[index] = saved - h
        minus = np.array(f(), dtype=np.float64)
        x[index] = saved
        grad[index] = np.sum((plus - minus) * weights) / (2 * h)
    return grad


def rel_error(a: Any, b: Any) -> float:
    """The notebooks' max |a − b| / max(1e-8, |a| + |b|), broadcasting as NumPy does."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def cs231n(subject: Subject, args: tuple[Any, ...], dout: np.ndarray | None) -> tuple[bool, str]:
    """(caught, detail): numerical gradients of every differentiable argument, then the analytic
    ones from one forward and backward, compared by ``rel_error``."""
    layer = subject.layer
    args = tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args)
    weights = 1.0 if dout is None else subject.flat(dout)
    numeric = []
    for position in layer.differentiable:
        numeric.append(numerical_gradient(lambda: subject.value(args), args[position], weights))
    analytic = subject.gradients(args, dout)
    worst = max(rel_error(n, a) for n, a in zip(numeric, analytic))
    if not worst <= CS231N_THRESHOLD:  # NaN included
        return True, f"rel_error {worst:.1e}"
    return False, f"rel_error {worst:.1e}"


# ---------------------------------------------------------------- torch.autograd.gradcheck


def torch_gradcheck(subject: Subject, args: tuple[Any, ...], dout: np.ndarray | None, *,
                    fast_mode: bool = False) -> tuple[bool, str]:
    import torch
    from torch.autograd.gradcheck import GradcheckError

    layer = subject.layer

    class NumpyLayer(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            full = with_differentiable(layer, args, [t.detach().numpy() for t in tensors])
            value, second = subject.value_and_cache(full)
            ctx.second = second
            if subject.several:
                return tuple(torch.from_numpy(np.array(v, dtype=np.float64)) for v in value)
            return torch.from_numpy(np.array(value, dtype=np.float64))

        @staticmethod
        def backward(ctx, *grad_outputs):
            if layer.is_loss:
                return tuple(grad_outputs[0] * torch.from_numpy(np.array(g))
                             for g in _as_tuple(ctx.second))
            grads = subject.impl.functions[layer.backward_name](
                *(g.numpy() for g in grad_outputs), ctx.second)
            return tuple(torch.from_numpy(np.array(g)) for g in _as_tuple(grads))

    torch.manual_seed(0)  # fast_mode's random projections: the same in every run
    inputs = tuple(torch.tensor(np.array(args[p], dtype=np.float64), requires_grad=True)
                   for p in layer.differentiable)
    try:
        torch.autograd.gradcheck(NumpyLayer.apply, inputs, fast_mode=fast_mode)
    except GradcheckError as exc:
        return True, str(exc).strip().splitlines()[0][:120]
    return False, "passed"


# ---------------------------------------------------------------- jax.test_util.check_grads


def jax_check_grads(subject: Subject, args: tuple[Any, ...], dout: np.ndarray | None) -> tuple[bool, str]:
    from bpcheck.jaxsetup import jax
    from jax.test_util import check_grads

    layer = subject.layer
    diff = [np.asarray(args[p], dtype=np.float64) for p in layer.differentiable]
    out_struct = jax.ShapeDtypeStruct(np.shape(subject.value(args)), np.float64)
    grad_structs = tuple(jax.ShapeDtypeStruct(d.shape, np.float64) for d in diff)

    def value(*arrays):
        return subject.value(with_differentiable(layer, args, [np.asarray(a) for a in arrays]))

    like = subject.value_and_cache(args)[0]

    def gradients(cotangent, *arrays):
        full = with_differentiable(layer, args, [np.asarray(a) for a in arrays])
        dout = subject.unflat(np.asarray(cotangent), like)
        return tuple(np.asarray(g, dtype=np.float64) for g in subject.gradients(full, dout))

    @jax.custom_vjp
    def f(*arrays):
        return jax.pure_callback(value, out_struct, *arrays)

    def f_fwd(*arrays):
        return jax.pure_callback(value, out_struct, *arrays), arrays

    def f_bwd(arrays, cotangent):
        return tuple(jax.pure_callback(gradients, grad_structs, cotangent, *arrays))

    f.defvjp(f_fwd, f_bwd)
    try:
        check_grads(f, [jax.numpy.asarray(d) for d in diff], order=1, modes=["rev"])
    except AssertionError as exc:
        return True, " ".join(str(exc).split())[:120]
    return False, "passed"


# ---------------------------------------------------------------- running one


def run_peer(checker: str, layer: Layer, impl: Implementation, args: tuple[Any, ...],
             dout: np.ndarray | None, *, budget: float | None = None) -> PeerResult:
    """Run one peer on one example with every call counted; ``budget`` seconds at most (the
    first call past it raises, and the result is marked ``stopped``)."""
    counter = CallCounter(None if budget is None else time.perf_counter() + budget)
    subject = Subject(layer, counter.implementation(impl))
    run = {"cs231n": cs231n, "jax": jax_check_grads,
           "torch": lambda s, a, d: torch_gradcheck(s, a, d, fast_mode=False),
           "torch-fast": lambda s, a, d: torch_gradcheck(s, a, d, fast_mode=True)}[checker]
    started = time.perf_counter()
    result = PeerResult(checker, caught=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a user sees them scroll by; the verdict is the check's
        try:
            result.caught, result.detail = run(subject, args, dout)
        except Deadline as exc:
            result.stopped, result.detail = True, str(exc)
        except Exception as exc:  # the user sees an exception: that is a failure too
            if _deadline_inside(exc):
                result.stopped, result.detail = True, "stopped at the time budget"
            else:
                result.caught, result.crashed = True, True
                result.detail = f"{type(exc).__name__}: {' '.join(str(exc).split())[:100]}"
    result.seconds = time.perf_counter() - started
    result.forward_calls = counter.forward_calls(layer)
    result.backward_calls = counter.backward_calls(layer)
    return result


def _deadline_inside(exc: BaseException) -> bool:
    """A Deadline raised inside a callback may reach us wrapped (JAX, torch)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, Deadline) or "Deadline" in str(exc)[:200]:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


_WARM = False


def warm_up() -> None:
    """Run every peer once on a tiny correct relu, untimed: the first call of each pays one-off
    set-up (torch's and JAX's dispatch caches) that no later check does."""
    global _WARM
    if _WARM:
        return
    import manual
    from bpcheck.registry import layer_named

    layer = layer_named("relu")
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    for checker in PEERS:
        run_peer(checker, layer, Implementation.from_module(manual), (x,), dout)
    _WARM = True
