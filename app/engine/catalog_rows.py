"""Plain helpers of the browser's catalog: tree objects as rows, which backups cover
a path, snapshot records as JSON (kept in the catalog so it opens without the cache)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime

import blake3

from app.core.errors import StorageError, VaultCorruptError
from app.core.models import SnapshotInfo
from app.engine.tree import Node

# name, type, size, mtime_ns, digest, subtree
Row = tuple[bytes, str, int, int, bytes | None, bytes | None]
LoadTree = Callable[[bytes], list[Node]]


def covers(roots: tuple[bytes, ...], path: bytes) -> bool:
    """Does a backup of these roots hold ``path``'s folder? (as ``keepsake versions``)"""
    return any(path == r or path.startswith(r + b"/") for r in roots)


def tree_rows(nodes: list[Node]) -> list[Row]:
    """A tree object's nodes as catalog rows (the digest names the file's content)."""
    rows: list[Row] = []
    for node in nodes:
        kind, mtime = node.type.value, node.mtime_ns
        if node.is_file:
            digest = blake3.blake3(b"".join(node.content)).digest()
            rows.append((node.name, kind, node.size, mtime, digest, None))
        elif node.is_dir:
            rows.append((node.name, kind, 0, mtime, None, node.subtree_id()))
        else:
            rows.append((node.name, kind, 0, mtime, None, None))
    return rows


def safe_load(load_tree: LoadTree) -> LoadTree:
    """A tree that cannot be read (damaged vault) lists as empty, not as a crash."""

    def load(tree: bytes) -> list[Node]:
        try:
            return load_tree(tree)
        except (VaultCorruptError, StorageError):
            return []

    return load


def root_of(path: str) -> bytes:
    return os.fsencode(path).rstrip(b"/")  # "/" -> b"": covers every path


def info_to_json(info: SnapshotInfo) -> str:
    return json.dumps(
        {
            "id": info.id,
            "time": info.time.isoformat(),
            "hostname": info.hostname,
            "device_id": info.device_id,
            "paths": list(info.paths),
            "files": info.files,
            "bytes": info.bytes,
            "tree": info.tree,
            "tags": list(info.tags),
        }
    )


def info_from_json(doc: str) -> SnapshotInfo:
    d = json.loads(doc)
    return SnapshotInfo(
        id=str(d["id"]),
        time=datetime.fromisoformat(d["time"]),
        hostname=str(d["hostname"]),
        device_id=str(d["device_id"]),
        paths=tuple(str(p) for p in d["paths"]),
        files=int(d["files"]),
        bytes=int(d["bytes"]),
        tree=str(d["tree"]),
        tags=tuple(str(t) for t in d["tags"]),
    )
