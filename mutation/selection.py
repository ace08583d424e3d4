"""Which tests a mutant of a manual/ function runs, and a cross-check of that against the registry.

mutmut runs every test of ``workspace.TEST_FILES`` once with manual/ instrumented and records, per
function, the tests that called it; a mutant then runs only those tests. That mapping is traced,
so it also holds indirect callers (a mutant of ``affine_backward`` runs the MLP's and the two-layer
net's battery too). ``expected_tests`` states the part of it the registry implies — each record's
protocol functions are called by its own battery test, ``test_battery[<record>]`` — and ``gaps``
lists where the traced mapping misses it, which would mean mutants judged by too few tests.
"""

from __future__ import annotations

import json
from pathlib import Path

BATTERY = "tests/test_properties.py::test_battery[{}]"


def expected_tests() -> dict[str, set[str]]:
    """manual function name → the test node ids the registry says must call it."""
    from bpcheck.registry import REGISTRY

    expected: dict[str, set[str]] = {}
    for layer in REGISTRY:
        for function in layer.functions:
            expected.setdefault(function, set()).add(BATTERY.format(layer.name))
    return expected


def traced_tests(stats_file: Path) -> dict[str, set[str]]:
    """manual function name → the test node ids mutmut saw calling it (from mutmut-stats.json)."""
    data = json.loads(stats_file.read_text("utf-8"))
    traced: dict[str, set[str]] = {}
    for mangled, tests in data["tests_by_mangled_function_name"].items():
        function = mangled.rpartition(".x_")[2]
        traced.setdefault(function, set()).update(tests)
    return traced


def gaps(stats_file: Path) -> list[str]:
    """'function: test' for every registry-implied test the trace lacks (empty when none)."""
    traced = traced_tests(stats_file)
    return sorted(f"{function}: {test}" for function, tests in expected_tests().items()
                  for test in tests - traced.get(function, set()))
