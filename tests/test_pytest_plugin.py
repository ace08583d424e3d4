"""bpcheck's pytest plugin in a project of its own (pytester): what it prints."""

import pytest

pytest_plugins = ["pytester"]

NESTED = '''
from hypothesis import HealthCheck, given, settings, strategies as st


@settings(max_examples=2, database=None, suppress_health_check=[HealthCheck.nested_given])
@given(st.integers(0, 3))
def test_runs_a_battery_that_finds_a_mistake(seed):
    @settings(max_examples=20, database=None, suppress_health_check=[HealthCheck.nested_given])
    @given(st.integers())
    def battery(n):
        assert n < 5  # a mistake the battery is meant to find

    try:
        battery()
    except AssertionError:
        pass  # the finding is the test's result, as when bpcheck checks a planted bug
'''


def test_a_passing_test_leaves_no_hypothesis_patch(pytester: pytest.Pytester):
    """bpcheck runs hypothesis inside a test; failures found there on purpose are not the test's:
    hypothesis' plugin used to offer a patch ("git apply .hypothesis/patches/…") after every run
    of this suite."""
    pytester.makepyfile(test_nested=NESTED)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert "git apply" not in result.stdout.str()
