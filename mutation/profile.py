"""pytest plugin for mutant runs: the ``mutation`` hypothesis profile.

It is the ``ci`` profile of ``bpcheck.profiles`` (the same examples, derandomized, so a run is
reproducible) without the shrink phase. Shrinking changes nothing about whether a mutant is caught,
only how small the reported example is, and a caught mutant's shrink can take minutes: mutmut would
then count it a timeout instead of a kill. Loaded with ``-p mutation.profile`` after conftest.py has
loaded ``$HYPOTHESIS_PROFILE``, which it then replaces.
"""

from __future__ import annotations

from hypothesis import Phase, settings

from bpcheck import profiles

NAME = "mutation"

settings.register_profile(
    NAME,
    parent=settings.get_profile("ci"),
    phases=tuple(p for p in settings.get_profile("ci").phases if p is not Phase.shrink),
)


def pytest_configure(config):
    """Replace the profile conftest.py loaded (this runs after conftest.py is imported)."""
    settings.load_profile(NAME)


assert profiles.EXAMPLES["ci"] == settings.get_profile(NAME).max_examples
