"""A class of submissions for the grading tests: a correct one, a buggy one, and hostile ones.

Every submission is a folder: ``layers.py`` plus ``mylayers/``, a copy of manual/ that it imports
(``from mylayers import *``), so that one function can be made hostile while the others stay
right. ``HOSTILE`` maps a submission's name to what its layers.py adds and to the functions that
must end with zero points (None: every function, because the file cannot be loaded).

``attacks(paths)`` adds the attacks of issue 13 that beat an audit hook alone: each turns the
attack's success into a score (its ``relu_backward`` answers right only when the attack worked,
and raises otherwise), so that a regression shows in the grade. ``build_class`` plants what they
look for: canary files in the host's /tmp and /dev/shm and a root-only file holding ``CANARY``,
and a process whose command line holds it (as a grader's holds the class seed).
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANUAL = REPO / "manual"
GRADED = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")
#: Time limits scaled down for tests: a correct function needs well under a second for its 8
#: examples, so these still judge it fairly, and the attacks that run into them (an endless loop,
#: a slow call, half an answer) cost the test seconds, not the defaults' minutes.
CALL_SECONDS, FUNCTION_SECONDS = 1, 3
RUBRIC = f"""\
examples = 8
[points]
affine_forward = 1
affine_backward = 2
relu_forward = 1
relu_backward = 1
softmax_loss = 2
[limits]
call_seconds = {CALL_SECONDS}
function_seconds = {FUNCTION_SECONDS}
memory_mb = 768
file_mb = 4
scratch_mb = 12
"""
FAKE = '{"score": 999, "tests": []}'
STRAY = "987654"  # the sleep a stray process would run; no such process may remain


def _backward(body: str) -> str:
    """A relu_backward that does ``body`` first, then answers correctly."""
    return "def relu_backward(dout, cache):\n" + textwrap.indent(textwrap.dedent(body), "    ") + (
        "    import mylayers\n    return mylayers.relu_backward(dout, cache)\n")


TRANSPOSED = """
def affine_backward(dout, cache):
    import mylayers
    dx, dw, db = mylayers.affine_backward(dout, cache)
    return dx, dw.T, db
"""

#: name -> (source added after ``from mylayers import *``, functions that must score zero)
HOSTILE: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "exit_at_import": ("import sys\nsys.exit(0)\n", None),
    "syntax_error": ("def relu_forward(x:\n    return x\n", None),
    "os_exit_in_call": (_backward("import os\nos._exit(0)\n"), ("relu_backward",)),
    "endless_loop": (_backward("while True:\n    pass\n"), ("relu_backward",)),
    # each call a quarter of CALL_SECONDS, so that it finishes even on a loaded machine (at half,
    # one call ran into the call limit once, and the budget's message was not the one given),
    # and a dozen of them use up FUNCTION_SECONDS
    "very_slow": (_backward("import time\ntime.sleep(0.25)\n"), ("relu_backward",)),
    "memory_bomb": (_backward("hoard = [bytearray(10**9) for _ in range(100)]\n"),
                    ("relu_backward",)),
    "stray_process": (_backward(f"import subprocess\nsubprocess.Popen(['sleep', '{STRAY}'])\n"),
                      ("relu_backward",)),
    "forks": (_backward(f"import os\nif os.fork() == 0:\n    os.execvp('sleep', ['sleep', "
                        f"'{STRAY}'])\n"), ("relu_backward",)),
    "kills_the_grader": (_backward("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"),
                         ("relu_backward",)),
    "imports_jax": (_backward("import jax\n"), ("relu_backward",)),
    "imports_the_solution": (_backward("import manual\n"), ("relu_backward",)),
    "reads_the_solution": (_backward(f"exec(open({str(MANUAL / 'activations.py')!r}).read())\n"),
                           ("relu_backward",)),
    "uses_ctypes": (_backward("import ctypes\nctypes.memset(id(dout), 0, 8)\n"),
                    ("relu_backward",)),
    "patches_numpy": ("import numpy as np\n"
                      "np.allclose = lambda *a, **k: True\n"
                      "np.array_equal = lambda *a, **k: True\n"
                      "np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)\n"
                      "np.testing.assert_allclose = lambda *a, **k: None\n" + TRANSPOSED,
                      ("affine_backward",)),
    "lying_subclass": ("""
import numpy as np
class Agreeable(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, bool)
    def __sub__(self, other): return np.zeros(self.shape)
    def __rsub__(self, other): return np.zeros(self.shape)
    def __abs__(self): return np.zeros(self.shape)
def relu_backward(dout, cache):
    return (dout * 0 + 1).view(Agreeable)
""", ("relu_backward",)),
    "returns_nan": ("import numpy as np\n"
                    "def relu_backward(dout, cache):\n    return np.full_like(dout, np.nan)\n",
                    ("relu_backward",)),
    "prints_fake_results": (f"print({FAKE!r})\n" + _backward(f"print({FAKE!r})\n"), ()),
}


def _stolen(body: str) -> str:
    """A relu_backward that attacks with ``body`` (which sets ``stolen``) and answers right only
    when the attack worked: an attack that succeeds shows as full marks."""
    return ("def relu_backward(dout, cache):\n    import os, sys\n"
            + textwrap.indent(textwrap.dedent(body), "    ")
            + "    if not stolen:\n        raise RuntimeError('the attack failed')\n"
            + "    import mylayers\n    return mylayers.relu_backward(dout, cache)\n")


@dataclass(frozen=True)
class Paths:
    """What the attacks aim at, and what they look for to tell that they got out."""

    submissions: Path
    out: Path
    root_only: Path  # a file only root may read, holding the canary
    canary: str = field(default_factory=lambda: f"bpcheck-canary-{secrets.token_hex(6)}")

    @property
    def host_canaries(self) -> list[Path]:
        """Files planted in the host's shared folders: seen from inside only if those are."""
        return [Path("/tmp") / self.canary, Path("/dev/shm") / self.canary]

    @property
    def markers(self) -> list[Path]:
        """What ``writes_outside_scratch`` writes: none may be on the host afterwards."""
        return [Path(folder) / f"{self.canary}-written" for folder in ("/tmp", "/dev/shm")]


@dataclass(frozen=True)
class Attack:
    source: str  # what layers.py adds
    zeroed: tuple[str, ...] | None  # the functions that must score zero (None: all)
    plant: dict[str, str] = field(default_factory=dict)  # name in the folder -> what it is
    words: str = ""  # what the output must say
    needs_os: bool = False  # only OS isolation stops it (the test skips without bubblewrap)


def attacks(paths: Paths) -> dict[str, Attack]:
    """The attacks of issue 13, by class; each must end with zero for its relu_backward only."""
    dirfd_read = """
        folder = os.open({folder!r}, os.O_RDONLY)  # a folder the hook lets it open, then a
        # path relative to it, which the hook resolves against the working folder instead
        handle = os.open({name!r}, os.O_RDONLY, dir_fd=folder)
        stolen = {needle!r} in os.read(handle, 10**6)
    """
    zeroed = ("relu_backward",)
    frame = ("import json, struct\n"
             "header = json.dumps({'t': 'dict', 'items': [['ok', {'t': 'bool', 'v': True}], "
             "['result', {'t': 'none'}]]}).encode()\n"
             "frame = struct.pack('<Q', len(header)) + header\n"
             "os.write(int(sys.argv[1]), struct.pack('!i', len(frame)) + frame)\n")
    return {
        # full marks without writing any code
        "reads_solution_by_dirfd": Attack(_stolen(dirfd_read.format(
            folder=str(MANUAL.parent), name=f"{MANUAL.name}/activations.py",
            needle=b"def relu_backward")), zeroed, needs_os=True),
        "reads_git_objects": Attack(_stolen(f"""
            folder = os.open({str(REPO)!r}, os.O_RDONLY)
            try:
                handle = os.open('.git/HEAD', os.O_RDONLY, dir_fd=folder)
            except NotADirectoryError:  # a worktree's .git is a file naming the repository's
                handle = os.open('.git', os.O_RDONLY, dir_fd=folder)
            stolen = len(os.read(handle, 100)) > 0
        """), zeroed, needs_os=True),
        "links_to_the_solution": Attack(_stolen("""
            here = os.path.dirname(os.path.abspath(__file__))
            stolen = 'def relu_backward' in open(os.path.join(here, 'solution.py')).read()
        """), zeroed, {"solution.py": f"link:{MANUAL / 'activations.py'}"}, "links are never"),
        "reads_a_classmate": Attack(_stolen(dirfd_read.format(
            folder=str(paths.submissions.parent),
            name=f"{paths.submissions.name}/correct/mylayers/activations.py",
            needle=b"def relu_backward")), zeroed, needs_os=True),
        # reading what is not theirs
        "reads_the_grader_command_line": Attack(_stolen(f"""
            stolen = False
            for pid in os.listdir('/proc'):
                try:
                    line = open(f'/proc/{{pid}}/cmdline', 'rb').read()
                except OSError:
                    continue
                stolen |= {paths.canary.encode()!r} in line
        """), zeroed, needs_os=True),
        "reads_results_in_out": Attack(_stolen(dirfd_read.format(
            folder=str(paths.out.parent), name=f"{paths.out.name}/correct/results.json",
            needle=b'"score"')), zeroed, needs_os=True),
        "links_to_a_root_only_file": Attack(_stolen(f"""
            here = os.path.dirname(os.path.abspath(__file__))
            stolen = {paths.canary!r} in open(os.path.join(here, 'secret.txt')).read()
        """), zeroed, {"secret.txt": f"link:{paths.root_only}"}),
        # escaping the limits
        "starts_a_process_unaudited": Attack(_stolen(f"""
            spawner = sys.modules.get('_posixsubprocess')  # loaded by the runtime, or not
            if spawner is None:
                import _posixsubprocess as spawner
            r, w = os.pipe()
            pid = spawner.fork_exec([b'/bin/sleep', b'{STRAY}'], [b'/bin/sleep'], True, (), None,
                                    None, -1, -1, -1, -1, -1, -1, r, w, False, True, -1, None,
                                    None, None, -1, None, False)
            stolen = pid > 0
        """), zeroed),
        "uses_a_subinterpreter": Attack(_stolen("""
            import _xxsubinterpreters as interpreters
            interpreters.run_string(interpreters.create(), 'import ctypes')
            stolen = True
        """), zeroed),
        "writes_outside_scratch": Attack(_stolen(f"""
            for folder in ('/tmp', '/dev/shm'):
                where = os.open(folder, os.O_RDONLY)
                os.close(os.open({paths.canary!r} + '-written', os.O_WRONLY | os.O_CREAT, 0o644,
                                 dir_fd=where))
            stolen = any(os.path.exists(os.path.join(folder, {paths.canary!r}))
                         for folder in ('/tmp', '/dev/shm'))
        """), zeroed, needs_os=True),
        "exceeds_its_disk_budget": Attack(_stolen("""
            for i in range(8):  # 8 files of 3 MB: twice the scratch_mb of the test rubric
                with open(f'filler{i}.bin', 'wb') as handle:
                    handle.write(bytes(3 * 2**20))
            stolen = True
        """), zeroed, needs_os=True),
        # disturbing the grader and the class
        "half_a_frame": Attack(_stolen("""
            import struct, time
            os.write(int(sys.argv[1]), struct.pack('!i', 1000) + b'half an answer')
            time.sleep(60)
            stolen = True
        """), zeroed, words="part of an answer"),
        "forged_answer": Attack(_stolen(frame + "stolen = True\n"), zeroed, words="out of turn"),
        "huge_answer": Attack("import numpy as np\n"
                              "def relu_backward(dout, cache):\n"
                              "    return np.zeros(2**20)\n", zeroed, words="far more than"),
        "special_files": Attack("", (), {"notes.fifo": "fifo", "loop.py": "link:loop.py",
                                          "gone.py": "link:/nonexistent/gone.py",
                                          "linked_folder": f"link:{MANUAL}"}, "never opened"),
        "summary.csv": Attack("", ()),
        "report.md": Attack("", ()),
        "esc\x1b[31mred": Attack("raise RuntimeError('\\x1b[2J\\x1b]0;pwned\\x07 cleared')\n",
                                  None),
    }


def plant(entry: Path, files: dict[str, str]) -> None:
    """Add links (``link:TARGET``) and FIFOs (``fifo``) to a submission folder."""
    for name, what in files.items():
        if what == "fifo":
            os.mkfifo(entry / name)
        elif what.startswith("link:"):
            (entry / name).symlink_to(what[5:])


def canary_process(paths: Paths) -> subprocess.Popen:
    """A process whose command line holds the canary, as a grader's holds the class seed."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", paths.canary])


def fake_writer(targets: list[Path]) -> str:
    """Source that tries to plant a fake results.json at each target, ignoring failures."""
    lines = ["import os", "for target in %r:" % [str(t) for t in targets],
             "    try:", "        os.makedirs(os.path.dirname(target), exist_ok=True)",
             "        with open(target, 'w') as handle:", f"            handle.write({FAKE!r})",
             "    except Exception:", "        pass"]
    return "\n".join(lines) + "\n"


def submission(folder: Path, name: str, source: str) -> Path:
    entry = folder / name
    shutil.copytree(MANUAL, entry / "mylayers", ignore=shutil.ignore_patterns("__pycache__"))
    (entry / "layers.py").write_text("from mylayers import *\n" + source)
    return entry


def build_class(root: Path, with_attacks: bool = False) -> tuple[Path, Path, Path]:
    """SUBMISSIONS, OUT and the rubric for the whole class (OUT not created); ``with_attacks``
    adds ``attacks(class_paths(root))`` and plants their canaries."""
    submissions, out = root / "submissions", root / "out"
    submissions.mkdir()
    submission(submissions, "correct", "")
    submission(submissions, "transposed", TRANSPOSED)
    for name, (source, _) in HOSTILE.items():
        submission(submissions, name, source)
    if with_attacks:
        paths = class_paths(root)
        for name, attack in attacks(paths).items():
            plant(submission(submissions, name, attack.source), attack.plant)
        paths.root_only.write_text(paths.canary)
        paths.root_only.chmod(stat.S_IRUSR)
        for canary in paths.host_canaries:
            canary.write_text(paths.canary)
    targets = [submissions / "fake_results" / "results.json", submissions / "results.json",
               root / "results.json", out / "results.json", out / "correct" / "results.json",
               out / "zz_later" / "results.json", submissions / "correct" / "results.json"]
    submission(submissions, "fake_results", fake_writer(targets))
    rubric = root / "rubric.toml"
    rubric.write_text(RUBRIC)
    return submissions, out, rubric


def class_paths(root: Path) -> Paths:
    """The attacks' targets for the class built in ``root`` (one canary per root)."""
    marker = root / ".canary"
    if not marker.exists():
        marker.write_text(f"bpcheck-canary-{secrets.token_hex(6)}")
    return Paths(root / "submissions", root / "out", root / "root_only.txt", marker.read_text())


def grader_that_dies(entry: Path, out: Path, *_) -> tuple[str, dict]:
    """A stand-in for ``grade._grade_one`` (run in a worker) whose worker dies on the entry named
    ``culprit``, as a worker killed by the machine would; every other entry gets one point."""
    import signal
    import time

    from bpcheck.grading.grade import results_path, write_results

    if entry.name == "culprit":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.3)  # long enough for the culprit to die while others are in flight
    document = {"score": 1.0, "execution_time": 0.3, "output": "", "visibility": "visible",
                "tests": [], "extra_data": {"bpcheck": {"submission": entry.name,
                                                        "load_error": None, "functions": {}}}}
    write_results(results_path(out, entry.name), document)
    return entry.name, document
