"""Turning one folder's entries into its tree blob, or reusing the last one.

The walker describes each folder as rows in name order; a signature of those rows is
compared with the one the cache remembers for the folder, so an unchanged folder
reuses its tree id without encoding or hashing any JSON.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import blake3

from app.core.models import EntryType
from app.engine import codec
from app.engine.backup.blobs import BlobSink
from app.engine.cache import Cache
from app.engine.crypto import B_TREE, ID_LEN, Cipher
from app.engine.tree import Node

K_FILE, K_DIR, K_LINK = 0, 1, 2
_KIND = (EntryType.FILE, EntryType.DIR, EntryType.SYMLINK)
_SIG = struct.Struct("<HBIqqI")  # name length, kind, mode, mtime_ns, size, payload length


@dataclass(slots=True)
class Row:
    """One folder entry as the walk sees it. Mutable, unlike ``Node``: the walker
    fills it in as its file's read or its subfolder's walk finishes."""

    name: bytes
    kind: int | None  # K_FILE, K_DIR or K_LINK; None drops the entry (it vanished)
    mode: int
    mtime_ns: int
    size: int
    payload: bytes  # chunk ids (file), subtree id (folder) or link target


class TreeWriter:
    def __init__(self, cache: Cache, sink: BlobSink, cipher: Cipher) -> None:
        self.cache = cache
        self.sink = sink
        self.cipher = cipher

    def tree_for(self, path: bytes, rows: list[Row]) -> bytes:
        """The folder's tree id: reused when the folder's entries are exactly as the
        cache remembers (no JSON, no hashing of it), else encoded and stored."""
        sig = blake3.blake3()
        for row in rows:
            payload = row.payload
            sig.update(
                _SIG.pack(len(row.name), row.kind, row.mode, row.mtime_ns, row.size, len(payload))
            )
            sig.update(row.name)
            sig.update(payload)
        signature = sig.digest()
        cached = self.cache.dir_tree(path)
        if cached is not None and cached[0] == signature and cached[1] in self.sink.known:
            return cached[1]
        entry = codec.entry_json
        tree_bytes = codec.tree_from_entries(
            [
                entry(_KIND[row.kind], row.name, row.mode, row.mtime_ns, row.size, row.payload)  # type: ignore[index]
                for row in rows
            ]
        )
        if len(tree_bytes) > codec.TREE_SPLIT_BYTES:
            tree_id = self._write_tree([_node(row) for row in rows], None)
        else:
            tree_id = self._write_tree([], tree_bytes)
        self.cache.put_dir_tree(path, signature, tree_id)
        return tree_id

    def _write_tree(self, nodes: list[Node], encoded: bytes | None) -> bytes:
        """Store a folder's listing: ``encoded`` when it fits one blob, else ``nodes``
        split into parts."""
        tree_bytes = encoded if encoded is not None else codec.encode_tree(nodes)
        if len(tree_bytes) > codec.TREE_SPLIT_BYTES:
            # A folder too big for one listing blob: store parts, then the list of
            # parts under the folder's tree id (docs/FORMAT.md section 9.1).
            part_ids = []
            for part in codec.split_tree(nodes) or [tree_bytes]:
                part_id = self.cipher.blob_id(part)
                self.sink.add_blob(B_TREE, part_id, part, True)
                part_ids.append(part_id)
            tree_bytes = codec.encode_tree_parts(part_ids)
        tree_id = self.cipher.blob_id(tree_bytes)
        self.sink.add_tree(tree_id, tree_bytes)
        self.sink.collect_packs()
        return tree_id


def _node(row: Row) -> Node:
    name, mode, mtime_ns, payload = row.name, row.mode, row.mtime_ns, row.payload
    if row.kind == K_FILE:
        content = tuple(payload[i : i + ID_LEN] for i in range(0, len(payload), ID_LEN))
        return Node(name, EntryType.FILE, mode, mtime_ns, size=row.size, content=content)
    if row.kind == K_DIR:
        return Node(name, EntryType.DIR, mode, mtime_ns, subtree=payload)
    return Node(name, EntryType.SYMLINK, mode, mtime_ns, target=payload)
