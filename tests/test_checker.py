"""The checker itself: each planted mistake is caught by the checks that exist to catch it,
and the report names the function, the check and a reproducible example."""

import pytest

from bpcheck.battery.checks import check_named
from bpcheck.registry import layer_named
from bpcheck.battery.runner import run_check

from planted import PLANTED

#: Examples allowed to find a planted mistake. Hypothesis finds each within a handful; the bound
#: only keeps a regression from hanging the suite.
BUDGET = 200

CASES = [
    pytest.param(bug, check, id=f"{bug.layer}: {bug.name} -> {check}",
                 marks=pytest.mark.xdist_group(name=bug.layer))
    for bug in PLANTED
    for check in bug.catches
]


@pytest.mark.parametrize("bug, check", CASES)
def test_planted_mistake_is_caught(bug, check, impl):
    layer = layer_named(bug.layer)
    run = run_check(layer, impl.replace(**bug.functions), check_named(check), max_examples=BUDGET,
                    shrink=False)
    assert run.failure is not None, (
        f"{check} did not catch {bug.name!r} in {run.passed} examples")
    report = run.failure.report()
    assert run.failure.function in bug.functions, report
    assert "reproduce: bpcheck.rebuild(" in report


def test_failure_shrinks_to_the_smallest_example(impl):
    """The squeeze bug only bites at batch size 1: hypothesis must shrink to N = 1."""
    bug = next(b for b in PLANTED if b.name == "a squeeze that breaks N = 1")
    run = run_check(layer_named("affine"), impl.replace(**bug.functions), check_named("shapes"))
    example = run.failure.example
    assert example.args[0].shape[0] == 1 and example.draw.seed == 0, run.failure.report()
