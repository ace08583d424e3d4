"""Worker processes are forked from a server that imported the engine and never ran JAX."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from bpcheck import workers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="workers are forked from a server on Linux only")


def _what_the_worker_had() -> tuple[int, list[str]]:
    """Run in a worker: its parent, and the preloaded modules it has before importing any."""
    return os.getppid(), [name for name in workers.PRELOAD if name in sys.modules]


def test_a_worker_starts_with_the_engine_imported_by_its_server():
    with ProcessPoolExecutor(1, mp_context=workers.context()) as pool:
        parent, preloaded = pool.submit(_what_the_worker_had).result(timeout=120)
    assert parent != os.getpid()  # the server's child, not a fork of this (JAX-running) process
    assert preloaded == list(workers.PRELOAD)


def test_importing_what_the_server_preloads_runs_no_jax():
    """A fork of a process whose JAX backend has started can deadlock: the server's imports must
    leave it unstarted (no backend, so JAX has not installed its at-fork warning either)."""
    probe = ("import importlib, sys\n"
             "for name in sys.argv[1:]:\n"
             "    importlib.import_module(name)\n"
             "from jax._src import xla_bridge\n"
             "print(sorted(xla_bridge._backends), xla_bridge._at_fork_handler_installed)\n")
    done = subprocess.run([sys.executable, "-c", probe, *workers.PRELOAD], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "False"]
