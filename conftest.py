"""pytest set-up: float64 JAX before anything else, hypothesis profiles, the implementation under test."""

import bpcheck.jaxsetup  # noqa: F401  (must come first: jax_enable_x64 before any JAX array)
import manual
import pytest

from bpcheck import profiles
from bpcheck.implementation import Implementation

profiles.load()


@pytest.fixture(scope="session")
def impl() -> Implementation:
    """The implementation the property tests verify: manual/."""
    return Implementation.from_module(manual)
