"""The catalogue of classic hand-derivation mistakes: one plug-in file each in ``mistakes/``.

Each file is a cs231n-API ``layers.py`` that defines the functions of one layer with one mistake,
and says what it is in module-level constants, read here without importing the file:

* ``LAYER``: the registry layer (``affine``, ``softmax_loss`` …);
* ``BROKEN``: the functions that carry the mistake;
* ``DIAGNOSIS``: a phrase (or a tuple of alternatives) bpcheck's failure message must contain —
  its diagnosis when it has one for the mistake, else the check's own wording.

The first line of the module docstring names the mistake.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

MISTAKES = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Mistake:
    path: Path
    title: str
    layer: str
    broken: tuple[str, ...]
    diagnosis: tuple[str, ...]  # any one of these phrases, case-insensitive

    @property
    def name(self) -> str:
        return self.path.stem

    def diagnosed(self, message: str) -> bool:
        """Whether bpcheck's message names this mistake."""
        return any(phrase.lower() in message.lower() for phrase in self.diagnosis)


def read(path: Path) -> Mistake:
    tree = ast.parse(path.read_text(), filename=str(path))
    constants = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and len(node.targets) == 1
                 and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()}
    docstring = ast.get_docstring(tree) or path.stem
    diagnosis = constants["DIAGNOSIS"]
    return Mistake(path, docstring.splitlines()[0], constants["LAYER"], tuple(constants["BROKEN"]),
                   (diagnosis,) if isinstance(diagnosis, str) else tuple(diagnosis))


def catalogue(folder: Path = MISTAKES) -> list[Mistake]:
    """Every mistake file, ordered by layer then name."""
    mistakes = [read(path) for path in sorted(folder.glob("*.py")) if not path.name.startswith("_")]
    return sorted(mistakes, key=lambda m: (m.layer, m.name))
