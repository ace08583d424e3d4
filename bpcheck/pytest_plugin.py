"""bpcheck's pytest plugin, registered by the ``pytest11`` entry point: any project that installs
bpcheck can run the battery on its own layers from its own test suite.

    pytest --bpcheck-impl path/to/layers.py [--bpcheck-tier float32] [--bpcheck-examples 50]

adds one test per layer the file defines (``bpcheck[layers.py::affine]``), each running every
check of the battery on it and failing with bpcheck's report. A suite that drives the battery
itself (its tests take the ``bpcheck_layer`` fixture, parametrized here over the target's layers)
gets no extra tests. Fixtures: ``bpcheck_target`` (the file's implementation and layers, or
manual/ without the option) and ``bpcheck_tier``.

Heavy imports (JAX, the battery) wait until a test needs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIER_CHOICES = ("float64", "float32", "both")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bpcheck", "bpcheck: hand-derived backprop against JAX")
    group.addoption("--bpcheck-impl", metavar="FILE", default=None,
                    help="check the layers this cs231n-style file defines (one test per layer)")
    group.addoption("--bpcheck-tier", choices=TIER_CHOICES, default="float64",
                    help="precision tier of the battery (default float64)")
    group.addoption("--bpcheck-numpy-aliases", action="store_true", default=False,
                    help="with --bpcheck-impl: give NumPy back the aliases 1.24 removed (np.int, "
                         "np.float, …), each the builtin it was, for a course that still uses them")
    group.addoption("--bpcheck-examples", type=int, default=None, metavar="N",
                    help="examples per layer for the tests --bpcheck-impl adds (default: the "
                         "hypothesis profile's)")


def _target(config: pytest.Config):
    """The implementation under test, loaded once per process; a file that cannot be loaded is a
    usage error, reported once."""
    if not hasattr(config, "_bpcheck_target"):
        from bpcheck.battery.target import target_of
        from bpcheck.loader import LoadError

        path = config.getoption("--bpcheck-impl")
        try:
            config._bpcheck_target = target_of(path, config.getoption("--bpcheck-numpy-aliases"))
        except LoadError as exc:
            raise pytest.UsageError(f"--bpcheck-impl: {exc}") from None
    return config._bpcheck_target


def pytest_report_header(config: pytest.Config) -> list[str]:
    """With --bpcheck-impl: what the file was loaded with (its stand-ins for modules not available
    here, the NumPy aliases restored)."""
    target = getattr(config, "_bpcheck_target", None)
    if target is None:
        return []
    from bpcheck.battery.verdict import Verdict

    notes = Verdict(target.label, [], stand_ins=target.stand_ins,
                    numpy_aliases=target.numpy_aliases).notes()
    return [f"bpcheck {note}" for note in notes]


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--bpcheck-impl"):
        _target(config)  # a broken file is reported once, before any test runs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bpcheck_layer" in metafunc.fixturenames:
        layers = _target(metafunc.config).layers
        metafunc.parametrize("bpcheck_layer", [
            pytest.param(layer, id=layer.name, marks=pytest.mark.xdist_group(name=layer.name))
            for layer in layers
        ])


@pytest.fixture(scope="session")
def bpcheck_target(request: pytest.FixtureRequest):
    """The implementation under test (``--bpcheck-impl FILE``, else bpcheck's manual/): a
    ``bpcheck.battery.target.Target`` with ``impl``, ``layers`` and ``problems``."""
    return _target(request.config)


@pytest.fixture(scope="session")
def bpcheck_tier(request: pytest.FixtureRequest) -> str:
    """The precision tier asked for (``--bpcheck-tier``)."""
    return request.config.getoption("--bpcheck-tier")


class LayerItem(pytest.Item):
    """One layer of the file under test through the whole battery."""

    def __init__(self, *, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer
        self.add_marker(pytest.mark.xdist_group(name=f"bpcheck-{layer.name}"))

    def runtest(self) -> None:
        from bpcheck.battery.target import run_target

        config = self.config
        tier = config.getoption("--bpcheck-tier")
        examples = config.getoption("--bpcheck-examples")
        if examples is None:
            from hypothesis import settings

            examples = settings().max_examples
        verdict = run_target(_target(config), examples=examples, only=[self.layer.name],
                             tiers=("float64", "float32") if tier == "both" else (tier,), jobs=1)
        if not verdict.passed:
            raise LayerFailed(verdict.report())

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, LayerFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"bpcheck {self.layer.name}"


class LayerFailed(AssertionError):
    """A layer's verdict failed; its message is bpcheck's report."""


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    path = config.getoption("--bpcheck-impl")
    if path is None or any("bpcheck_layer" in getattr(i, "fixturenames", ()) for i in items):
        return
    target = _target(config)
    defined = [layer for layer in target.layers
               if any(name in target.impl.functions for name in layer.functions)]
    file = Path(path).resolve()
    for layer in defined:
        items.append(LayerItem.from_parent(session, name=f"bpcheck[{file.name}::{layer.name}]",
                                           layer=layer, path=file))


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A test that passed leaves no failing examples for hypothesis' plugin to write a patch of:
    bpcheck's battery runs hypothesis inside the test, and the failures it finds there on
    purpose (a planted or a student's mistake) are the test's findings, not the test's own
    failure ("git apply .hypothesis/patches/…" was printed after every run). Innermost
    (trylast), so this runs before hypothesis' own wrapper reads them."""
    report = yield
    if report.when == "call" and report.passed and hasattr(item, "_hypothesis_failing_examples"):
        del item._hypothesis_failing_examples
    return report
