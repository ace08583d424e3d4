"""Assignment presets: the rubric of a course assignment that many classes share, as a data file
per assignment (``bpcheck/grading/presets/<name>.toml``, a rubric file like any other: see
``bpcheck.grading.rubric``). ``bpcheck grade --assignment cs231n-a2`` grades with it; a
``--rubric FILE`` given too is laid on top of it (its points, checks and limits replace the
preset's, key by key).

Each preset's ``[points]`` lists exactly the functions and classes that assignment asks students
to write (not the layers its starter code gives them), with points. Where the course's protocol
changed over the years in what is asked, a year's preset says so in its name
(``cs231n-a1-2017``: the linear classifiers and neural_net's TwoLayerNet; ``cs231n-a1``: from
2020, with fc_net's TwoLayerNet and its layers). Where only conventions changed (dropout's p, the
FullyConnectedNet keywords, the SVM's 0.5), nothing needs choosing: the model's own constructor
and loss are read (``bpcheck.modelcall``, ``bpcheck.registry.models``).
"""

from __future__ import annotations

from pathlib import Path

from bpcheck.grading.rubric import RubricError

FOLDER = Path(__file__).resolve().parent / "presets"


def names() -> list[str]:
    """The presets there are, by name."""
    return sorted(p.stem for p in FOLDER.glob("*.toml"))


def path_of(name: str) -> Path:
    """The preset's file; RubricError naming the known ones for an unknown name."""
    path = FOLDER / f"{name}.toml"
    if not path.is_file():
        raise RubricError(f"no assignment preset {name!r}; known: {', '.join(names())}")
    return path
