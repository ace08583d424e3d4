"""Text that came from a submission, made safe to show: on a terminal, in a report, in a table.

A submission chooses its file names and its error messages. Shown raw, an escape sequence in them
would drive the instructor's terminal (recolour it, move the cursor, rewrite earlier lines) and a
bidirectional override would make a report read other than it is. ``printable`` writes every
control and format character as an escape (``\\x1b``, ``\\u202e``) instead.
"""

from __future__ import annotations

import unicodedata

#: Kept as they are when ``keep_newlines``: they only break lines.
_LAYOUT = {"\n", "\t"}


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with its control characters (C0, C1, DEL) and Unicode format, line and paragraph
    separators written as escapes; newlines and tabs kept unless ``keep_newlines`` is false."""
    if text.isprintable() and not any(c in text for c in "\u2028\u2029"):
        return text
    out = []
    for char in text:
        if keep_newlines and char in _LAYOUT:
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn") or (
                not keep_newlines and char in _LAYOUT):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)
