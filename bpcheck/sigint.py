"""Ctrl-C reaches the thread that can act on it.

Python raises KeyboardInterrupt in the main thread only, and the kernel hands a process's SIGINT
to any of its threads that does not block it. When another thread takes it, the main thread learns
of it at its next bytecode, so a user function sleeping or computing in C runs on: `bpcheck check`
went on for 60 s after a Ctrl-C on a loaded machine, the signal taken by rich's progress thread,
which wakes four times a second to redraw. A thread inherits the signal mask of the thread that
starts it, so the display threads bpcheck starts are started with SIGINT blocked; a Ctrl-C that
arrives meanwhile waits, and is delivered to the main thread when the block ends.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def shown(progress: Any) -> Iterator[Any]:
    """``progress`` (a rich ``Progress``) started with its redraw thread deaf to Ctrl-C, and
    stopped at the end."""
    with _sigint_blocked():
        progress.start()
    try:
        yield progress
    finally:
        progress.stop()


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread (the main one) for the block, then the mask as it was."""
    if not hasattr(signal, "pthread_sigmask") or (
            threading.current_thread() is not threading.main_thread()):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
