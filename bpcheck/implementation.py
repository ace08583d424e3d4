"""The implementation under test, and the one way the battery calls into it.

An ``Implementation`` is a mapping from protocol names (``affine_forward``, ``softmax_loss`` …) to
functions: ``manual/`` by default, a user's file later. Every call goes through ``call``, which turns
an exception or a return value that breaks the protocol into an ``ImplementationError`` whose
message names the function and, for an exception, the line that raised it.
"""

from __future__ import annotations

import copy
import functools
import _signal
import signal
import sysconfig
import threading
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from bpcheck.floating_point import raise_floating_point_errors
from bpcheck.modelcall import adapt_all

if TYPE_CHECKING:
    from bpcheck.layer import Layer

_ENGINE_DIR = Path(__file__).resolve().parent


class ImplementationError(Exception):
    """The implementation raised, is missing a function, or returned something off-protocol."""


@dataclass(frozen=True, repr=False)
class Implementation:
    label: str
    functions: Mapping[str, Callable[..., Any]]
    #: Set when each call crosses into another process (a sandbox): ``batched(forward, backward,
    #: requests)`` runs what ``evaluations`` describes in one round trip and returns its list of
    #: ``Evaluation``, or None to go one call at a time.
    batched: Callable[..., Any] | None = None

    @property
    def remote(self) -> bool:
        """Calls are round trips: the battery makes all of an example's calls in one batch (see
        ``calls``), and finite differences evaluate the JAX twin rather than its forward."""
        return self.batched is not None

    def __repr__(self) -> str:
        return f"Implementation({self.label!r}, {len(self.functions)} functions)"

    @classmethod
    def from_module(cls, module: ModuleType, label: str | None = None) -> Implementation:
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        functions = {n: getattr(module, n) for n in names if callable(getattr(module, n, None))}
        return cls(label or module.__name__, adapt_all(functions))

    def defines(self, layer: Layer) -> bool:
        return all(name in self.functions for name in layer.functions)

    def replace(self, **functions: Callable[..., Any]) -> Implementation:
        """A copy with some functions swapped (used to plant bugs in tests)."""
        return Implementation(f"{self.label} (modified)", {**self.functions,
                                                            **adapt_all(functions)})


_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), np.generic)


def fresh(value: Any) -> Any:
    """A deep copy, so that no call can disturb the arguments another call sees.

    Arrays, tuples (named ones too), lists and dicts are copied structurally, which is ~10× faster
    than ``copy.deepcopy``; anything else falls back to it.
    """
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value) is tuple:
        return tuple(fresh(v) for v in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(fresh(v) for v in value))
    if type(value) is list:
        return [fresh(v) for v in value]
    if type(value) is dict:
        return {k: fresh(v) for k, v in value.items()}
    return copy.deepcopy(value)


def call(impl: Implementation, name: str, *args: Any) -> Any:
    """``name``'s answer to ``args``; whatever it raises (``SystemExit``, ``KeyboardInterrupt`` and
    other ``BaseException`` subclasses too) becomes an ImplementationError naming the function.

    A real Ctrl-C is not the function's: a SIGINT that arrives during the call (counted by
    ``_watch_interrupts``) stops bpcheck, even when the function catches the KeyboardInterrupt
    itself; a KeyboardInterrupt the function raises on its own is reported as its error.
    """
    function = impl.functions.get(name)
    if function is None:
        raise ImplementationError(f"{name} is not defined")
    since = interrupts()
    try:
        with warnings.catch_warnings():  # an unstable formula raises (``floating_point``)
            raise_floating_point_errors()
            result = function(*args)
    except ImplementationError:  # already says which function and why (e.g. from the sandbox)
        raise
    except BaseException as exc:  # the implementation's own error, reported as such
        if real_interrupt(exc, since):
            raise KeyboardInterrupt from None  # the user pressed Ctrl-C
        raise ImplementationError(raised(name, exc)) from exc
    if real_interrupt(None, since):  # a Ctrl-C the function caught and swallowed
        raise KeyboardInterrupt
    return result


def interrupts() -> int | None:
    """How many real Ctrl-Cs (SIGINT) were seen so far, counting from now on; None where a
    KeyboardInterrupt cannot be told apart from one (see ``_watch_interrupts``)."""
    return _INTERRUPTS[0] if _watch_interrupts() else None


def real_interrupt(exc: BaseException | None, since: int | None) -> bool:
    """Whether a real Ctrl-C arrived since ``interrupts()`` returned ``since`` (``exc``: what the
    user's code raised, if anything; where SIGINTs are not counted, a KeyboardInterrupt is taken
    for one)."""
    if since is None:
        return isinstance(exc, KeyboardInterrupt)
    return _INTERRUPTS[0] != since


#: Real SIGINTs (Ctrl-C) seen since the counting handler was installed.
_INTERRUPTS = [0]


def _watch_interrupts() -> bool:
    """Count real SIGINTs from now on; False when a KeyboardInterrupt cannot be told apart here.

    A signal handler runs in the main thread only, so in another thread every KeyboardInterrupt
    is raised by code. In the main thread the SIGINT handler is wrapped once by one that counts,
    then does what the handler it wraps did (the default raises KeyboardInterrupt).
    """
    if threading.current_thread() is not threading.main_thread():
        return True
    # _signal's own getsignal: signal.getsignal wraps the answer in an enum on every call, which
    # cost ~15% of an affine example's time (this runs on every call into user code).
    current = _signal.getsignal(signal.SIGINT)
    if getattr(current, "_bpcheck_counts", False) or current in (signal.SIG_IGN, signal.SIG_DFL):
        return True  # counted already, or a SIGINT raises no exception here
    if not callable(current):  # installed from C: unknown
        return False

    def counting(signum, frame):
        _INTERRUPTS[0] += 1
        return current(signum, frame)

    counting._bpcheck_counts = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, counting)
    return True


#: The longest part of a user's exception message kept in a verdict.
MESSAGE_CHARACTERS = 300


def raised(name: str, exc: BaseException) -> str:
    """One sentence for an exception a user's function raised: its type, the first line of its
    message (shortened) and the line of the user's code that raised it."""
    kind = type(exc).__name__
    if isinstance(exc, SystemExit):
        code = _shortened(_safe(lambda: repr(exc.code)))
        return (f"{name} called sys.exit({code}){_where(exc)}: a layer function must return its "
                f"answer, not end the program")
    if isinstance(exc, RecursionError):
        return f"{name} raised RecursionError: {text_of(exc)}{_where(exc)}: endless recursion?"
    if getattr(exc, "bpcheck_stand_in", False):  # a module not available here (``standins``)
        return f"{name} uses {text_of(exc)}{_where(exc)}"
    text = text_of(exc)
    return f"{name} raised {kind}{': ' + text if text else ''}{_where(exc)}"


def _safe(describe: Callable[[], str]) -> str:
    try:
        return str(describe())
    except BaseException as exc:  # a hostile __str__ or __repr__
        return f"(cannot be shown: {type(exc).__name__})"


def _shortened(text: str, limit: int = MESSAGE_CHARACTERS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def text_of(exc: BaseException) -> str:
    """The first line of an exception's message, shortened; it may not be printable at all."""
    lines = _safe(lambda: str(exc)).strip().splitlines()
    return _shortened(lines[0].strip()) if lines else ""


def _where(exc: BaseException, *, own_only: bool = False) -> str:
    """Where the user's code raised: its last frame outside bpcheck and the libraries (NumPy
    raising for ``np.float`` is the user's line that wrote ``np.float``); the last frame outside
    bpcheck when every frame is a library's (unless ``own_only``)."""
    frames = [(frame, line) for frame, line in traceback.walk_tb(exc.__traceback__)
              if _whose(frame.f_code.co_filename) != "bpcheck"]
    own = [(frame, line) for frame, line in frames if _whose(frame.f_code.co_filename) == "user"]
    if own_only:
        frames = own
    if not (own or frames):
        return ""
    last = traceback.StackSummary.extract([(own or frames)[-1]])[0]  # its line, read only now
    code = f": {_shortened(last.line.strip(), 120)}" if last.line else ""
    return f" (at {last.filename}:{last.lineno}{code})"


@functools.lru_cache(maxsize=4096)
def _whose(filename: str) -> str:
    """Whose code a frame's file holds: "bpcheck", "library" (the standard library or an
    installed package) or "user". Resolved once per file: the diagnosis of one failing layer
    asks this of thousands of exceptions' frames."""
    path = Path(filename).resolve()
    if _ENGINE_DIR in path.parents:
        return "bpcheck"
    return "library" if any(path.is_relative_to(d) for d in _LIBRARY_DIRS) else "user"


def user_line(exc: BaseException) -> str:
    """" (at file:line: code)" for the last frame of ``exc`` in code that is neither bpcheck's
    nor a library's (the user's), or "" when it passed through none."""
    return _where(exc, own_only=True)


#: Where the standard library and installed packages live: their frames are not the user's code.
_LIBRARY_DIRS = tuple(dict.fromkeys(
    Path(p).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")
    if (p := sysconfig.get_paths().get(key))))


#: The most entries an answer may hold. Every example here is small (tens of entries), so an
#: answer this large is a mistake, and copying it could exhaust the memory.
MAX_ENTRIES = 2**24
#: How deeply an answer's tuples and lists may nest.
MAX_DEPTH = 32
#: The dtype kinds an answer's arrays may have: bool, integers, floating point (8 bytes at most,
#: like the sandbox's wire format).
NUMERIC_KINDS = "biuf"


def plain(value: Any, name: str, labels: tuple[str, ...] = (), label: str | None = None) -> Any:
    """An answer of ``name`` (an output, a loss, gradients) as plain data, or an
    ImplementationError naming what in it cannot be an answer (``label``: what the value is, e.g.
    "out"; None for the whole answer, whose items are then called by ``labels``, e.g. "dx").

    Plain data is what crosses from a sandboxed child (``grading/sandbox/wire.py``), so a check
    sees the same thing in-process: base-class arrays of a numeric dtype (an ndarray subclass
    becomes its data), NumPy and Python numbers, None, and tuples and lists of them (a tuple
    subclass, a NamedTuple among them, becomes a tuple), and dicts with string keys (a course's
    ``grads`` dict: the protocol check names what it expected instead). Read with methods of the
    base classes, so that no method of the answer's own runs: a hostile ``__len__`` or
    ``__eq__`` never does. Refused: complex, object, structured and string arrays, arrays of more
    than MAX_ENTRIES entries, structures nested deeper than MAX_DEPTH or containing themselves,
    and any other object (a generator, a string, a set).
    """
    count = [0]

    def refuse(label: str | None, problem: str) -> ImplementationError:
        subject = f"{name} returned" if label is None else f"{name}'s {label} is"
        return ImplementationError(f"{subject} {problem}")

    def walk(item: Any, label: str | None, depth: int, inside: frozenset[int]) -> Any:
        count[0] += 1
        if count[0] > MAX_ENTRIES:
            raise refuse(label, f"more than {MAX_ENTRIES:,} values")
        if item is None or type(item) in (bool, int, float):
            return item
        if isinstance(item, (np.ndarray, np.generic)):
            array = np.ndarray.view(item, np.ndarray) if isinstance(item, np.ndarray) else None
            dtype = item.dtype
            what = "array" if array is not None else "number"
            if dtype.kind == "c":
                raise refuse(label, f"a complex {what} (dtype {dtype}), not real numbers")
            if dtype.kind not in NUMERIC_KINDS or dtype.itemsize > 8:
                kind = {"O": "an object", "V": "a structured", "U": "a string",
                        "S": "a bytes"}.get(dtype.kind, "a")
                raise refuse(label, f"{kind} {what} (dtype {dtype}), not numbers")
            if array is not None and array.size > MAX_ENTRIES:
                raise refuse(label, f"an array of {array.size:,} entries (shape {array.shape}): "
                                    f"far more than any answer here")
            return item if array is None else array
        if isinstance(item, (tuple, list)):
            base = tuple if isinstance(item, tuple) else list
            if depth >= MAX_DEPTH:
                raise refuse(label, f"a {base.__name__} nested more than {MAX_DEPTH} levels deep")
            if id(item) in inside:
                raise refuse(label, f"a {base.__name__} that contains itself")
            inner = inside | {id(item)}
            items = []
            for i in range(base.__len__(item)):
                part = (labels[i] if i < len(labels) else f"item {i}") if label is None else (
                    f"{label}[{i}]")
                items.append(walk(base.__getitem__(item, i), part, depth + 1, inner))
            return tuple(items) if base is tuple else items
        if type(item) is dict and all(type(k) is str for k in item):  # for the protocol to name
            if depth >= MAX_DEPTH or id(item) in inside:
                raise refuse(label, "a dict nested too deeply or containing itself")
            return {k: walk(v, f"{label or 'answer'}[{k!r}]", depth + 1, inside | {id(item)})
                    for k, v in item.items()}
        raise refuse(label, f"{describe(item)}, not an array or a number")

    return walk(value, label, 0, frozenset())


def describe(value: Any) -> str:
    """What a value is, for a sentence ("a generator", "a dict")."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def answer(layer: Layer, name: str, raw: Any) -> Any:
    """What ``name`` returned, made plain (``plain``) where the battery reads it: a forward's
    outputs (its cache stays as returned: the backward gets it back), a loss's pair, a backward's
    gradients. An answer off the protocol (a forward that returns no tuple of the right length)
    keeps its items as they are, for ``returned`` to say what it is."""
    if name == layer.forward_name and not layer.is_loss:
        if not isinstance(raw, (tuple, list)):
            return raw if not isinstance(raw, np.ndarray) else plain(raw, name)
        base = tuple if isinstance(raw, tuple) else list
        items = [base.__getitem__(raw, i) for i in range(base.__len__(raw))]
        if len(items) != len(layer.outputs) + 1:
            return tuple(items) if base is tuple else items
        outputs = [plain(item, name, label=output) for item, output in zip(items, layer.outputs)]
        return (*outputs, items[-1])
    if layer.is_loss:
        grads = layer.grad_names[0] if len(layer.grad_names) == 1 else "gradients"
        return plain(raw, name, ("loss", grads))
    return plain(raw, name, layer.grad_names)


def as_array(value: Any, what: str) -> np.ndarray:
    """A returned value (plain: see ``plain``) as a float64 array, or a clear error saying what is
    wrong with it."""
    if value is None:
        raise ImplementationError(f"{what} is None (not implemented?)")
    if isinstance(value, np.ndarray) and value.dtype == object:
        raise ImplementationError(f"{what} is an object array, not numbers")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ImplementationError(f"{what} is {type(value).__name__}, not an array: "
                                  f"{text_of(exc)}") from exc
    return array


def returned(layer: Layer, result: Any) -> tuple[tuple[Any, ...], Any]:
    """A forward's return value split as the protocol defines it: a layer's ``(*outputs,
    cache)`` into (outputs, cache), a loss's ``(loss, grads)`` into ((loss,), grads); an
    ImplementationError naming what was expected otherwise."""
    parts = ("loss", ", ".join(layer.grad_names)) if layer.is_loss else (*layer.outputs, "cache")
    if not isinstance(result, (tuple, list)) or len(result) != len(parts):
        got = f"a {type(result).__name__} of length {len(result)}" if isinstance(
            result, (tuple, list)) else type(result).__name__
        raise ImplementationError(f"{layer.forward_name} must return ({', '.join(parts)}), "
                                  f"got {got}")
    return tuple(result[:-1]), result[-1]


def output_arrays(layer: Layer, outputs: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
    """The forward's outputs (the loss, for a loss) as float64 arrays, in the record's order."""
    names = ("loss",) if layer.is_loss else layer.outputs
    return tuple(as_array(o, f"{layer.forward_name}'s {n}") for o, n in zip(outputs, names))


def forward(layer: Layer, impl: Implementation, args: tuple[Any, ...]
            ) -> tuple[tuple[np.ndarray, ...], Any]:
    """``(outputs, cache)`` from the forward, outputs as float64 arrays; for a loss,
    ``((loss,), grads)``."""
    outputs, second = returned(layer, answer(layer, layer.forward_name,
                                               call(impl, layer.forward_name, *fresh(args))))
    return output_arrays(layer, outputs), second


def grads_of(layer: Layer, result: Any) -> tuple[np.ndarray, ...]:
    """A backward's return value as a tuple of float64 arrays, one per differentiable argument."""
    names = layer.grad_names
    if len(names) == 1 and not isinstance(result, (tuple, list)):
        result = (result,)
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise ImplementationError(
            f"{layer.backward_name} must return {', '.join(names)}"
            f" ({len(names)} value{'s' * (len(names) > 1)}), got {_summary(result)}"
        )
    return tuple(as_array(g, f"{layer.backward_name}'s {n}") for g, n in zip(result, names))


def _summary(result: Any) -> str:
    if isinstance(result, (tuple, list)):
        return f"a {type(result).__name__} of {len(result)}"
    return type(result).__name__


def backward(layer: Layer, impl: Implementation, douts: tuple[np.ndarray, ...], cache: Any
             ) -> tuple[np.ndarray, ...]:
    """The backward on upstream gradients (one per output) and a cache, validated."""
    return grads_of(layer, answer(layer, layer.backward_name,
                                  call(impl, layer.backward_name, *douts, cache)))


@dataclass(frozen=True)
class Caller:
    """The implementation's forward and backward for one layer, validated, for a layer's own
    properties (``layer.Property``) to call on arguments of their choosing: the outputs have the
    twin's shapes and the gradients their arguments' (else an ImplementationError saying which),
    so that a property's own arithmetic never meets a shape it did not ask for."""

    layer: Layer
    impl: Implementation
    #: id of a cache the forward made -> (the cache, the arguments it was made from)
    made: dict[int, tuple[Any, tuple[Any, ...]]] = field(default_factory=dict)

    def forward(self, *args: Any) -> tuple[tuple[np.ndarray, ...], Any]:
        from bpcheck.autodiff import output_shape

        layer = self.layer
        outputs, cache = forward(layer, self.impl, args)
        expected = output_shape(layer, layer.twin_args(args))
        expected = expected if len(outputs) > 1 else (expected,)
        names = ("loss",) if layer.is_loss else layer.outputs
        for name, out, shape in zip(names, outputs, expected):
            if out.shape != tuple(shape):
                raise ImplementationError(f"{layer.forward_name}'s {name} has shape {out.shape}, "
                                          f"expected {tuple(shape)}")
        self.made[id(cache)] = (cache, args)
        return outputs, cache

    def backward(self, douts: tuple[np.ndarray, ...], cache: Any) -> tuple[np.ndarray, ...]:
        layer = self.layer
        grads = backward(layer, self.impl, douts, cache)
        made = self.made.get(id(cache))
        if made is not None and made[0] is cache:
            for name, grad, position in zip(layer.grad_names, grads, layer.differentiable):
                want = tuple(np.shape(made[1][position]))
                if grad.shape != want:
                    raise ImplementationError(f"{layer.backward_name}'s {name} has shape "
                                              f"{grad.shape}, expected {want} (the shape of "
                                              f"{layer.arg_names[position]})")
        return grads


@dataclass(frozen=True)
class Audit:
    """What one backward call did besides answering: edited its dout or its cache in place,
    returned gradients that are the memory of dout or of a forward argument (``aliases``: pairs
    (index of the gradient, "dout" or the argument's position))."""

    dout_changed: bool = False
    cache_changed: bool = False
    aliases: tuple[tuple[int, str | int], ...] = ()


@dataclass(frozen=True)
class Change:
    """An argument the forward edited in place: its ``position``; for a dict, the keys it added
    and the existing keys whose values changed or were removed (both empty for an edited
    array)."""

    position: int
    added: tuple[str, ...] = ()
    altered: tuple[str, ...] = ()


def change(position: int, before: Any, after: Any) -> Change | None:
    """How ``after`` differs from ``before`` (the same argument before and after a call)."""
    if unchanged(before, after):
        return None
    if isinstance(before, dict) and isinstance(after, dict):
        added = tuple(sorted(str(k) for k in after.keys() - before.keys()))
        altered = tuple(sorted(str(k) for k in before.keys() & after.keys()
                               if not unchanged(before[k], after[k])))
        removed = tuple(sorted(str(k) for k in before.keys() - after.keys()))
        return Change(position, added, tuple(sorted(altered + removed)))
    return Change(position)


@dataclass(frozen=True)
class Evaluation:
    """What one forward call and the backward calls on its cache returned, not yet validated.

    ``forward``: the forward's return value as it returned it ((*outputs, cache), or (loss, grads)
    for a loss; a remote forward's cache is None), or the ImplementationError it raised.
    ``changed``: the arguments the forward edited in place. ``backwards``: one return value or
    ImplementationError per set of upstream gradients (none for a loss, when the forward gave no
    cache, or where the protocol defines no backward), each with its ``Audit`` (a loss has one
    audit, of the gradients it returned).
    """

    forward: Any
    changed: tuple[Change, ...] = ()
    backwards: tuple[Any, ...] = ()
    audits: tuple[Audit, ...] = ()


def evaluations(
    layer: Layer, impl: Implementation,
    requests: Sequence[tuple[tuple[Any, ...], Sequence[tuple[np.ndarray, ...]]]],
) -> list[Evaluation]:
    """For each ``(args, douts)``: the forward on a copy of args, then (for a layer) the backward
    on each entry of douts (a tuple, one upstream gradient per output), each on a copy of that
    forward's cache, the last on the cache itself; with what each call edited in place or
    aliased. A remote implementation does them all in one round trip."""
    backward_name = None if layer.is_loss else layer.backward_name
    if impl.batched is not None:
        answer = impl.batched(layer.forward_name, backward_name,
                              [(fresh(args), [fresh(d) for d in douts]) for args, douts in requests],
                              len(layer.outputs))
        if answer is not None:
            return answer
    return [_evaluate_here(layer, impl, args, douts) for args, douts in requests]


def _evaluate_here(layer: Layer, impl: Implementation, args: tuple[Any, ...],
                   douts: Sequence[tuple[np.ndarray, ...]]) -> Evaluation:
    given = fresh(args)
    try:
        raw = answer(layer, layer.forward_name, call(impl, layer.forward_name, *given))
    except ImplementationError as exc:
        return Evaluation(exc)
    changed = tuple(c for p, (before, after) in enumerate(zip(args, given))
                    if (c := change(p, before, after)) is not None)
    k = len(layer.outputs)
    if layer.is_loss or not isinstance(raw, (tuple, list)) or len(raw) != k + 1:
        return Evaluation(raw, changed, audits=(_aliases(raw, None, given),))
    # The outputs as returned: a backward that edits its cache in place must not change the
    # outputs judged when they are one array (that edit is reported by its audit).
    firsts = tuple(fresh(o) for o in raw[:k])
    cache_made = raw[k]
    backwards: list[Any] = []
    audits: list[Audit] = []
    for j, upstream_given in enumerate(douts):
        try:  # the cache is the user's object: copying it runs its code
            cache = cache_made if j == len(douts) - 1 else _guarded(
                lambda: fresh(cache_made),
                f"the cache {layer.forward_name} returned cannot be copied")
            upstream = fresh(tuple(upstream_given))
            snapshot = _guarded(lambda: fresh(cache),
                                f"the cache {layer.forward_name} returned cannot be copied")
            grads = answer(layer, layer.backward_name,
                           call(impl, layer.backward_name, *upstream, cache))
        except ImplementationError as exc:
            backwards.append(exc)
            audits.append(Audit())
            continue
        backwards.append(grads)
        found = _aliases(grads, upstream, given)
        audits.append(Audit(not unchanged(tuple(upstream_given), upstream),
                            not unchanged(snapshot, cache), found.aliases))
    return Evaluation((*firsts, cache_made), changed, tuple(backwards), tuple(audits))


def _guarded(run: Callable[[], Any], problem: str) -> Any:
    """``run()``, which runs methods of the user's objects (a cache's ``__deepcopy__``): what it
    raises becomes an ImplementationError saying ``problem``; a real Ctrl-C still stops."""
    since = interrupts()
    try:
        return run()
    except BaseException as exc:
        if real_interrupt(exc, since):
            raise KeyboardInterrupt from None
        raise ImplementationError(f"{problem} ({type(exc).__name__}: {text_of(exc)}): keep "
                                  f"arrays, numbers and tuples in it") from exc


def _aliases(grads: Any, upstream: Any, given: tuple[Any, ...]) -> Audit:
    """The gradients (a loss: its (loss, grads) pair's grads) that share memory with dout or an
    argument."""
    if upstream is None:  # a loss: the gradients are the second of its pair
        grads = grads[1] if isinstance(grads, (tuple, list)) and len(grads) == 2 else ()
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    found: list[tuple[int, str | int]] = []
    for i, grad in enumerate(grads):
        if not isinstance(grad, np.ndarray):
            continue
        if upstream is not None and any(np.shares_memory(grad, d) for d in upstream):
            found.append((i, "dout"))
            continue
        for position, arg in enumerate(given):
            if any(np.shares_memory(grad, a) for a in arrays_in(arg)):
                found.append((i, position))
                break
    return Audit(aliases=tuple(found))


def unchanged(before: Any, after: Any) -> bool:
    """Whether ``after`` holds what ``before`` held: arrays by value, containers by structure,
    other objects by their own ``__eq__`` when they define one (and it answers), else by their
    attributes (``vars``), as the sandbox's fingerprint of a cache sees them; no ``__len__`` or
    ``__getitem__`` of a container subclass runs. A value that cannot be compared at all counts
    as changed."""
    since = interrupts()
    try:
        return _same(before, after)
    except BaseException as exc:
        if real_interrupt(exc, since):
            raise KeyboardInterrupt from None
        return False


def _same_array(before: np.ndarray, after: np.ndarray) -> bool:
    """Equal values, NaN equal to NaN. Floats are first compared by their bits (an untouched
    array, the usual case, in one pass: ``equal_nan`` costs 7× that on a 1024 × 1024 array);
    differing bits are then compared as values (-0.0 equals 0.0)."""
    before, after = np.ndarray.view(before, np.ndarray), np.ndarray.view(after, np.ndarray)
    if before.dtype.kind == "f" and before.dtype.itemsize in (2, 4, 8):
        bits = f"u{before.dtype.itemsize}"
        if np.array_equal(before.view(bits), after.view(bits)):
            return True
    return np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")


def _same(before: Any, after: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:  # deeper than the sandbox's fingerprint looks
        return True
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape
                and before.dtype == after.dtype and _same_array(before, after))
    if type(before) is not type(after):
        return False
    if isinstance(before, dict):
        return (before.keys() == after.keys()
                and all(_same(before[k], after[k], depth + 1) for k in before))
    if isinstance(before, (tuple, list)):
        base = tuple if isinstance(before, tuple) else list
        return (base.__len__(before) == base.__len__(after)
                and all(_same(base.__getitem__(before, i), base.__getitem__(after, i), depth + 1)
                        for i in range(base.__len__(before))))
    if type(before) in _COMPARABLE or isinstance(before, np.generic):
        return bool(before == after) or (before != before and after != after)  # NaN
    if before is after:
        return True
    if type(before).__eq__ is not object.__eq__:  # its own equality (a sandbox's cache handle
        try:  # compares the fingerprints of its contents)
            return bool(before == after)
        except Exception:  # e.g. a SimpleNamespace of arrays: compared by its attributes below
            pass
    attributes = getattr(before, "__dict__", None)
    if type(attributes) is dict and type(getattr(after, "__dict__", None)) is dict:
        return _same(attributes, after.__dict__, depth + 1)
    return False


#: Types compared with ``==``: their equality is the builtin one.
_COMPARABLE = (int, float, complex, str, bytes, bool, type(None), range, slice)


def arrays_in(value: Any):
    """Every ndarray inside nested tuples, lists and dicts."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from arrays_in(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from arrays_in(item)


def forward_result(layer: Layer, evaluation: Evaluation) -> tuple[tuple[Any, ...], Any]:
    """The forward's (outputs, second) as returned (see ``returned``); ImplementationError if it
    raised or returned something else."""
    if isinstance(evaluation.forward, ImplementationError):
        raise evaluation.forward
    return returned(layer, evaluation.forward)


def outputs_of(layer: Layer, evaluation: Evaluation) -> tuple[np.ndarray, ...]:
    """The forward's outputs (the loss, for a loss) as float64 arrays."""
    outputs, _ = forward_result(layer, evaluation)
    return output_arrays(layer, outputs)


def backward_result(layer: Layer, evaluation: Evaluation, k: int = 0) -> Any:
    """What the backward returned for the k-th douts (a loss's own gradients), as returned."""
    _, second = forward_result(layer, evaluation)
    if layer.is_loss:
        return second
    if k >= len(evaluation.backwards):
        raise ImplementationError(f"{layer.backward_name} was not called (no cache)")
    raw = evaluation.backwards[k]
    if isinstance(raw, ImplementationError):
        raise raw
    return raw


def gradients_of(layer: Layer, evaluation: Evaluation, k: int = 0) -> tuple[np.ndarray, ...]:
    """The gradients for the k-th douts, one float64 array per differentiable argument."""
    return grads_of(layer, backward_result(layer, evaluation, k))


def evaluate(
    layer: Layer, impl: Implementation, args: tuple[Any, ...], dout: Any
) -> tuple[Any, tuple[np.ndarray, ...]]:
    """The implementation's output and gradients for one example (forward then backward on
    dout). Output and dout have the twin's structure, as in ``autodiff.reference_vjp``: an
    array, or a tuple with one array per output; dout is None for a loss."""
    douts = [] if layer.is_loss else [dout if isinstance(dout, tuple) else (dout,)]
    (evaluation,) = evaluations(layer, impl, [(args, douts)])
    outputs = outputs_of(layer, evaluation)
    return (outputs[0] if len(outputs) == 1 else outputs), gradients_of(layer, evaluation)
