"""The battery over every layer of the registry, driven by hypothesis.

No per-layer test code: a layer added to the registry gets every applicable check. Each drawn
example goes through the whole battery (forward, vjp, finite differences, shapes, no mutation,
linearity, batch consistency — see ``bpcheck.checks.BATTERY``), so that every property sees the
profile's number of examples per layer; a failure reports every check that failed on the smallest
example hypothesis found.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpcheck.checks import run_battery
from bpcheck.findings import enforce
from bpcheck.registry import REGISTRY
from bpcheck.strategies import examples


@pytest.mark.parametrize("layer", [
    pytest.param(layer, id=layer.name, marks=pytest.mark.xdist_group(name=layer.name))
    for layer in REGISTRY
])
@given(data=st.data())
def test_battery(layer, impl, data):
    example = data.draw(examples(layer), label="example")
    enforce(run_battery(layer, impl, example))
