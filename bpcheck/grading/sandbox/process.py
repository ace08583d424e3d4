"""Start and end the sandboxed child process, and decide how confined it can be here.

The child is ``python -I -S child.py`` in a session of its own, in a scratch folder, with an
environment of a few variables and a ``sys.path`` that holds the standard library and NumPy only.
When the grader runs as root, the child also runs under a uid of its own (``60000 + pid % 5000``),
which owns the scratch folder and nothing else: the file system confines it whatever the guard
does, and every process that uid owns is killed when the child ends. That needs an interpreter the
uid can run with NumPy; ``confinement`` probes the candidates once and falls back to the guard
alone (and says so) when there is none, e.g. when Python lives under a root-only ``/root``.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy

RUNTIME_FILES = ("child.py", "wire.py", "guard.py")
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Confinement:
    python: str  # the interpreter the child runs on
    uid: int | None  # the uid it runs as, or None for the grader's own
    why_not: str = ""  # when uid is None although the grader is root: why

    def describe(self) -> str:
        if self.uid is not None:
            return f"uid {self.uid}"
        return "the grader's uid" + (f" ({self.why_not})" if self.why_not else "")


def _curated_path(root: Path) -> Path:
    """A folder holding only NumPy (symlinked), for the child's sys.path."""
    curated = root / "curated"
    curated.mkdir()
    source = Path(numpy.__file__).resolve().parent
    for name in (source.name, f"{source.name}.libs"):
        if (source.parent / name).exists():
            (curated / name).symlink_to(source.parent / name)
    return curated


def _candidates() -> list[str]:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = [sys.executable, shutil.which(version), f"/usr/bin/{version}", f"/usr/local/bin/{version}"]
    return list(dict.fromkeys(p for p in found if p and os.path.exists(p)))


@functools.lru_cache(maxsize=None)
def confinement(uid: int) -> Confinement:
    """The interpreter and uid for children of this grader process (probed once)."""
    if os.geteuid() != 0:
        return Confinement(sys.executable, None)
    root = Path(tempfile.mkdtemp(prefix="bpcheck-probe-"))
    errors = []
    try:
        root.chmod(0o755)
        curated = _curated_path(root)
        for python in _candidates():
            try:
                probe = subprocess.run(
                    [python, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(curated)!r})"
                     "; import numpy"], user=uid, group=uid, extra_groups=[], cwd="/",
                    env={"PATH": "/usr/bin:/bin"}, capture_output=True, timeout=60)
            except (OSError, subprocess.SubprocessError) as exc:
                errors.append(f"{python}: {exc.strerror if isinstance(exc, OSError) else exc}")
                continue
            if probe.returncode == 0:
                return Confinement(python, uid)
            errors.append(f"{python}: cannot import NumPy")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return Confinement(sys.executable, None, f"no Python {sys.version_info.major}."
                       f"{sys.version_info.minor} with NumPy that uid {uid} can run: "
                       + "; ".join(errors))


def sandbox_uid() -> int:
    return 60000 + os.getpid() % 5000


@dataclass
class Child:
    process: subprocess.Popen
    channel: socket.socket
    uid: int | None

    def end(self) -> None:
        """Kill the child and everything it started (its session; every process of its uid)."""
        for attempt in range(5):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            stray = processes_of(self.uid) if self.uid is not None else []
            for pid in stray:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if not stray:
                break
            time.sleep(0.05)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.channel.close()


def processes_of(uid: int) -> list[int]:
    """The pids of every process that ``uid`` owns (from /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


def prepare(root: Path, submission: Path, confined: Confinement) -> tuple[Path, Path, Path]:
    """Lay out the sandbox folder: the runtime, NumPy's path, and a scratch folder holding a copy
    of the submission (its folder's files, for a folder). Returns (runtime, curated, scratch)."""
    root.chmod(0o755)
    runtime = root / "runtime"
    runtime.mkdir()
    for name in RUNTIME_FILES:
        shutil.copy(_HERE / name, runtime / name)
    curated = _curated_path(root)
    scratch = root / "scratch"
    if submission.is_dir():
        shutil.copytree(submission, scratch, symlinks=False, ignore_dangling_symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "results.json"))
    else:
        scratch.mkdir()
        shutil.copy(submission, scratch / submission.name)
    if confined.uid is not None:
        for folder, _, files in os.walk(scratch):
            os.chown(folder, confined.uid, confined.uid)
            for name in files:
                os.chown(os.path.join(folder, name), confined.uid, confined.uid)
    scratch.chmod(0o700)
    return runtime, curated, scratch


def spawn(runtime: Path, curated: Path, scratch: Path, confined: Confinement) -> Child:
    parent_end, child_end = socket.socketpair()
    log = open(scratch / "output.txt", "ab")  # what the submission prints; never parsed
    env = {"PATH": "/usr/bin:/bin", "HOME": str(scratch), "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    identity = ({} if confined.uid is None else
                {"user": confined.uid, "group": confined.uid, "extra_groups": []})
    try:
        process = subprocess.Popen(
            [confined.python, "-I", "-S", "-B", str(runtime / "child.py"),
             str(child_end.fileno()), str(curated)],
            pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, cwd=scratch, env=env, start_new_session=True, **identity)
    finally:
        child_end.close()
        log.close()
    return Child(process, parent_end, confined.uid)
