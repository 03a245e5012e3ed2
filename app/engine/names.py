"""Which storage names are vault objects (docs/FORMAT.md section 1).

Finder, Explorer and sync tools leave their own files on external drives and in
synced folders (``.DS_Store``, ``desktop.ini``, ``Thumbs.db``). A name that does not
match the format is not ours: readers skip it (never fail on it), prune never
deletes it, and ``check`` names it as a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.storage.base import ObjectInfo, Storage

_PATTERNS = {
    "keys/": re.compile(r"keys/[0-9a-f]{32}"),
    "index/": re.compile(r"index/[0-9a-f]{64}"),
    "snapshots/": re.compile(r"snapshots/[0-9a-f]{64}"),
    "locks/": re.compile(r"locks/[0-9a-f]{32}"),
    "data/": re.compile(r"data/([0-9a-f]{2})/\1[0-9a-f]{62}"),
}


def is_object_name(name: str) -> bool:
    """True for ``config`` and the names of the layout table."""
    if name == "config":
        return True
    prefix = name.split("/", 1)[0] + "/"
    pattern = _PATTERNS.get(prefix)
    return pattern is not None and pattern.fullmatch(name) is not None


def list_objects(storage: Storage, prefix: str) -> Iterator[ObjectInfo]:
    """``storage.list(prefix)`` without names that are not vault objects.

    ``prefix`` is one of the layout's folders (``"index/"``, ``"data/"``...)."""
    pattern = _PATTERNS[prefix]
    for info in storage.list(prefix):
        if pattern.fullmatch(info.name):
            yield info


def stray_names(storage: Storage) -> list[str]:
    """Every name in the vault's folder that is not a vault object."""
    return sorted(info.name for info in storage.list("") if not is_object_name(info.name))
