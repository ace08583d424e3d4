"""The reference side: forward values and VJPs of a layer's JAX twin, compiled once per shape.

Arguments are pytrees (arrays, floats, dicts such as ``bn_param``). Their leaves are split in two:
arrays and floats are traced (so a new ``alpha`` or new values never recompile), while strings,
ints, bools and None are baked into the program (``mode='train'``). A compiled program is kept per
(twin, argument structure, static leaves); ``jax.jit`` then keeps one executable per shape, and the
persistent cache set up in ``jaxsetup`` keeps them across runs.

Gradients here always come from ``jax.vjp``; nothing in this module is a hand-written derivative.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Hashable

import numpy as np

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

    if kind == "forward":

        def program(dynamic):
            return reference(*rebuild(dynamic))

    else:

        def program(dynamic, dout):
            args = rebuild(dynamic)

            def at(*primals):
                full = list(args)
                for position, primal in zip(differentiable, primals):
                    full[position] = primal
                return reference(*full)

            out, pullback = jax.vjp(at, *(args[p] for p in differentiable))
            return out, pullback(dout)

    program = jax.jit(program)
    _PROGRAMS[key] = program
    return program


def reference_vjp(
    layer: Layer, args: tuple[Any, ...], dout: np.ndarray | float | None
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The twin's output and ``jax.vjp`` of it against dout (1.0 for a loss)."""
    treedef, static, dynamic = _split(args)
    cotangent = np.float64(1.0) if dout is None else np.asarray(dout, dtype=np.float64)
    out, grads = _program(layer, treedef, static, "vjp")(dynamic, cotangent)
    return np.asarray(out), tuple(np.asarray(g) for g in grads)


def expected(layer: Layer, example: Any) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """``reference_vjp`` at an example's own arguments and dout, computed once per example (the
    forward, vjp and finite-difference checks all need it) and read-only."""
    cached = example.__dict__.get("_expected")
    if cached is None:
        out, grads = reference_vjp(layer, example.args, example.dout)
        for array in (out, *grads):
            array.flags.writeable = False
        cached = (out, grads)
        object.__setattr__(example, "_expected", cached)
    return cached


def reference_forward(layer: Layer, args: tuple[Any, ...]) -> np.ndarray:
    """The twin's output alone (used when an implementation's own forward cannot be trusted)."""
    treedef, static, dynamic = _split(args)
    return np.asarray(_program(layer, treedef, static, "forward")(dynamic))


_SHAPES: dict[Hashable, tuple[int, ...]] = {}


def output_shape(layer: Layer, args: tuple[Any, ...]) -> tuple[int, ...]:
    """The twin's output shape, found by tracing (no compilation), cached per input shape."""
    treedef, static, dynamic = _split(args)
    key = (layer.reference, treedef, static, tuple((a.shape, a.dtype.str) for a in dynamic))
    shape = _SHAPES.get(key)
    if shape is None:
        program = _program(layer, treedef, static, "forward")
        shape = tuple(jax.eval_shape(program, dynamic).shape)
        _SHAPES[key] = shape
    return shape
