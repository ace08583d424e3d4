"""One drawn example: a layer's arguments and upstream gradient, built from a ``Draw``.

An example is rebuilt exactly from its layer's name and its ``Draw`` (``rebuild``), which is what a
failure report prints. The strategy ``examples(layer, tier)`` is what hypothesis draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpcheck.autodiff import output_shape
from bpcheck.layer import Layer
from bpcheck.registry import layer_named
from bpcheck.sampling import Draw, Values, draws
from bpcheck.tiers import in_tier
from bpcheck.tolerances import FLOAT32, Tolerance


@dataclass(frozen=True, eq=False)
class Example:
    """One drawn case: the forward's arguments and, for layers, the upstream gradient dout (a
    tuple, one per output, for a layer with several; None for a loss)."""

    layer: str
    args: tuple[Any, ...]
    dout: np.ndarray | tuple[np.ndarray, ...] | None
    draw: Draw

    @property
    def douts(self) -> tuple[np.ndarray, ...]:
        """The upstream gradients as the backward takes them: one per output (none for a loss)."""
        if self.dout is None:
            return ()
        return self.dout if isinstance(self.dout, tuple) else (self.dout,)

    def shapes(self) -> str:
        parts = [_describe(a) for a in self.args]
        text = f"{self.layer}({', '.join(parts)})"
        if self.douts:
            text += ", dout " + ", ".join(str(tuple(d.shape)) for d in self.douts)
        return text

    def reproduce(self) -> str:
        """A Python expression that rebuilds this exact example."""
        return f"bpcheck.rebuild({self.layer!r}, {self.draw!r})"

    def __repr__(self) -> str:
        style = f"scale={self.draw.scale:g}" + (", with exact zeros" if self.draw.zeros else "")
        style += "" if self.draw.tier == "float64" else f", {self.draw.tier} tier"
        return f"<{self.shapes()}; {style}; seed={self.draw.seed}>"


def _describe(arg: Any) -> str:
    if isinstance(arg, np.ndarray):
        kind = "" if arg.dtype == np.float64 else f" {arg.dtype}"
        return f"{tuple(arg.shape)}{kind}"
    if isinstance(arg, dict):
        inner = ", ".join(
            f"{k}={v!r}" if not isinstance(v, np.ndarray) else f"{k}={tuple(v.shape)}"
            for k, v in arg.items()
        )
        return "{" + inner + "}"
    return repr(arg)


def build_example(layer: Layer, draw: Draw) -> Example:
    """Arguments from the layer's sampler, then dout shaped like the reference output (one per
    output); in the float32 tier both are then rounded to float32 (``tiers.in_tier``)."""
    values = Values(draw)
    args = tuple(layer.sample(draw.dims, values))
    dout = None
    if not layer.is_loss:
        shape = output_shape(layer, layer.twin_args(args))
        dout = (values.real(shape, scaled=False) if len(layer.outputs) == 1 else
                tuple(values.real(s, scaled=False) for s in shape))
    return Example(layer.name, in_tier(args, draw.tier), in_tier(dout, draw.tier), draw)


#: The records checked in this process, by name: a report's reproduce line names its layer, and
#: a record the registry does not hold (``check_pair``'s, a file's own) is found here; the latest
#: of a name wins.
_CHECKED: dict[str, Layer] = {}


def remember(layer: Layer) -> None:
    """Let ``rebuild`` find this record by its name (``run_target`` tells it every layer)."""
    _CHECKED[layer.name] = layer


def rebuild(layer_name: str, draw: Draw) -> Example:
    """Rebuild the example a failure report printed (see ``Example.reproduce``; the tier is part
    of ``draw``): of the layer of that name checked last in this process, else the registry's."""
    layer = _CHECKED.get(layer_name)
    return build_example(layer if layer is not None else layer_named(layer_name), draw)


@cache
def examples(layer: Layer, tier: str = "float64") -> st.SearchStrategy[Example]:
    """Examples for one layer record in one tier: its arguments and upstream gradient (the
    strategy is built once per layer and tier)."""
    return draws(magnitudes=layer.magnitudes, tier=tier, dims=layer.dimensions).map(
        lambda d: build_example(layer, d))


def tolerance_for(layer: Layer, example: Example) -> Tolerance:
    """The analytic tolerance for one example: the layer's own in the float64 tier, ``FLOAT32``
    in the float32 tier."""
    return FLOAT32 if example.draw.tier == "float32" else layer.tolerance
