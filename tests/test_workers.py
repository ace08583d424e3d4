"""Worker processes are forked from a server that imported the engine and never ran JAX; the
threads bpcheck starts leave Ctrl-C to the main thread."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

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


def _blocks_sigint(native_id: int) -> bool:
    """Whether the thread ``native_id`` of this process blocks SIGINT (/proc's SigBlk mask)."""
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    mask = int(next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1],
               16)
    return bool(mask & (1 << (signal.SIGINT - 1)))


def test_the_progress_thread_leaves_ctrl_c_to_the_main_thread():
    """The kernel hands a process's SIGINT to any thread not blocking it; taken by rich's redraw
    thread, it reached the main thread only after the user function's 60 s sleep."""
    from rich.console import Console
    from rich.progress import Progress

    from bpcheck.sigint import shown

    progress = Progress(console=Console(file=io.StringIO(), force_terminal=True))
    with shown(progress):
        redraw = progress.live._refresh_thread
        assert redraw is not None and redraw.is_alive()
        assert _blocks_sigint(redraw.native_id)
        assert not _blocks_sigint(threading.main_thread().native_id)
    assert not _blocks_sigint(threading.main_thread().native_id)
