"""Run a submission's functions in a confined child process; plain arrays in, plain arrays out.

``Sandbox`` (session.py) is the grader's side and ``channel.py`` its end of the socket, read
defensively; ``child.py``, ``guard.py`` and ``wire.py`` are the child's runtime, its audit-hook
policy and the pickle-free format its answers travel in; ``process.py`` isolates (bubblewrap, a uid
per submission), starts and ends the child.
"""

from bpcheck.grading.sandbox.session import CacheHandle, IsolationUnavailable, Limits, Sandbox

__all__ = ["CacheHandle", "IsolationUnavailable", "Limits", "Sandbox"]
