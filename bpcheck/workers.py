"""How bpcheck starts its worker processes: forked from a server that has imported the engine.

A worker of ``bpcheck check --jobs N`` or ``bpcheck grade --jobs N`` needs JAX, NumPy, hypothesis
and the registry, about a second of imports on one core. Spawning a fresh interpreter pays that in
every worker, and again in every worker started after one dies (a hostile file's ``os._exit``, a
memory bomb). Forking the main process is not an option: once JAX has run, it is multithreaded, and
a fork of it can deadlock. ``multiprocessing``'s forkserver is both: a fresh interpreter, started
once per process on first use, imports the engine without running JAX (no backend, no XLA thread)
and forks each worker from that state in milliseconds.

What a worker sees is what the server saw when it started: its environment and ``sys.path``. So
everything a worker's job depends on travels with the job (the file, the profile, the options),
never through the environment. Where the platform has no fork (or Python cannot start a
forkserver), workers are spawned as before.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.context import BaseContext

#: What the server imports before forking a worker: between them, everything a worker of
#: ``bpcheck check`` or ``bpcheck grade`` runs. None of them runs JAX at import (the test pins it).
PRELOAD = ("bpcheck.battery.target", "bpcheck.grading.grade")


def context() -> BaseContext:
    """The ``multiprocessing`` context for bpcheck's process pools."""
    if sys.platform.startswith("linux") and "forkserver" in multiprocessing.get_all_start_methods():
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload(list(PRELOAD))  # no effect once the server runs
        return forkserver
    return multiprocessing.get_context("spawn")
