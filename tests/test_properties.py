"""Every check of the battery over every layer of the registry, driven by hypothesis.

No per-layer test code: a layer added to the registry gets every applicable check. Tests are
grouped by layer so that pytest-xdist keeps a layer's compiled JAX shapes on one worker.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpcheck.checks import checks_for
from bpcheck.findings import enforce
from bpcheck.registry import REGISTRY
from bpcheck.strategies import examples

CASES = [
    pytest.param(layer, check, id=f"{layer.name}-{check.name}",
                 marks=pytest.mark.xdist_group(layer.name))
    for layer in REGISTRY
    for check in checks_for(layer)
]


@pytest.mark.parametrize("layer, check", CASES)
@given(data=st.data())
def test_property(layer, check, impl, data):
    example = data.draw(examples(layer), label="example")
    enforce(check(layer, impl, example))
