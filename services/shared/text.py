"""Text that is safe to show: in mail headers, subjects, display names and log-free letters.

Removes control characters (C0, DEL, C1: no header injection, no terminal escapes) and the
Unicode bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), which
can make a subject or a name read differently from what it says ("Trojan Source", CVE-2021-
42574); collapses runs of white space; bounds the length."""

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def plain(text: str, limit: int | None = None) -> str:
    flat = " ".join(_UNSAFE.sub(" ", text).split())
    if limit is not None and len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat


FORMULA_STARTS = ("=", "+", "-", "@")  # what makes a spreadsheet read a text cell as a formula


def cell(value: object) -> object:
    """A table cell for CSV or XLSX: a text a spreadsheet would run as a formula is written as
    text (a leading '), so plan contents never become a formula on a reader's machine (CWE-1236);
    other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value
