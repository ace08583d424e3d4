"""Configure JAX once, before any JAX array exists: float64, and where compiled programs live.

Every bpcheck module that touches JAX imports `jax` from here, so importing any of them is enough
to put JAX in double precision. Compiled reference programs are kept in a project-local,
git-ignored folder (`.jax_cache/` beside `pyproject.toml` in a source checkout, else
`~/.cache/bpcheck/jax`), or wherever `BPCHECK_JAX_CACHE` points; set that variable to an empty
string to keep nothing. The store is bpcheck's own (`bpcheck.programs`: it skips tracing and
lowering too); JAX's persistent compilation cache is not turned on, because an executable read
from it serializes into one that cannot run (jaxlib 0.10: "NOT_FOUND: Function ... not found"),
and within a process JAX hands that same executable out again for an identical program.
"""

from __future__ import annotations

import os
from pathlib import Path

# XLA's LLVM optimisation passes cost more than they save here: the programs are tiny and run a
# few hundred times at most, while compiling them is the cold start (level 0: ~10% faster cold,
# measured on a full cs231n file). No fast-math either way, so results are the same IEEE ones.
# Set before JAX creates its CPU client; a user's own XLA_FLAGS setting of it wins.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")


def _cache_dir() -> Path | None:
    configured = os.environ.get("BPCHECK_JAX_CACHE")
    if configured is not None:
        return Path(configured) if configured else None
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / ".jax_cache"
    return Path.home() / ".cache" / "bpcheck" / "jax"


CACHE_DIR = _cache_dir()

__all__ = ["jax", "CACHE_DIR"]
