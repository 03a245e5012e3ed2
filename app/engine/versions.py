"""``versions FILE``: every version of one file across snapshots, from the cache.

The cache's version index stores each tree's entries keyed by tree id (unchanged
folders share one tree id, so it grows with the vault, not with snapshots x files).
Resolving a path in a snapshot is then a few indexed SQLite lookups; a tree not yet
indexed (new cache, another device's snapshot) is read from the vault once.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import blake3

from app.core.models import Change, FileVersion
from app.engine import codec
from app.engine.vault import ns_to_datetime, split_path

if TYPE_CHECKING:
    from app.engine.vault import Vault

# (type, size, mtime_ns, content digest)
Found = tuple[str, int, int, bytes | None]


def index_tree(vault: Vault, tree: bytes) -> None:
    """Load one tree from the vault into the version index."""
    rows: list[tuple[bytes, str, int, int, bytes | None, bytes | None]] = []
    for node in vault.load_tree(tree):
        name = codec.decode_name(node, "name")
        kind = str(node["type"])
        if kind == "file":
            content = b"".join(bytes.fromhex(h) for h in node.get("content", []))
            rows.append(
                (
                    name,
                    kind,
                    int(node.get("size", 0)),
                    int(node.get("mtime_ns", 0)),
                    blake3.blake3(content).digest(),
                    None,
                )
            )
        elif kind == "dir":
            rows.append(
                (
                    name,
                    kind,
                    0,
                    int(node.get("mtime_ns", 0)),
                    None,
                    bytes.fromhex(str(node["subtree"])),
                )
            )
        else:
            rows.append((name, kind, 0, int(node.get("mtime_ns", 0)), None, None))
    vault.cache.index_tree(tree, rows)


def lookup(vault: Vault, root: bytes, parts: list[bytes]) -> Found | None:
    tree = root
    for depth, name in enumerate(parts):
        if not vault.cache.tree_indexed(tree):
            index_tree(vault, tree)
        found = vault.cache.tree_entry(tree, name)
        if found is None:
            return None
        kind, size, mtime_ns, content, subtree = found
        if depth == len(parts) - 1:
            return kind, size, mtime_ns, content
        if kind != "dir" or subtree is None:
            return None
        tree = subtree
    return None


def covers(snapshot_paths: tuple[str, ...], path: str) -> bool:
    """Does a snapshot of these roots hold ``path``'s folder?"""
    raw = os.fsencode(path)
    for root in snapshot_paths:
        broot = os.fsencode(root).rstrip(b"/")
        if raw == broot or raw.startswith(broot + b"/"):
            return True
    return False


def file_versions(vault: Vault, path: str) -> list[FileVersion]:
    path = os.path.normpath(os.path.abspath(path))
    parts = split_path(path)
    versions: list[FileVersion] = []
    previous: Found | None = None
    seen = False
    vault.cache.begin()
    try:
        for snap in vault.snapshots():
            if not covers(snap.paths, path):
                continue
            found = lookup(vault, bytes.fromhex(snap.tree), parts)
            if found is not None and found[0] == "dir":
                found = None  # a folder of that name is not the file
            if found is None:
                if seen and previous is not None:
                    versions.append(FileVersion(snap.id, snap.time, 0, None, Change.DELETED))
                previous = None
                continue
            kind, size, mtime_ns, digest = found
            if previous is None:
                change = Change.ADDED
            elif (previous[0], previous[1], previous[3]) == (kind, size, digest):
                change = Change.UNCHANGED
            else:
                change = Change.CHANGED
            versions.append(FileVersion(snap.id, snap.time, size, ns_to_datetime(mtime_ns), change))
            previous = found
            seen = True
        vault.cache.commit()
    except BaseException:
        vault.cache.rollback()
        raise
    return versions
