"""Examples for the benchmarks: one random shape as a peer's user draws it, or a given shape.

Both reuse the registry's samplers (the forward's arguments in order) with dimensions chosen here
instead of bpcheck's pools. Shape letters: N batch, D input features, M output features, C
classes, H hidden units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpcheck.autodiff import output_shape
from bpcheck.layer import Layer
from bpcheck.registry import layer_named
from bpcheck.sampling import Dims, Draw, Sizes, Values
from bpcheck.battery.example import Example

#: A peer's user draws each size uniformly from this range (the cs231n notebooks use sizes
#: 2–10 with scale-1 normal values, and batchnorm in train mode).
PEER_SIZES = (2, 10)


class PlainValues(Values):
    """Values as a user draws them: standard normal (no nearly-constant columns), the first
    option of a choice (batchnorm's 'train' mode)."""

    def nearly_constant(self, shape: tuple[int, ...], *, axis: int) -> np.ndarray:
        return self.real(shape)

    def choice(self, options: tuple[Any, ...]) -> Any:
        return options[0]


def _affine_image_args(n: int, d1: int, d2: int, m: int, values: Values) -> tuple[np.ndarray, ...]:
    """x: (N, d1, d2) — the cs231n affine layer flattens image-shaped input; w: (d1·d2, M); b: (M,)."""
    return values.real((n, d1, d2)), values.real((d1 * d2, m)), values.real((m,))


def peer_example(layer: Layer, seed: int) -> tuple[tuple[Any, ...], np.ndarray | None]:
    """One random shape and its values, the same for every peer with this seed: (args, dout)."""
    rng = np.random.default_rng(seed)
    low, high = PEER_SIZES
    n, d, m, c = (int(v) for v in rng.integers(low, high + 1, size=4))
    dims = Dims(n=n, d=d, m=m, c=c, trailing=(d,), split=False)
    if layer.dims is not None:  # a record with dimensions of its own (conv, rnn, the models):
        # the simplest of its pools, at the drawn batch size
        from hypothesis import find

        dims = Sizes({**find(layer.dims, lambda _: True), "n": n})
    values = PlainValues(Draw(dims, 1.0, False, seed))
    if layer.name == "affine":
        args = _affine_image_args(n, 2, max(1, d // 2), m, values)
    else:
        args = tuple(layer.sample(dims, values))
    dout = None if layer.is_loss else values.real(output_shape(layer, args), scaled=False)
    return args, dout


def _mlp_args(sizes: tuple[int, ...], n: int, values: Values) -> tuple[Any, ...]:
    """A 3-layer MLP (relu, relu, softmax loss): θ packs W1, b1, W2, b2, W3, b3, scaled by
    1/√fan-in so the scores stay O(1); X: (N, D); y: (N,) labels."""
    parts = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        parts.append(values.real((fan_in, fan_out), scaled=False).ravel() / np.sqrt(fan_in))
        parts.append(values.real((fan_out,), scaled=False))
    theta = np.concatenate(parts)
    activations = ("relu",) * (len(sizes) - 2)
    return (theta, values.real((n, sizes[0])), values.labels(n, sizes[-1]), tuple(sizes),
            activations, "softmax_loss")


def example_at(layer_name: str, shape: dict[str, Any], seed: int = 0) -> Example:
    """The layer's example at a given shape: ``shape`` holds n and d, m (affine), c (losses) or
    sizes (mlp_loss: (D, H, H, C)). Values standard normal; batchnorm in train mode."""
    layer = layer_named(layer_name)
    dims = Dims(n=shape["n"], d=shape.get("d", 1), m=shape.get("m", 1), c=shape.get("c", 1),
                trailing=(shape.get("d", 1),), split=False)
    draw = Draw(dims, 1.0, False, seed)
    values = PlainValues(draw)
    if layer_name == "mlp_loss":
        args = _mlp_args(shape["sizes"], shape["n"], values)
    else:
        args = tuple(layer.sample(dims, values))
    dout = None if layer.is_loss else values.real(output_shape(layer, args), scaled=False)
    return Example(layer.name, args, dout, draw)


def differentiable_entries(layer: Layer, args: tuple[Any, ...]) -> int:
    """P: entries of the arguments that get a gradient (what a full Jacobian check perturbs)."""
    return sum(int(np.size(args[p])) for p in layer.differentiable)


def describe_shape(layer_name: str, shape: dict[str, Any]) -> str:
    if layer_name == "mlp_loss":
        return f"N={shape['n']}, sizes {'-'.join(map(str, shape['sizes']))}"
    letters = {"affine": "ndm", "softmax_loss": "nc", "batchnorm": "nd"}.get(layer_name, "nd")
    return "(" + ", ".join(f"{k.upper()}={shape[k]}" for k in letters) + ")"
