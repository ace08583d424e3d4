"""A mutant described by what it changes, not by mutmut's number for it.

mutmut names a mutant ``manual.losses.x_svm_loss__mutmut_7``: the 7th mutant of that function,
a number that changes as soon as a line is added above the mutated one. ``equivalents.toml`` needs
a key that survives such edits, so a mutant is described by its file, its function, the original
source line(s) it changes, the mutated line(s), and the operator — the tokens that differ.

mutmut writes each mutated module with the original function (``x_<f>__mutmut_orig``) and every
mutant (``x_<f>__mutmut_<k>``) as separate top-level functions; the description is the line diff
between the original and the mutant, found by parsing that module.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    """One mutant: mutmut's name for it, where it is, and what it changes."""

    name: str  # mutmut's name, e.g. manual.losses.x_svm_loss__mutmut_7 (not stable)
    file: str  # e.g. manual/losses.py
    function: str  # e.g. svm_loss
    line: str  # the original line(s), stripped; several joined by " ⏎ "
    mutated: str  # the mutated line(s), the same way
    operator: str  # the token change, e.g. "`+` → `-`"

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What equivalents.toml matches on."""
        return self.file, self.function, self.line, self.mutated

    def describe(self) -> str:
        return f"{self.file} {self.function}: `{self.line}` → `{self.mutated}` ({self.operator})"


JOIN = " ⏎ "


def _tokens(text: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER,
                                  tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text.split()


def _join(tokens: list[str]) -> str:
    """Tokens back to text: a space only between two words (``x.shape[0]``, ``not x``)."""
    def wordy(char: str) -> bool:
        return char.isalnum() or char == "_"

    text = ""
    for token in tokens:
        if text and wordy(text[-1]) and wordy(token[0]):
            text += " "
        text += token
    return text


def operator(before: str, after: str) -> str:
    """The token-level change from ``before`` to ``after``: "`a` → `b`", "removed `x`",
    "inserted `y`", several joined by "; "."""
    old, new = _tokens(before), _tokens(after)
    changes = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        a, b = _join(old[i1:i2]), _join(new[j1:j2])
        if tag == "replace":
            changes.append(f"`{a}` → `{b}`")
        elif tag == "delete":
            changes.append(f"removed `{a}`")
        elif tag == "insert":
            changes.append(f"inserted `{b}`")
    return "; ".join(changes) or "no token change"


def _function_lines(lines: list[str], node: ast.FunctionDef, function: str) -> list[str]:
    """The lines of one function, with its name in the ``def`` line put back to the original's (a
    mutant may change the signature's defaults, so the def line is compared too)."""
    body = lines[node.lineno - 1:node.end_lineno]
    return [body[0].replace(f"def {node.name}(", f"def {function}("), *body[1:]]


def describe_mutant(mutants_dir: Path, name: str) -> Mutant:
    """The description of mutant ``name`` from mutmut's mutated module under ``mutants_dir``."""
    module, _, rest = name.partition(".x_")
    function = rest.partition("__mutmut_")[0]
    relative = module.replace(".", "/") + ".py"
    path = mutants_dir / relative
    text = path.read_text("utf-8")
    lines = text.splitlines()
    nodes = {node.name: node for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)}
    original = _function_lines(lines, nodes[f"x_{function}__mutmut_orig"], function)
    mutant = _function_lines(lines, nodes[name.rpartition(".")[2]], function)
    removed, added = [], []
    for line in difflib.ndiff(original, mutant):
        if line.startswith("- "):
            removed.append(line[2:].strip())
        elif line.startswith("+ "):
            added.append(line[2:].strip())
    before, after = JOIN.join(removed), JOIN.join(added)
    return Mutant(name, relative, function, before, after, operator(before, after))
