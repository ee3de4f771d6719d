"""Text a learner controls, made safe to show: no control characters, bounded length.

Anything a learner wrote (exception names and messages, printed output, file names, cell types,
metadata values) may carry ANSI/OSC escape sequences or other control characters that would
recolour, retitle or rewrite an instructor's terminal, or raw bytes that a page would show. Every
place of the grading pipeline that echoes such text to a log, a note or a page passes it through
:func:`printable` first; HTML pages escape it on top (``html.escape``).
"""
from __future__ import annotations

import re

__all__ = ["printable"]

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), other two-byte ESC sequences, then any C0/C1
# control character except newline and tab.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"          # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, terminated or not
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"   # DCS, SOS, PM, APC
    r"|\x1b[@-Z\\-_]"                   # other Fe escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"           # 8-bit CSI
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: object, limit: int | None = None) -> str:
    """``text`` as a string without escape sequences or control characters (newline and tab kept).

    Bidirectional overrides (U+202A–U+202E, U+2066–U+2069), which can make shown text read
    differently from what it is, are removed too. With ``limit``, the result is cut to that many
    characters and says so.
    """
    s = text if isinstance(text, str) else str(text)
    s = _ESCAPE_SEQUENCE.sub("", s)
    s = _CONTROL.sub("", s)
    if limit is not None and len(s) > limit:
        s = s[:limit] + f" … [{len(s) - limit} more characters not shown]"
    return s
