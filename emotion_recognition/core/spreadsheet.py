"""Text that a person typed or named (a journal note, a file name), made safe for the CSV
files the app writes and reads.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return, which it
strips first) as a formula: "=HYPERLINK(...)" in an export would be a link, or worse. So, as
OWASP recommends, such a text cell is written with a leading apostrophe (which spreadsheets
show as text and do not display), and read back without it. Control characters (NUL and
the like) and the invisible marks that reverse how text is displayed (bidirectional
overrides, which can make "exe.jpg" show as "gpj.exe") are removed from what is typed or
imported.
"""

from __future__ import annotations

import re
import unicodedata

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe_cell(value):
    """A CSV cell that no spreadsheet runs: a text starting like a formula gets a leading
    apostrophe; numbers and other texts are as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return ESCAPE + value
    return value


def read_cell(text: str) -> str:
    """A text cell as ``safe_cell`` wrote it -> the text itself (the apostrophe removed)."""
    if text.startswith(ESCAPE) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def plain_text(text: str) -> str:
    """``text`` without control characters (tabs and line breaks become spaces) and without
    bidirectional overrides."""
    text = BIDI_CONTROLS.sub("", text)
    return "".join(" " if char in "\t\n\r\v\f" else char for char in text
                   if char in "\t\n\r\v\f" or unicodedata.category(char) != "Cc")
