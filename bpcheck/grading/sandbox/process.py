"""Start and end the sandboxed child process, and decide how it is isolated here.

``isolation()`` probes once per grader process which of three modes works:

- **bubblewrap as root** (the recommended set-up): ``bwrap`` starts the child in new mount, PID,
  network, IPC, UTS and cgroup namespaces. Its file system is a fresh tmpfs holding only the
  interpreter (its prefix and ``/usr`` read-only, every ``site-packages`` in them hidden), NumPy
  read-only, its submission read-only, a scratch tmpfs of ``scratch_mb`` (its working folder, its
  ``/tmp`` and ``/dev/shm``) and five devices (null, zero, full, random, urandom): no project
  file, no ``.git``, no other submission, no OUT, no ``/etc``. The child starts as root inside with
  only CAP_SETUID and CAP_SETGID, and ``child.py`` drops to a uid of this submission's own
  (``claim_uid``) before it reads anything; from then on it holds no capability anywhere, and
  RLIMIT_NPROC at its uid's current count lets it start no process or thread, so its address-space
  limit is the memory budget of everything it runs. No user namespace: as root none is needed, and
  in one the child's uid would be root's outside. ``--die-with-parent`` and the PID namespace end
  everything it started with it.
- **bubblewrap without root**: the same file system and namespaces inside a user namespace of the
  grader's own uid (no uid per submission: nothing of the grader's is visible from inside).
- **weak** (``bpcheck grade`` uses it only with ``--allow-weak-isolation``): no namespaces; as root
  the child runs under a uid of its own per submission that owns only its scratch folder; without
  root, under the grader's uid. The audit-hook guard is then the main defence.

The audit-hook guard (``guard.py``) runs inside in every mode, as a second layer.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import glob
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy

RUNTIME_FILES = ("child.py", "wire.py", "guard.py")
_HERE = Path(__file__).resolve().parent

#: Where things are inside a bubblewrap sandbox.
INSIDE_RUNTIME = "/bpcheck/runtime"
INSIDE_SITE = "/bpcheck/site"
INSIDE_SUBMISSION = "/bpcheck/submission"
INSIDE_SCRATCH = "/scratch"
DEVICES = ("null", "zero", "full", "random", "urandom")

#: uids handed to submissions when the grader is root: one per sandbox, claimed with a lock file.
UID_BASE, UID_SLOTS = 1_700_000_000, 1_000_000

#: The copy of a submission into its sandbox: never a link, a FIFO or a device; at most this much.
COPY_MAX_FILES, COPY_MAX_BYTES, COPY_MAX_DEPTH = 2000, 64 * 2**20, 16
COPY_IGNORED = ("__pycache__", ".git")

#: The bwrap executable: a name on the PATH or a path (``BPCHECK_BWRAP`` overrides it; a name
#: that is nowhere, as tests use, is a machine without it).
BWRAP = os.environ.get("BPCHECK_BWRAP", "bwrap")
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
       "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# ---------------------------------------------------------------------------- what is possible


@dataclass(frozen=True)
class Isolation:
    """How children of this grader process are isolated."""

    mode: str  # "bubblewrap" or "weak"
    python: str  # the interpreter the child runs (the same path inside and outside)
    root: bool  # the grader is root
    per_uid: bool = False  # each submission's child runs under a uid of its own
    bwrap: str | None = None  # the bwrap executable, in bubblewrap mode
    version: str = ""  # bwrap's version
    why_weak: str = ""  # in weak mode: why bubblewrap could not be used
    binds: tuple[str, ...] = ()  # host folders bound read-only for the interpreter
    hidden: tuple[str, ...] = ()  # folders inside those that are masked

    @property
    def full(self) -> bool:
        return self.mode == "bubblewrap"

    def describe(self, uid: int | None, limits) -> dict:
        """What is in force, for results.json's ``isolation``."""
        common = {"audit_hook_guard": True, "memory_mb": limits.memory_mb,
                  "largest_file_mb": limits.file_mb,
                  "time_s": {"call": limits.call_seconds, "function": limits.function_seconds,
                             "submission": limits.submission_seconds}}
        if self.full:
            namespaces = ["mount", "pid", "network", "ipc", "uts", "cgroup"]
            if not self.root:
                namespaces.insert(0, "user")
            who = (f"uid {uid}, its own for this submission" if uid is not None else
                   "the grader's uid, mapped in its own user namespace")
            summary = (f"{self.version or 'bubblewrap'}: {', '.join(namespaces)} namespaces; "
                       f"{who}; sees the interpreter and NumPy read-only and its own scratch "
                       f"tmpfs ({limits.scratch_mb} MB, also its /tmp and /dev/shm); no new "
                       f"process or thread; {limits.memory_mb} MB of address space; "
                       f"audit-hook guard inside")
            return {"mode": "bubblewrap", "summary": summary, "namespaces": namespaces,
                    "uid": uid, "per_submission_uid": uid is not None,
                    "read_only": ["interpreter", "numpy", "submission"],
                    "writable": {"scratch_tmpfs_mb": limits.scratch_mb},
                    "hidden": list(self.hidden), "new_processes": False,
                    "budgets": "RLIMIT_NPROC at the uid's count (no new process or thread) and "
                               "RLIMIT_AS of its one process, plus the scratch tmpfs; no cgroup",
                    **common}
        who = (f"uid {uid}, its own for this submission, owning only its scratch folder"
               if uid is not None else "the grader's uid")
        summary = (f"weak (--allow-weak-isolation; {self.why_weak}): a child process as {who}; "
                   f"no namespaces; {'no new process or thread; ' if uid is not None else ''}"
                   f"{limits.memory_mb} MB of address space; audit-hook guard")
        return {"mode": "weak", "summary": summary, "why_weak": self.why_weak, "uid": uid,
                "per_submission_uid": uid is not None, "namespaces": [],
                "new_processes": uid is None, **common}


def _site(numpy_dir: Path) -> list[Path]:
    """NumPy's package folder and its bundled libraries (numpy.libs, beside it in a wheel)."""
    found = [numpy_dir]
    libs = numpy_dir.parent / f"{numpy_dir.name}.libs"
    if libs.is_dir():
        found.append(libs)
    return found


def _numpy_dir() -> Path:
    return Path(numpy.__file__).resolve().parent


def _interpreter() -> tuple[str, tuple[str, ...]]:
    """The child's interpreter (the grader's own, so NumPy's build fits it) and the host folders
    it needs bound read-only: /usr (the C libraries) and its prefix when elsewhere."""
    python = os.path.realpath(sys.executable)
    roots = ["/usr"]
    for folder in (os.path.realpath(sys.base_prefix), os.path.dirname(python)):
        if not any(_inside(folder, r) for r in roots):
            roots.append(folder)
    return python, tuple(roots)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _hidden(roots: tuple[str, ...], protected: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Folders under the bound roots that the child must not see: every site-packages and
    dist-packages (other libraries, and bpcheck itself if installed there), and the protected
    folders (the project's solution, engine and tests) that lie inside a root."""
    found = []
    for root in roots:
        for pattern in ("lib*/python3*/site-packages", "lib*/python3*/dist-packages",
                        "lib/python3/dist-packages", "local/lib*/python3*/site-packages",
                        "local/lib*/python3*/dist-packages"):
            found += glob.glob(os.path.join(root, pattern))
    found += [p for p in protected if any(_inside(p, r) for r in roots)]
    return tuple(sorted(dict.fromkeys(os.path.realpath(p) for p in found if os.path.isdir(p))))


@functools.lru_cache(maxsize=None)
def isolation() -> Isolation:
    """The isolation children of this grader process get (probed once: one short sandbox)."""
    root = os.geteuid() == 0
    python, roots = _interpreter()
    bwrap = shutil.which(BWRAP) if BWRAP else None
    if bwrap is None:
        return _weak(root, "bwrap is not installed (on Debian or Ubuntu: apt-get install "
                           "bubblewrap)")
    probe = Isolation("bubblewrap", python, root, root, bwrap, _bwrap_version(bwrap),
                      binds=roots, hidden=_hidden(roots))
    problem = _probe(probe)
    if problem is None:
        return probe
    return _weak(root, problem)


def _weak(root: bool, why: str) -> Isolation:
    """Weak isolation: as root, a uid per submission if some Python with NumPy can run under
    such a uid (a Python under a root-only folder cannot), else the grader's uid."""
    if not root:
        return Isolation("weak", sys.executable, False, why_weak=why)
    problems = []
    folder = Path(tempfile.mkdtemp(prefix="bpcheck-probe-"))
    claimed = claim_uid()
    try:
        folder.chmod(0o755)
        site = folder / "site"
        site.mkdir()
        for path in _site(_numpy_dir()):
            (site / path.name).symlink_to(path)
        for python in _candidates():
            try:
                probe = subprocess.run(
                    [python, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(site)!r})"
                     "; import numpy"], user=claimed.uid, group=claimed.uid, extra_groups=[],
                    cwd="/", env=ENV, capture_output=True, timeout=60)
            except (OSError, subprocess.SubprocessError) as exc:
                problems.append(f"{python}: {exc.strerror if isinstance(exc, OSError) else exc}")
                continue
            if probe.returncode == 0:
                return Isolation("weak", python, True, True, why_weak=why)
            problems.append(f"{python}: cannot import NumPy")
    finally:
        claimed.release()
        shutil.rmtree(folder, ignore_errors=True)
    return Isolation("weak", sys.executable, True, why_weak=f"{why}; and no Python with NumPy "
                     f"that another uid can run ({'; '.join(problems)})")


def _candidates() -> list[str]:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = [sys.executable, shutil.which(version), f"/usr/bin/{version}",
             f"/usr/local/bin/{version}"]
    return list(dict.fromkeys(p for p in found if p and os.path.exists(p)))


def _bwrap_version(bwrap: str) -> str:
    try:
        return subprocess.run([bwrap, "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _probe(candidate: Isolation) -> str | None:
    """None when a child can start in this isolation and import NumPy, else why not."""
    folder = Path(tempfile.mkdtemp(prefix="bpcheck-probe-"))
    uid = claim_uid() if candidate.root else None
    try:
        (folder / "submission").mkdir()
        code = (f"import sys; sys.path.insert(0, {INSIDE_SITE!r}); import numpy; "
                "import os; assert os.listdir('/') and not os.path.exists('/etc/passwd')")
        command = bwrap_command(candidate, folder / "submission", 64,
                                [candidate.python, "-I", "-S", "-c",
                                 _drop_source(uid.uid if uid else None) + code])
        try:
            probe = subprocess.run(command, capture_output=True, text=True,
                                   timeout=60, env=ENV, cwd="/", stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bwrap could not start: {exc}"
        if probe.returncode != 0:
            lines = (probe.stderr or probe.stdout).strip().splitlines()
            detail = lines[-1] if lines else f"exit status {probe.returncode}"
            return f"bwrap cannot set up its sandbox here ({detail})"
        return None
    finally:
        if uid is not None:
            uid.release()
        shutil.rmtree(folder, ignore_errors=True)


def _drop_source(uid: int | None) -> str:
    if uid is None:
        return ""
    return f"import os; os.setgroups([]); os.setresgid({uid}, {uid}, {uid}); " \
           f"os.setresuid({uid}, {uid}, {uid}); "


# ---------------------------------------------------------------------------- uids


@dataclass
class ClaimedUid:
    """A uid no other sandbox on this machine uses while the claim (a lock) is held."""

    uid: int
    lock: int  # the locked file's descriptor
    path: Path | None = None  # the lock file (removed on release)

    def release(self) -> None:
        if self.lock >= 0:
            if self.path is not None:
                self.path.unlink(missing_ok=True)
            os.close(self.lock)
            self.lock = -1


def _uid_folder() -> Path:
    for folder in (Path("/run/bpcheck-uids"), Path(tempfile.gettempdir()) / "bpcheck-uids-0"):
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = folder.lstat()
            if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o022:
                return folder
        except OSError:
            continue
    raise OSError("no private folder to claim sandbox uids in (/run or the temporary folder)")


def claim_uid() -> ClaimedUid:
    """A uid of its own for one sandbox (root only): its lock file is held while it is in use,
    and one that still owns a process (left by a grader that died) is passed over."""
    folder = _uid_folder()
    start = random.randrange(UID_SLOTS)
    for step in range(UID_SLOTS):
        uid = UID_BASE + (start + step) % UID_SLOTS
        path = folder / str(uid)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path).st_ino != os.fstat(fd).st_ino:  # released and removed meanwhile
                raise OSError
        except OSError:
            os.close(fd)
            continue
        if processes_of(uid):
            os.close(fd)
            continue
        return ClaimedUid(uid, fd, path)
    raise OSError("every sandbox uid is in use")


def processes_of(uid: int) -> list[int]:
    """The pids of every live process that ``uid`` owns (from /proc; a zombie, which can do
    nothing and waits for its parent, is not counted)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                        break
                    if line.startswith("Uid:"):
                        if uid in map(int, line.split()[1:]):
                            pids.append(int(entry))
                        break
        except (OSError, IndexError, ValueError):
            continue
    return pids


# ---------------------------------------------------------------------------- the file system


@dataclass
class Layout:
    """Where the child's pieces are, outside and (in bubblewrap mode) inside."""

    root: Path  # the sandbox's folder on the host (removed at the end)
    runtime: Path
    site: Path  # weak mode: a folder of symlinks to NumPy
    submission: Path  # the copy of the submission (bubblewrap: bound read-only)
    scratch: Path  # weak mode: the writable folder (the copy lives in it)
    skipped: list[str] = field(default_factory=list)  # what the copy left out, and why


def prepare(root: Path, submission: Path, isolated: Isolation, uid: int | None,
            file_limit: int) -> Layout:
    """Lay out the sandbox folder: the runtime, NumPy's path and a copy of the submission (its
    folder's files, for a folder), made without following a link or opening a special file."""
    runtime = root / "runtime"
    runtime.mkdir()
    # the child's own code, readable by the child's uid: copyfile, not copy, whose permission
    # bits would be the installed grader's, root's alone in a Gradescope image (bundle.py)
    for name in RUNTIME_FILES:
        shutil.copyfile(_HERE / name, runtime / name)
        (runtime / name).chmod(0o644)
    # stand-ins for modules a submission imports that are not here, and the floating-point
    # warnings policy (standard library only)
    for shared in ("standins.py", "floating_point.py"):
        shutil.copyfile(_HERE.parent.parent / shared, runtime / shared)
        (runtime / shared).chmod(0o644)
    if isolated.full:  # bound read-only by bwrap; the child copies it into its tmpfs
        root.chmod(0o700)
        copy = root / "submission"
        skipped = copy_submission(submission, copy, None, file_limit)
        for folder, _, _ in os.walk(copy):
            os.chmod(folder, 0o755)
        return Layout(root, runtime, root, copy, copy, skipped)
    root.chmod(0o755)
    site = root / "site"
    site.mkdir()
    for path in _site(_numpy_dir()):
        (site / path.name).symlink_to(path)
    scratch = root / "scratch"
    skipped = copy_submission(submission, scratch, uid, file_limit)
    scratch.chmod(0o700)
    return Layout(root, runtime, site, scratch, scratch, skipped)


def copy_submission(source: Path, target: Path, owner: int | None, file_limit: int) -> list[str]:
    """Copy a submission (a folder, or one .py file) into ``target`` (created), owned by
    ``owner``. Inside a folder, links are never followed and FIFOs, sockets and devices never
    opened: each is left out and named in the list returned, as is whatever passes the size
    bounds. Files are opened with O_NOFOLLOW | O_NONBLOCK and checked to be regular files by
    their open descriptor, so nothing is swapped in between."""
    target.mkdir(mode=0o755)
    skipped: list[str] = []
    budget = {"files": COPY_MAX_FILES, "bytes": COPY_MAX_BYTES}
    if owner is not None:
        os.chown(target, owner, owner)
    if source.is_dir():
        fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _copy_folder(fd, target, "", owner, file_limit, budget, skipped, 0)
        finally:
            os.close(fd)
    else:
        _copy_file(None, str(source), target / source.name, source.name, owner, file_limit,
                   budget, skipped)
    return skipped


def _copy_folder(fd: int, target: Path, where: str, owner, file_limit, budget, skipped,
                 depth: int) -> None:
    for name in sorted(os.listdir(fd)):
        shown = where + name
        if name in COPY_IGNORED or name.endswith(".pyc"):
            continue
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            skipped.append(f"{shown} (unreadable)")
            continue
        if stat.S_ISLNK(info.st_mode):
            skipped.append(f"{shown} (a symbolic link: links are never followed)")
        elif stat.S_ISDIR(info.st_mode):
            if depth >= COPY_MAX_DEPTH:
                skipped.append(f"{shown} (folders nested too deeply)")
                continue
            try:
                inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                dir_fd=fd)
            except OSError:
                skipped.append(f"{shown} (unreadable)")
                continue
            try:
                (target / name).mkdir(mode=0o755)
                if owner is not None:
                    os.chown(target / name, owner, owner)
                _copy_folder(inner, target / name, shown + "/", owner, file_limit, budget,
                             skipped, depth + 1)
            finally:
                os.close(inner)
        elif stat.S_ISREG(info.st_mode):
            _copy_file(fd, name, target / name, shown, owner, file_limit, budget, skipped)
        else:
            skipped.append(f"{shown} (a special file: FIFOs, sockets and devices are never "
                           f"opened)")


def _copy_file(dir_fd: int | None, name: str, target: Path, shown: str, owner, file_limit,
               budget, skipped) -> None:
    if budget["files"] <= 0:
        skipped.append(f"{shown} (more than {COPY_MAX_FILES} files)")
        return
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError as exc:
        reason = ("a symbolic link: links are never followed" if exc.errno == errno.ELOOP else
                  "unreadable")
        skipped.append(f"{shown} ({reason})")
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            skipped.append(f"{shown} (a special file: FIFOs, sockets and devices are never "
                           f"opened)")
            return
        if info.st_size > min(file_limit, budget["bytes"]):
            skipped.append(f"{shown} (too large: {info.st_size} bytes)")
            return
        data = os.read(fd, info.st_size + 1)[:info.st_size]  # a file growing meanwhile is cut
        budget["files"] -= 1
        budget["bytes"] -= len(data)
    finally:
        os.close(fd)
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                  0o644)
    try:
        if owner is not None:
            os.fchown(out, owner, owner)
        os.write(out, data)
    finally:
        os.close(out)


# ---------------------------------------------------------------------------- the child


def bwrap_command(isolated: Isolation, submission: Path, scratch_mb: int, command: list[str],
                  runtime: Path | None = None, protected: tuple[str, ...] = ()) -> list[str]:
    """The bwrap command line that runs ``command`` in the sandbox. ``protected`` folders (the
    project's solution and engine, the submissions, OUT) are masked too if they lie inside a
    folder bound for the interpreter."""
    args = [isolated.bwrap or BWRAP, "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--hostname", "sandbox"]
    if isolated.root:
        # no user namespace (the child's uid would be root's outside); child.py drops to the
        # submission's uid with these two, and then holds none
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    made: set[str] = set()

    def folder(path: str) -> None:
        parts = Path(path).parts
        for i in range(2, len(parts) + 1):
            inner = str(Path(*parts[:i]))
            if inner not in made:
                args.extend(["--perms", "0755", "--dir", inner])
                made.add(inner)

    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for bound in isolated.binds:
        folder(os.path.dirname(bound))
        args += ["--ro-bind", bound, bound]
        made.add(bound)
    masked = {p for p in protected if any(_inside(p, b) for b in isolated.binds)}
    for hidden in sorted(set(isolated.hidden) | masked):
        args += ["--perms", "0755", "--tmpfs", hidden, "--remount-ro", hidden]
    args += ["--proc", "/proc"]
    folder("/dev")
    for device in DEVICES:
        args += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
    folder(INSIDE_SITE)
    for path in _site(_numpy_dir()):
        args += ["--ro-bind", str(path), f"{INSIDE_SITE}/{path.name}"]
    if runtime is not None:
        args += ["--ro-bind", str(runtime), INSIDE_RUNTIME]
    args += ["--ro-bind", str(submission), INSIDE_SUBMISSION,
             "--perms", "0777", "--size", str(scratch_mb * 2**20), "--tmpfs", INSIDE_SCRATCH,
             "--perms", "1777", "--dir", f"{INSIDE_SCRATCH}/.tmp",
             "--perms", "1777", "--dir", f"{INSIDE_SCRATCH}/.shm",
             "--symlink", f"{INSIDE_SCRATCH}/.tmp", "/tmp",
             "--symlink", f"{INSIDE_SCRATCH}/.shm", "/dev/shm",
             "--remount-ro", "/", "--chdir", INSIDE_SCRATCH, "--", *command]
    return args


@dataclass
class Child:
    process: subprocess.Popen
    channel: socket.socket
    uid: int | None  # a uid of the submission's own (every process it owns is killed at the end)

    def end(self) -> None:
        """Kill the child and everything it started: bwrap's process group (with it the PID
        namespace), and every process of the submission's uid."""
        for _ in range(20):
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


def spawn(layout: Layout, isolated: Isolation, uid: int | None, scratch_mb: int,
          protected: tuple[str, ...] = ()) -> Child:
    """Start the child for ``layout``; its end of a socket pair is the channel."""
    parent_end, child_end = socket.socketpair()
    log = open(layout.root / "output.txt", "ab")  # what the submission prints; never parsed
    try:
        if isolated.full:
            command = [isolated.python, "-I", "-S", "-B", f"{INSIDE_RUNTIME}/child.py",
                       str(child_end.fileno()), INSIDE_SITE]
            if uid is not None:
                command.append(str(uid))
            command = bwrap_command(isolated, layout.submission, scratch_mb, command,
                                    layout.runtime, protected)
            env = {**ENV, "HOME": INSIDE_SCRATCH, "TMPDIR": "/tmp"}
            identity: dict = {}
            cwd = "/"
        else:
            command = [isolated.python, "-I", "-S", "-B", str(layout.runtime / "child.py"),
                       str(child_end.fileno()), str(layout.site)]
            env = {**ENV, "HOME": str(layout.scratch)}
            identity = ({} if uid is None else
                        {"user": uid, "group": uid, "extra_groups": []})
            cwd = str(layout.scratch)
        process = subprocess.Popen(
            command, pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True, umask=0o022,
            **identity)
    except BaseException:
        parent_end.close()
        raise
    finally:
        child_end.close()
        log.close()
    return Child(process, parent_end, uid)
