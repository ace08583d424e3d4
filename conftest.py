"""pytest set-up: hypothesis profiles, the implementation under test, ``--impl FILE``, ``--tier``.

JAX is not imported here at module level: the engine modules that use it import
``bpcheck.jaxsetup`` first (float64 before any JAX array), and the xdist controller never needs it.
"""

import pytest

from bpcheck import profiles

profiles.load()


def pytest_addoption(parser):
    parser.addoption("--impl", metavar="FILE", default=None,
                     help="run the property tests (tests/test_properties.py) against this "
                          "layers.py instead of manual/")
    parser.addoption("--tier", choices=("float64", "float32"), default="float64",
                     help="precision tier of the property battery (tests/test_properties.py's "
                          "test_battery): float64 inputs (default) or float32 inputs with "
                          "float32 tolerances")


def _target(config):
    """(implementation, layers, problems) under test, loaded once per process."""
    if not hasattr(config, "_bpcheck_target"):
        path = config.getoption("--impl")
        if path is None:
            import manual
            from bpcheck.implementation import Implementation
            from bpcheck.registry import REGISTRY

            config._bpcheck_target = (Implementation.from_module(manual), REGISTRY, {})
        else:
            from bpcheck.loader import LoadError, load

            try:
                loaded = load(path)
            except LoadError as exc:
                raise pytest.UsageError(f"--impl: {exc}") from None
            config._bpcheck_target = (loaded.impl, loaded.layers, loaded.problems)
    return config._bpcheck_target


def pytest_configure(config):
    if config.getoption("--impl"):
        _target(config)  # a broken file is reported once, before any test runs


def pytest_generate_tests(metafunc):
    if "layer" in metafunc.fixturenames and "target" in metafunc.fixturenames:
        _, layers, _ = _target(metafunc.config)
        metafunc.parametrize("layer", [
            pytest.param(layer, id=layer.name, marks=pytest.mark.xdist_group(name=layer.name))
            for layer in layers
        ])


@pytest.fixture(scope="session")
def target(request):
    """The implementation the property tests verify (manual/, or --impl FILE) and its problems."""
    impl, _, problems = _target(request.config)
    return impl, problems


@pytest.fixture(scope="session")
def tier(request):
    """The precision tier the property battery runs in (``--tier``; see ``bpcheck.tiers``)."""
    return request.config.getoption("--tier")


@pytest.fixture(scope="session")
def impl():
    """manual/, for the tests of the checker itself (they plant bugs into copies of it)."""
    import manual
    from bpcheck.implementation import Implementation

    return Implementation.from_module(manual)
