"""A per-user cache of work that depends only on bytes it is given: the policy files read and
the keys each repeats (yamlfile.py), the patterns the engine was seen to compile
(pattern_probe.py), the JSON Schema of a plan's core (rules/core/vocabulary.py). A cold
`covenant check` spent most of its time redoing this work.

An entry's name is a hash of everything its value depends on, so an edited file or a new
library version is a new entry, never a stale one; nothing is ever invalidated. Values are
bytes the caller wrote (JSON, not pickle: reading the cache never runs code). The folder is
COVENANT_CACHE_DIR ("off": no cache), by default the user's cache folder; a cache that cannot
be read or written is passed by, never an error."""

import hashlib
import os
import tempfile
from pathlib import Path

from services.shared.logging import get_logger

OFF = "off"
_unwritable: list[Path] = []


def folder() -> Path | None:
    """The cache's folder, or None when it is off."""
    chosen = os.environ.get("COVENANT_CACHE_DIR", "")
    if chosen == OFF:
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "covenant-compliance"


def _entry(namespace: str, key: bytes) -> Path | None:
    root = folder()
    return None if root is None else root / namespace / hashlib.sha256(key).hexdigest()


def get(namespace: str, key: bytes) -> bytes | None:
    """What was put under the key, or None."""
    entry = _entry(namespace, key)
    if entry is None:
        return None
    try:
        return entry.read_bytes()
    except OSError:
        return None


def put(namespace: str, key: bytes, value: bytes) -> None:
    """Kept whole or not at all (a temporary file renamed into place), so a reader at the same
    time never sees half an entry; a folder that cannot be written is noted once in the log."""
    entry = _entry(namespace, key)
    if entry is None or entry.parent in _unwritable:
        return
    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=entry.parent, prefix=".", delete=False) as f:
            f.write(value)
        os.replace(f.name, entry)
    except OSError as e:
        _unwritable.append(entry.parent)
        get_logger(__name__).warning(
            "cache_unwritable", error=type(e).__name__,
            hint="COVENANT_CACHE_DIR names a writable folder, or off")
