"""The reference side: forward values and VJPs of a layer's JAX twin, compiled once per shape.

Arguments are pytrees (arrays, floats, dicts such as ``bn_param``). Their leaves are split in two:
arrays and floats are traced (so a new ``alpha`` or new values never recompile), while strings,
ints, bools and None are baked into the program (``mode='train'``). A traced program is kept per
(twin, argument structure, static leaves), and one executable of it per input shape: compiled
once per machine and loaded from ``bpcheck.programs`` in every later process (a twin that store
cannot name, a lambda or a user's own, is compiled in each process).

Gradients here always come from ``jax.vjp``; nothing in this module is a hand-written derivative.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Hashable

import numpy as np

from bpcheck import programs
from bpcheck.jaxsetup import jax

if TYPE_CHECKING:
    from bpcheck.layer import Layer

_DYNAMIC = (np.ndarray, np.generic, float, jax.Array)


def _is_dynamic(leaf: Any) -> bool:
    return isinstance(leaf, _DYNAMIC) and not isinstance(leaf, (bool, np.bool_))


def _as_float64(leaf: Any) -> np.ndarray:
    """A dynamic leaf as an array; a float32 (or narrower) one upcast exactly to float64, so that
    the float32 tier's examples are differentiated in float64 by the float64 tier's programs."""
    array = np.asarray(leaf)
    if np.issubdtype(array.dtype, np.floating) and array.dtype.itemsize < 8:
        return array.astype(np.float64)
    return array


def _split(args: tuple[Any, ...]):
    leaves, treedef = jax.tree_util.tree_flatten(args)
    static = tuple((i, leaf) for i, leaf in enumerate(leaves) if not _is_dynamic(leaf))
    dynamic = [_as_float64(leaf) for leaf in leaves if _is_dynamic(leaf)]
    return treedef, static, dynamic


_PROGRAMS: dict[Hashable, Callable[..., Any]] = {}


def _program(layer: Layer, treedef: Any, static: tuple, kind: str) -> Callable[..., Any]:
    key = (layer.reference, layer.differentiable, treedef, static, kind)
    program = _PROGRAMS.get(key)
    if program is not None:
        return program
    n_leaves = treedef.num_leaves
    fixed = dict(static)
    reference, differentiable = layer.reference, layer.differentiable

    def rebuild(dynamic):
        values = iter(dynamic)
        leaves = [fixed[i] if i in fixed else next(values) for i in range(n_leaves)]
        return list(jax.tree_util.tree_unflatten(treedef, leaves))

    def at(args, primals):
        """The twin with the differentiable arguments replaced by ``primals``."""
        full = list(args)
        for position, primal in zip(differentiable, primals):
            full[position] = primal
        return reference(*full)

    if kind == "forward":

        def program(dynamic):
            return reference(*rebuild(dynamic))

    elif kind == "stacked":

        def program(dynamic, stacked):
            # One point after another (lax.map): vmap turns a convolution over stacked kernels
            # into a grouped one that XLA's CPU backend runs ~50x slower (a conv_relu_pool
            # stencil took 256 ms a call; sequential, 4.5 ms).
            args = rebuild(dynamic)
            return jax.lax.map(lambda primals: at(args, primals), tuple(stacked))

    else:

        def program(dynamic, dout):
            args = rebuild(dynamic)
            out, pullback = jax.vjp(lambda *primals: at(args, primals),
                                    *(args[p] for p in differentiable))
            return out, pullback(dout)

    program = jax.jit(program)
    _PROGRAMS[key] = program
    return program


def _avals(inputs: tuple[Any, ...]) -> tuple:
    """The shapes and dtypes of a program's inputs (arrays, or lists and tuples of arrays)."""
    return tuple(tuple((a.shape, a.dtype.str) for a in x) if isinstance(x, (list, tuple))
                 else (x.shape, x.dtype.str) for x in inputs)


_EXECUTABLES: dict[Hashable, Callable[..., Any]] = {}


def _run(layer: Layer, treedef: Any, static: tuple, kind: str, *inputs: Any) -> Any:
    """The program of ``kind`` on ``inputs``, compiled for their shapes once per process: loaded
    from the machine's store (``bpcheck.programs``) when it is there, else traced, compiled and
    stored."""
    avals = _avals(inputs)
    key = (layer.reference, layer.differentiable, treedef, static, kind, avals)
    executable = _EXECUTABLES.get(key)
    if executable is not None:
        return executable(*inputs)
    twin = programs.twin_name(layer.reference)
    stored = None if twin is None else programs.key(
        (layer.name, twin, layer.differentiable, str(treedef), static, kind, avals))
    executable = programs.load_executable(stored)
    if executable is not None:
        try:  # its first answer, materialised: an entry that loads but cannot run fails here
            result = jax.block_until_ready(executable(*inputs))
            _EXECUTABLES[key] = executable
            return result
        except jax.errors.JaxRuntimeError:  # compiled again below, and replaced
            pass
    lowered = _program(layer, treedef, static, kind).lower(*inputs)
    executable = programs.compile_storable(lowered) if stored else lowered.compile()
    programs.save_executable(stored, executable)
    _EXECUTABLES[key] = executable
    return executable(*inputs)


# Fewer shapes, fewer compilations. A layer's reference is computed on padded arguments where
# padding provably changes nothing: an elementwise layer (``Layer.elementwise``) on its entries
# flattened and zero-padded; a layer whose rows are independent (``Layer.batched``; not a loss,
# whose mean couples them) on its batch padded with zero rows, whose dout is zero, so that they
# add exactly zero to every parameter gradient; finite differences' points padded with copies of
# one of them, whose values are dropped. Each size goes up to a power of two, at least:
#: entries of an elementwise input (every input of the default strategies fits: one program)
BUCKET_MIN = 64
#: rows of a batch (the default batch sizes 1 and 5 share one program)
ROWS_MIN = 8
#: points evaluated at once by finite differences (4 per direction, at most 13 directions: 52):
#: every count shares one program when the points hold at most POINTS_BUDGET floats in all
POINTS_MIN = 64
POINTS_BUDGET = 2**20


def _bucket(size: int, least: int) -> int:
    return max(least, 1 << max(size - 1, 0).bit_length())


def _padded(values: Any) -> np.ndarray:
    """The entries of ``values``, flattened and zero-padded to their bucket."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    padded = np.zeros(_bucket(flat.size, BUCKET_MIN))
    padded[:flat.size] = flat
    return padded


def _batch_padded(layer: Layer, args: tuple[Any, ...]) -> tuple[tuple[Any, ...], int, int]:
    """``args`` with each batched argument padded to its bucket of rows; the batch size N and
    that bucket."""
    n = np.shape(args[layer.batched[0]])[0]
    rows = _bucket(n, ROWS_MIN)
    return tuple(_padded_rows(a, rows) if p in layer.batched else a
                 for p, a in enumerate(args)), n, rows


def _padded_rows(values: Any, rows: int) -> np.ndarray:
    """``values`` with zero rows appended along axis 0, up to ``rows``."""
    values = np.asarray(values)
    padded = np.zeros((rows, *values.shape[1:]), dtype=values.dtype)
    padded[:len(values)] = values
    return padded


def _unpadded(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(values)[:int(np.prod(shape))].reshape(shape)


def _cotangent(dout: Any) -> Any:
    """dout as float64 arrays, in the twin's output structure (a tuple for several outputs)."""
    if dout is None:
        return np.float64(1.0)
    if isinstance(dout, tuple):
        return tuple(np.asarray(d, dtype=np.float64) for d in dout)
    return np.asarray(dout, dtype=np.float64)


def _rows(values: Any, n: int) -> Any:
    """The first n rows of an output (of each, for several)."""
    if isinstance(values, (tuple, list)):
        return tuple(np.asarray(v)[:n] for v in values)
    return np.asarray(values)[:n]


def _arrays(values: Any) -> Any:
    if isinstance(values, (tuple, list)):
        return tuple(np.asarray(v) for v in values)
    return np.asarray(values)


def reference_vjp(
    layer: Layer, args: tuple[Any, ...], dout: Any
) -> tuple[Any, tuple[np.ndarray, ...]]:
    """The twin's output and ``jax.vjp`` of it against dout (1.0 for a loss). Output and dout
    share the twin's structure: an array, or a tuple with one array per output (``outputs``).
    ``args`` are the twin's: a random layer's end with its observed choices."""
    cotangent = _cotangent(dout)
    if layer.elementwise:  # padded entries have a zero dout: they change no gradient
        shape = np.shape(args[0])
        out, (dx,) = _vjp(layer, (_padded(args[0]), *args[1:]), _padded(cotangent))
        return _unpadded(out, shape), (_unpadded(dx, shape),)
    if layer.independent_rows:  # zero rows with a zero dout change no gradient
        padded, n, rows = _batch_padded(layer, args)
        cotangent = (tuple(_padded_rows(c, rows) for c in cotangent)
                     if isinstance(cotangent, tuple) else _padded_rows(cotangent, rows))
        out, grads = _vjp(layer, padded, cotangent)
        return _rows(out, n), tuple(np.asarray(g)[:n] if p in layer.batched else np.asarray(g)
                                    for p, g in zip(layer.differentiable, grads))
    out, grads = _vjp(layer, args, cotangent)
    return _arrays(out), tuple(np.asarray(g) for g in grads)


def _vjp(layer: Layer, args: tuple[Any, ...], cotangent: np.ndarray):
    treedef, static, dynamic = _split(args)
    return _run(layer, treedef, static, "vjp", dynamic, cotangent)


def reference_forward(layer: Layer, args: tuple[Any, ...]) -> Any:
    """The twin's output alone (a tuple for several outputs)."""
    treedef, static, dynamic = _split(args)
    return _arrays(_run(layer, treedef, static, "forward", dynamic))


def reference_forward_stacked(layer: Layer, args: tuple[Any, ...],
                              stacked: list[np.ndarray]) -> np.ndarray:
    """The twin's outputs at many points in one call: ``stacked[i]`` is (K, *shape of the i-th
    differentiable argument), the other arguments are ``args``'; the result is (K, *out shape)
    (a tuple of those, for several outputs).
    One program per shape and K (finite differences keep K a function of the shape)."""
    if layer.elementwise:  # the points' entries, side by side, are one elementwise input
        (points,) = stacked
        out = reference_forward(layer, (_padded(points), *args[1:]))
        return _unpadded(out, points.shape)
    # K goes up to its bucket with copies of the first point; a row-independent layer's batch
    # (axis 1 of a stacked argument) gets zero rows, as in ``reference_vjp``.
    k = len(stacked[0])
    entries = sum(int(np.prod(np.shape(points)[1:])) for points in stacked)
    extra = _bucket(k, POINTS_MIN if POINTS_MIN * entries <= POINTS_BUDGET else 1) - k
    stacked = [np.concatenate([points, np.repeat(points[:1], extra, axis=0)]) for points in stacked]
    n = None
    if layer.independent_rows:
        args, n, rows = _batch_padded(layer, args)
        stacked = [np.stack([_padded_rows(point, rows) for point in points])
                   if p in layer.batched else points
                   for p, points in zip(layer.differentiable, stacked)]
    treedef, static, dynamic = _split(args)
    out = _run(layer, treedef, static, "stacked", dynamic, stacked)
    if isinstance(out, (tuple, list)):
        return tuple(np.asarray(o)[:k] if n is None else np.asarray(o)[:k, :n] for o in out)
    out = np.asarray(out)[:k]
    return out if n is None else out[:, :n]


_SHAPES: dict[Hashable, tuple[int, ...]] = {}


def output_shape(layer: Layer, args: tuple[Any, ...]) -> Any:
    """The twin's output shape (a tuple of shapes for several outputs), found by tracing (no
    compilation), cached per input shape."""
    if layer.elementwise:
        return tuple(np.shape(args[0]))
    treedef, static, dynamic = _split(args)
    key = (layer.reference, treedef, static, tuple((a.shape, a.dtype.str) for a in dynamic))
    shape = _SHAPES.get(key)
    if shape is None:
        twin = programs.twin_name(layer.reference)
        stored = None if twin is None else programs.key(
            (layer.name, twin, str(treedef), static, "shape", _avals((dynamic,))))
        shape = programs.load_value(stored)
        if shape is None:
            program = _program(layer, treedef, static, "forward")
            traced = jax.eval_shape(program, dynamic)
            shape = (tuple(tuple(t.shape) for t in traced) if isinstance(traced, (tuple, list))
                     else tuple(traced.shape))
            programs.save_value(stored, shape)
        _SHAPES[key] = shape
    return shape
