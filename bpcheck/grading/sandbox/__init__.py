"""Run a submission's functions in a confined child process; plain arrays in, plain arrays out.

``Sandbox`` (session.py) is the grader's side; ``child.py``, ``guard.py`` and ``wire.py`` are the
child's runtime, its audit-hook policy and the pickle-free format its answers travel in;
``process.py`` starts, confines and ends the child.
"""

from bpcheck.grading.sandbox.session import CacheHandle, Limits, Sandbox

__all__ = ["CacheHandle", "Limits", "Sandbox"]
