"""The child's audit hook: what a submission may not do, enforced inside its own interpreter.

Installed by the child runtime after NumPy is imported and before the submission is, with
``sys.addaudithook`` (PEP 578): a hook cannot be removed once added, and it sees every import,
file open, process start and ctypes call the interpreter makes. The policy:

- no import of an autodiff library or of the project's own packages (``BLOCKED_MODULES``);
- no ctypes (it could rewrite memory, hooks included; the child imports NumPy after the guard,
  so NumPy runs without it), no new processes, no signals to others, no sockets, no raising
  resource limits, no ``gc`` walks that could reach the hook;
- writes (open for writing, create, remove, rename, link, chmod) only inside the scratch folder;
- no reads of the folders named in ``forbidden_reads`` (the project's solution and engine, the
  other submissions, the grader's output).

This is the second layer: a hook does not see paths relative to a directory descriptor, some ways
of starting processes, or code in other interpreters, so the operating system confines the child
first (bubblewrap's namespaces, a uid of its own: see ``process``). Loaded by file path inside the
child, so it imports the standard library only.
"""

from __future__ import annotations

import os
import sys
import types

BLOCKED_MODULES = frozenset({
    "jax", "jaxlib", "flax", "torch", "torchvision", "functorch", "tensorflow", "keras", "autograd",
    "mxnet", "theano", "chainer", "paddle", "tinygrad", "mlx", "sympy",
    "manual", "reference", "bpcheck", "conftest", "tests",
    "ctypes", "_ctypes", "cffi", "_cffi_backend",
    # a sub-interpreter runs without this hook; _posixsubprocess starts processes without an
    # audit event; the test modules of CPython reach its internals
    "_xxsubinterpreters", "_xxinterpchannels", "_interpreters", "_interpchannels",
    "_interpqueues", "_posixsubprocess", "_testcapi", "_testinternalcapi", "_testbuffer",
    "_testclinic", "_testimportmultiple", "_testmultiphase", "_testsinglephase", "_xxtestfuzz",
    "_ctypes_test",
})

BLOCKED_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill",
    "resource.setrlimit", "resource.prlimit", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "sys.setprofile", "sys.settrace",
    "os.setuid", "os.setgid", "os.setreuid", "os.setregid", "os.setresuid", "os.setresgid",
    "os.chroot", "os.mount", "os.unshare", "os.setns", "mmap.__new__",
})
BLOCKED_PREFIXES = ("ctypes.", "socket.", "_posixsubprocess", "urllib.", "http.", "ftplib.",
                    "smtplib.", "webbrowser.")

#: Events whose path arguments all write (create, remove, rename, change) a file.
WRITING_EVENTS = frozenset({
    "os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink", "os.truncate",
    "os.chmod", "os.chown", "os.chflags", "os.utime", "os.removexattr", "os.setxattr",
    "shutil.rmtree", "shutil.copyfile", "shutil.copytree", "shutil.move", "shutil.chown",
    "shutil.make_archive", "shutil.unpack_archive", "os.mkfifo", "os.mknod",
})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class SandboxViolation(PermissionError):
    """What the submission did that the sandbox forbids (its message names it)."""


class BlockedImport(ImportError):
    """An import the sandbox forbids (an ImportError, so that optional imports degrade)."""


def install(scratch: str, forbidden_reads: tuple[str, ...]) -> None:
    """Add the hook. ``scratch`` is the only folder the submission may write to."""
    scratch = os.path.realpath(scratch)
    forbidden = tuple(os.path.realpath(p) for p in forbidden_reads)
    realpath, join, getcwd, fspath = os.path.realpath, os.path.join, os.getcwd, os.fspath
    blocked_modules, blocked_events, prefixes = BLOCKED_MODULES, BLOCKED_EVENTS, BLOCKED_PREFIXES
    writing_events, write_flags, violation = WRITING_EVENTS, _WRITE_FLAGS, SandboxViolation
    blocked_import = BlockedImport

    def resolved(path) -> str | None:
        if isinstance(path, int) or path is None:
            return None  # an open file descriptor: its file was checked when it was opened
        try:
            path = fspath(path)
            if isinstance(path, bytes):
                path = path.decode(errors="replace")
            return realpath(join(getcwd(), path))
        except Exception:
            return "?"

    def inside(path: str, root: str) -> bool:
        return path == root or path.startswith(root.rstrip("/") + "/")

    def check_write(path, event: str) -> None:
        where = resolved(path)
        if where is not None and not inside(where, scratch):
            raise violation(f"the sandbox forbids {event} outside its scratch folder ({path!r})")

    def hook(event: str, args: tuple) -> None:
        if event == "import":
            top = str(args[0]).partition(".")[0]
            if top in blocked_modules:
                raise blocked_import(f"the sandbox forbids importing {args[0]!r}")
        elif event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & write_flags)
            if writes:
                check_write(path, "writing a file")
            else:
                where = resolved(path)
                if where is not None and any(inside(where, root) for root in forbidden):
                    raise violation(f"the sandbox forbids reading {path!r}")
        elif event in writing_events:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)):
                    check_write(path, event)
        elif event in blocked_events or event.startswith(prefixes):
            raise violation(f"the sandbox forbids {event}")

    sys.addaudithook(hook)
    # _posixsubprocess.fork_exec starts a process without an audit event: subprocess (which
    # numpy.testing imports) gets a stand-in that refuses, and importing the real module afresh
    # raises an event the hook refuses (it is in BLOCKED_MODULES)
    stand_in = types.ModuleType("_posixsubprocess")

    def fork_exec(*args, **kwargs):
        raise violation("the sandbox forbids starting a process (_posixsubprocess.fork_exec)")

    stand_in.fork_exec = fork_exec
    sys.modules["_posixsubprocess"] = stand_in
