"""A class of submissions for the grading tests: a correct one, a buggy one, and hostile ones.

Every submission is a folder: ``layers.py`` plus ``mylayers/``, a copy of manual/ that it imports
(``from mylayers import *``), so that one function can be made hostile while the others stay
right. ``HOSTILE`` maps a submission's name to what its layers.py adds and to the functions that
must end with zero points (None: every function, because the file cannot be loaded).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

MANUAL = Path(__file__).resolve().parent.parent / "manual"
GRADED = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")
RUBRIC = """\
examples = 8
[points]
affine_forward = 1
affine_backward = 2
relu_forward = 1
relu_backward = 1
softmax_loss = 2
[limits]
call_seconds = 2
function_seconds = 6
memory_mb = 768
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
    "very_slow": (_backward("import time\ntime.sleep(0.5)\n"), ("relu_backward",)),
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


def build_class(root: Path) -> tuple[Path, Path, Path]:
    """SUBMISSIONS, OUT and the rubric for the whole class (OUT not created)."""
    submissions, out = root / "submissions", root / "out"
    submissions.mkdir()
    submission(submissions, "correct", "")
    submission(submissions, "transposed", TRANSPOSED)
    for name, (source, _) in HOSTILE.items():
        submission(submissions, name, source)
    targets = [submissions / "fake_results" / "results.json", submissions / "results.json",
               root / "results.json", out / "results.json", out / "correct" / "results.json",
               out / "zz_later" / "results.json", submissions / "correct" / "results.json"]
    submission(submissions, "fake_results", fake_writer(targets))
    rubric = root / "rubric.toml"
    rubric.write_text(RUBRIC)
    return submissions, out, rubric
