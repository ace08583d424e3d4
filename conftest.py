"""pytest set-up of bpcheck's own suite: hypothesis profiles, and the fixtures its tests share.

The options ``--bpcheck-impl FILE`` and ``--bpcheck-tier`` and the ``bpcheck_layer``
parametrization come from bpcheck's pytest plugin (``bpcheck.pytest_plugin``, installed with the
package), as they do in any project. JAX is not imported here at module level: the engine modules
that use it import ``bpcheck.jaxsetup`` first (float64 before any JAX array), and the xdist
controller never needs it.
"""

import pytest

from bpcheck import profiles

profiles.load()


@pytest.fixture(scope="session")
def target(bpcheck_target):
    """The implementation the property tests verify (manual/, or --bpcheck-impl FILE) and its
    problems."""
    return bpcheck_target.impl, bpcheck_target.problems


@pytest.fixture(scope="session")
def tier(bpcheck_tier):
    """The precision tier the property battery runs in (``--bpcheck-tier``; see
    ``bpcheck.tiers``); "both" runs float64 here."""
    return "float64" if bpcheck_tier == "both" else bpcheck_tier


@pytest.fixture(scope="session")
def impl():
    """manual/, for the tests of the checker itself (they plant bugs into copies of it)."""
    import manual
    from bpcheck.implementation import Implementation

    return Implementation.from_module(manual)


#: Tests marked ``e2e`` (slower than the default run can afford: an install from the package
#: index) run only when this variable is 1; .ci/run sets it.
E2E_VARIABLE = "BPCHECK_E2E"


def pytest_configure(config):
    config.addinivalue_line("markers", f"e2e: end to end, slow; runs when {E2E_VARIABLE}=1")


def pytest_collection_modifyitems(config, items):
    import os

    if os.environ.get(E2E_VARIABLE) == "1":
        return
    skip = pytest.mark.skip(reason=f"end to end and slow: runs with {E2E_VARIABLE}=1 (.ci/run "
                                   f"sets it)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
