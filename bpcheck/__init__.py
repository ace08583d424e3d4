"""bpcheck: a JAX-verified reference test suite for hand-derived backpropagation.

Importing bpcheck puts JAX in float64 (see ``bpcheck.jaxsetup``).
"""

from bpcheck import jaxsetup  # noqa: F401  (first: float64 before any JAX array exists)
from bpcheck import strategies  # noqa: F401  (``bpcheck.strategies.rebuild`` in failure reports)

__version__ = "0.1.0"
