"""The one control-character filter: text from a server (or any outside source) is data, never terminal control.

A title holding `ESC ] 52 ; c ; ... BEL` would write the user's clipboard, `ESC [ 2 J` would clear the screen and
`ESC ] 8 ;;` would plant a link. Rich and Textual keep markup literal but pass ESC through, so every string that
came from outside goes through `safe_text` where a CLI line, a table cell or a TUI label is built.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Whole escape sequences go (so no "[2J" residue is left behind): OSC/DCS/SOS/PM/APC strings up to their
# terminator (BEL, ST) or the end of the text, CSI sequences, and any other two-byte ESC sequence. The C1 forms
# (U+009B CSI, U+009D OSC, ...) are matched too: some terminals obey them.
_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|\x1b[\x20-\x7e]?"
)


def safe_text(value: Any) -> str:
    """`value` as a string a terminal shows literally: escape sequences removed, other control characters
    (C0, DEL, C1, bidi overrides, line breaks) replaced by a space or `?`. Markup characters are left alone:
    the caller still shows the text with markup off."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    text = _SEQUENCE.sub("", text)
    return "".join(ch if ch.isprintable() else _stand_in(ch) for ch in text)


def _stand_in(ch: str) -> str:
    if ch in "\t\n\r\v\f" or unicodedata.category(ch) == "Zs":
        return " "
    return "?"


def safe_lines(value: Any) -> str:
    """`safe_text` for each line, keeping the line breaks (dialog bodies, multi-line messages)."""
    return "\n".join(safe_text(line) for line in str(value).splitlines())
