"""Possible copies: submissions whose functions are the same up to renaming, formatting and
comments. A hint for the staff, listed in the class report; it never changes a score.

``fingerprints`` reads a submission's Python files (parsed, never run: the grader reads them as
text) and gives each function a fingerprint of its syntax tree with the docstring dropped and every
name (arguments, locals, the modules and helpers it calls) replaced by its order of first
appearance, so that renaming, reformatting and comments change nothing while any change to what is
computed (an operator, a constant, an attribute such as ``.T`` or ``np.sum``) does. They are
stored in each results.json (``extra_data.bpcheck.fingerprints``), so that a merge of shards
finds what one run finds.

``find`` pairs submissions that share functions: only functions of at least ``MIN_NODES`` nodes
count (``np.maximum(0, x)`` is the same in every correct solution), a function shared by more than
half of a class of at least ``COMMON_FROM`` submissions is taken to be given code (starter code, a
library everyone copies in) and ignored, and a pair is listed when at least ``MIN_SHARED`` of its
functions are the same and they are at least ``THRESHOLD`` of the smaller submission's functions.
"""

from __future__ import annotations

import ast
import hashlib
import os
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_NODES = 25
THRESHOLD = 0.5
MIN_SHARED = 2
COMMON_FROM = 5
MAX_FILES, MAX_BYTES = 200, 1_000_000  # a submission's files read, and the largest read
MAX_TOTAL_BYTES = 4_000_000  # all its files together: parsing costs the grader ~0.1 s a 100 kB
MAX_PAIRS = 100  # listed in the report, most similar first


@dataclass(frozen=True)
class CopiedPair:
    """Two submissions and the functions (of the first) they share."""

    first: str
    second: str
    functions: tuple[str, ...]
    share: float  # shared functions / the smaller submission's counted functions


class _Canonical(ast.NodeTransformer):
    """Names replaced by their order of first appearance; docstrings dropped."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _name(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(self._name(node.id), node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._name(node.arg)
        return self.generic_visit(node)

    def _function(self, node):
        node.name = self._name(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(
                body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = _function


def function_fingerprints(source: str) -> dict[str, tuple[str, int]]:
    """{function name: (fingerprint, nodes)} for the module-level functions of ``source``; {}
    when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            try:
                name = node.name
                canonical = _Canonical().visit(node)
                dump = ast.dump(canonical, annotate_fields=False, include_attributes=False)
                nodes = sum(1 for _ in ast.walk(canonical))
            except (RecursionError, MemoryError):
                continue
            found[name] = (hashlib.sha256(dump.encode()).hexdigest()[:16], nodes)
    return found


def _python_files(entry: Path) -> list[tuple[str, Path]]:
    """(name relative to the submission, path) of its regular .py files, links never followed."""
    if entry.is_file():
        return [(entry.name, entry)]
    found = []
    for folder, subfolders, files in os.walk(entry):  # os.walk follows no link by default
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "__")))
        for name in sorted(files):
            path = Path(folder) / name
            if name.endswith(".py") and stat.S_ISREG(os.lstat(path).st_mode):
                found.append((path.relative_to(entry).as_posix(), path))
            if len(found) >= MAX_FILES:
                return found
    return found


def fingerprints(entry: Path) -> dict[str, list]:
    """{"file:function": [fingerprint, nodes]} for a submission (a .py file or a folder): at most
    ``MAX_FILES`` files of ``MAX_BYTES`` each and ``MAX_TOTAL_BYTES`` in all are read."""
    found: dict[str, list] = {}
    try:
        files = _python_files(entry)
    except OSError:
        return found
    budget = MAX_TOTAL_BYTES
    for relative, path in files:
        try:
            size = os.lstat(path).st_size
            if size > MAX_BYTES or size > budget:
                continue
            budget -= size
            source = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for function, (digest, nodes) in function_fingerprints(source).items():
            found[f"{relative}:{function}"] = [digest, nodes]
    return found


def _counted(document: Any) -> dict[str, str]:
    """{fingerprint: function name} of a document's functions large enough to count."""
    try:
        stored = document["extra_data"]["bpcheck"]["fingerprints"]
    except (KeyError, TypeError):
        return {}
    counted = {}
    for key, value in (stored.items() if isinstance(stored, dict) else ()):
        if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
                and isinstance(value[1], int) and value[1] >= MIN_NODES):
            counted.setdefault(value[0], str(key).rpartition(":")[2])
    return counted


def find(documents: dict[str, Any]) -> list[CopiedPair]:
    """The pairs of submissions that look copied, most similar first (at most ``MAX_PAIRS``)."""
    counted = {name: _counted(documents[name]) for name in sorted(documents)}
    holders: dict[str, list[str]] = defaultdict(list)
    for name, functions in counted.items():
        for digest in functions:
            holders[digest].append(name)
    common = {d for d, names in holders.items()
              if len(counted) >= COMMON_FROM and len(names) > len(counted) / 2}
    shared: dict[tuple[str, str], list[str]] = defaultdict(list)
    for digest, names in holders.items():
        if digest in common:
            continue
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                shared[(first, second)].append(digest)
    pairs = []
    for (first, second), digests in shared.items():
        smaller = min(len(set(counted[first]) - common), len(set(counted[second]) - common))
        share = len(digests) / smaller if smaller else 0.0
        if len(digests) >= MIN_SHARED and share >= THRESHOLD:
            functions = tuple(sorted(counted[first][d] for d in digests))
            pairs.append(CopiedPair(first, second, functions, share))
    pairs.sort(key=lambda p: (-len(p.functions), -p.share, p.first, p.second))
    return pairs[:MAX_PAIRS]
