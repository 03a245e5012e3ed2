"""``versions FILE``: every version of one file across snapshots, from the cache.

The cache's version index stores each tree's entries keyed by tree id (unchanged
folders share one tree id, so it grows with the repo, not with snapshots x files).
Resolving a path in a snapshot is then a few indexed SQLite lookups; a tree not yet
indexed (new cache, another device's snapshot) is read from the vault once.
"""

from __future__ import annotations

import os

import blake3

from app.core.models import Change, FileVersion
from app.engine.repository import Repository
from app.engine.tree import ns_to_datetime, split_path

# (type, size, mtime_ns, content digest)
Found = tuple[str, int, int, bytes | None]


def index_tree(repo: Repository, tree: bytes) -> None:
    """Load one tree from the vault into the version index."""
    rows: list[tuple[bytes, str, int, int, bytes | None, bytes | None]] = []
    for node in repo.load_tree(tree):
        kind = node.type.value
        if node.is_file:
            digest = blake3.blake3(b"".join(node.content)).digest()
            rows.append((node.name, kind, node.size, node.mtime_ns, digest, None))
        elif node.is_dir:
            rows.append((node.name, kind, 0, node.mtime_ns, None, node.subtree_id()))
        else:
            rows.append((node.name, kind, 0, node.mtime_ns, None, None))
    repo.cache.index_tree(tree, rows)


def lookup(repo: Repository, root: bytes, parts: list[bytes]) -> Found | None:
    tree = root
    for depth, name in enumerate(parts):
        if not repo.cache.tree_indexed(tree):
            index_tree(repo, tree)
        found = repo.cache.tree_entry(tree, name)
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


def file_versions(repo: Repository, path: str) -> list[FileVersion]:
    path = os.path.normpath(os.path.abspath(path))
    parts = split_path(path)
    versions: list[FileVersion] = []
    previous: Found | None = None
    seen = False
    repo.cache.begin()
    try:
        for snap in repo.snapshots():
            if not covers(snap.paths, path):
                continue
            found = lookup(repo, bytes.fromhex(snap.tree), parts)
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
        repo.cache.commit()
    except BaseException:
        repo.cache.rollback()
        raise
    return versions
