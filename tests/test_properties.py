"""The battery over every layer of the registry, driven by hypothesis.

No per-layer test code: a layer added to the registry gets every applicable check (conftest.py
parametrizes ``layer``). Each drawn example goes through the whole battery (forward, vjp, finite
differences, shapes, no mutation, linearity, batch consistency — ``bpcheck.checks.BATTERY``), so
every property sees the profile's number of examples per layer; a failure reports every check
that failed on the smallest example hypothesis found.

``pytest --impl path/to/layers.py`` runs this file against a user's implementation: functions the
file does not define are skipped, functions it defines but that cannot be called as the protocol
says fail with the reason.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpcheck.findings import enforce
from bpcheck.plugin import checks_available
from bpcheck.checks import run_battery
from bpcheck.strategies import examples


@given(data=st.data())
def test_battery(layer, target, data):
    impl, problems = target
    for name in layer.functions:
        if name in problems:
            pytest.fail(problems[name], pytrace=False)
    checks = checks_available(layer, impl, problems)
    if not checks:
        pytest.skip(f"{', '.join(layer.functions)} not defined in {impl.label}")
    example = data.draw(examples(layer), label="example")
    enforce(run_battery(layer, impl, example, checks))
