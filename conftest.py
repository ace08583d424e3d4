"""pytest set-up: hypothesis profiles and the implementation under test.

JAX is not imported here: the engine modules that use it import ``bpcheck.jaxsetup`` first
(float64 before any JAX array), and the xdist controller process never needs JAX at all.
"""

import pytest

from bpcheck import profiles

profiles.load()


@pytest.fixture(scope="session")
def impl():
    """The implementation the property tests verify: manual/."""
    import manual
    from bpcheck.implementation import Implementation

    return Implementation.from_module(manual)
