"""Known equivalent mutants, kept in ``mutation/equivalents.toml`` with the reason for each.

A mutant is equivalent when no input in the layer's domain can tell it from the original (it
computes the same function, or differs only where the protocol leaves the result free). Each entry
is matched on the mutant's stable description (``describe.Mutant.key``): file, function, the
original line and the mutated line. ``operator`` is informative only, and ``reason`` is required.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from mutation.describe import Mutant

FILE = Path(__file__).resolve().parent / "equivalents.toml"


@dataclass(frozen=True)
class Equivalent:
    file: str
    function: str
    line: str
    mutated: str
    operator: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.file, self.function, self.line, self.mutated


def load(path: Path = FILE) -> dict[tuple[str, str, str, str], Equivalent]:
    """The equivalents by key; an entry without a reason, or listed twice, is an error."""
    if not path.exists():
        return {}
    try:
        entries = tomllib.loads(path.read_text("utf-8")).get("equivalent", [])
    except tomllib.TOMLDecodeError as exc:  # e.g. an apostrophe inside a '…' string
        raise ValueError(f"{path.name} is not valid TOML: {exc}") from None
    known: dict[tuple[str, str, str, str], Equivalent] = {}
    for entry in entries:
        item = Equivalent(entry["file"], entry["function"], entry["line"], entry["mutated"],
                          entry.get("operator", ""), entry.get("reason", "").strip())
        if not item.reason:
            raise ValueError(f"{path.name}: {item.function} `{item.mutated}` has no reason")
        if item.key in known:
            raise ValueError(f"{path.name}: {item.function} `{item.mutated}` is listed twice")
        known[item.key] = item
    return known


def _quote(text: str) -> str:
    """A TOML literal string when possible (no escapes to get wrong), else a basic one."""
    if "'" not in text and "\n" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def entry(mutant: Mutant, reason: str = "TODO: why no input can tell it apart") -> str:
    """A ready-to-paste equivalents.toml entry for ``mutant``."""
    return "\n".join([
        "[[equivalent]]",
        f"file = {_quote(mutant.file)}",
        f"function = {_quote(mutant.function)}",
        f"line = {_quote(mutant.line)}",
        f"mutated = {_quote(mutant.mutated)}",
        f"operator = {_quote(mutant.operator)}",
        f"reason = {_quote(reason)}",
        "",
    ])
