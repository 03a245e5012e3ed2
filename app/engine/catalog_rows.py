"""Plain helpers of the browser's catalog: tree objects as rows, which backups cover
a path, snapshot records as JSON (kept in the catalog so it opens without the cache)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import blake3

from app.core.errors import StorageError, VaultCorruptError
from app.core.models import SnapshotInfo
from app.engine import codec

# name, type, size, mtime_ns, digest, subtree
Row = tuple[bytes, str, int, int, bytes | None, bytes | None]
LoadTree = Callable[[bytes], list[dict[str, Any]]]


def covers(roots: tuple[bytes, ...], path: bytes) -> bool:
    """Does a backup of these roots hold ``path``'s folder? (as ``keepsake versions``)"""
    return any(path == r or path.startswith(r + b"/") for r in roots)


def tree_rows(nodes: list[dict[str, Any]]) -> list[Row]:
    """A tree object's nodes as catalog rows (the digest names the file's content)."""
    rows: list[Row] = []
    for node in nodes:
        name = codec.decode_name(node, "name")
        kind = str(node.get("type"))
        mtime = int(node.get("mtime_ns", 0))
        if kind == "file":
            content = b"".join(bytes.fromhex(h) for h in node.get("content", []))
            digest = blake3.blake3(content).digest()
            rows.append((name, kind, int(node.get("size", 0)), mtime, digest, None))
        elif kind == "dir":
            rows.append((name, kind, 0, mtime, None, bytes.fromhex(str(node["subtree"]))))
        else:
            rows.append((name, kind, 0, mtime, None, None))
    return rows


def safe_load(load_tree: LoadTree) -> LoadTree:
    """A tree that cannot be read (damaged vault) lists as empty, not as a crash."""

    def load(tree: bytes) -> list[dict[str, Any]]:
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
