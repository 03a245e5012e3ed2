"""Copy every snapshot of a vault into a new vault with new master keys.

Why: ``key passwd`` and ``key recovery-key`` replace key objects but keep the
master keys (re-encrypting everything is what they avoid). Whoever kept an old key
object (Dropbox's deleted-file history, an old copy of the drive) can still unwrap
the master keys with the old passphrase, and they open every snapshot, new ones
too. The only way out is data under new keys: this copies the whole history into a
fresh vault, so the old vault can then be deleted everywhere.

How: each snapshot, oldest first, is walked; every blob is read and verified from
the source, given its id under the new id key, sealed under the new encryption key
and packed into the destination; trees are rewritten with the new ids (bottom up,
without recursion); then the index and a snapshot with the same time, host, paths
and counts are written, in the usual order (packs, index, snapshot). A blob shared
by many snapshots is copied once. The destination keeps the source's chunker
parameters, so the first backup into it finds the copied chunks and uploads only
what changed (the cost: the chunk-boundary seed is not renewed).

Cost: every blob is downloaded and uploaded once (the size of the vault, both
ways), and the destination needs as much space as the source until that is deleted.
Memory: 64 bytes per distinct blob for the id map, plus one pack buffer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.errors import VaultCorruptError
from app.engine import codec
from app.engine.crypto import B_DATA, B_TREE
from app.engine.locks import VaultLock
from app.engine.packer import Packer
from app.engine.vault import Vault


@dataclass(frozen=True)
class CopyResult:
    snapshots: int
    blobs: int
    bytes_copied: int


class _Copier:
    def __init__(self, source: Vault, dest: Vault, cancel: CancelToken) -> None:
        self.source = source
        self.dest = dest
        self.cancel = cancel
        self.packer = Packer(dest.storage, dest.cipher, target_size=dest.pack_size)
        self.ids: dict[bytes, bytes] = {}  # source blob id -> destination blob id
        self.present = set(dest.blob_ids())
        self.bytes_copied = 0

    def blob(self, old_id: bytes, kind: int) -> bytes:
        new_id = self.ids.get(old_id)
        if new_id is not None:
            return new_id
        plain = self.source.read_blob(old_id, kind)  # verified: never copies bad bytes
        new_id = self.store(plain, kind)
        self.ids[old_id] = new_id
        return new_id

    def store(self, plain: bytes, kind: int) -> bytes:
        new_id = self.dest.cipher.blob_id(plain)
        if new_id not in self.present:
            compress = kind == B_TREE or not codec.looks_incompressible(plain[:65536])
            self.packer.add_blob(kind, new_id, plain, try_compress=compress)
            self.present.add(new_id)
            self.bytes_copied += len(plain)
        return new_id

    def tree(self, root: bytes) -> bytes:
        """Copy the tree ``root`` and everything below it; returns its new id.

        Post-order over an explicit stack: a folder's tree is written once all its
        subfolders have their new ids (no recursion, so any depth works).
        """
        done = self.ids
        open_trees: set[bytes] = set()  # on the current path: seeing one again is a cycle
        stack: list[tuple[bytes, list[dict[str, Any]] | None]] = [(root, None)]
        while stack:
            self.cancel.check()
            tree_id, nodes = stack.pop()
            if tree_id in done:
                continue
            if nodes is None:
                if tree_id in open_trees:
                    raise VaultCorruptError(f"Folder {tree_id.hex()[:16]} contains itself.")
                nodes = self.source.load_tree(tree_id)
                pending = [
                    bytes.fromhex(str(n["subtree"]))
                    for n in nodes
                    if n.get("type") == "dir" and bytes.fromhex(str(n["subtree"])) not in done
                ]
                if pending:
                    open_trees.add(tree_id)
                    stack.append((tree_id, nodes))
                    stack.extend((sub, None) for sub in pending)
                    continue
            rewritten: list[dict[str, Any]] = []
            for node in nodes:
                new = dict(node)
                if node.get("type") == "dir":
                    new["subtree"] = done[bytes.fromhex(str(node["subtree"]))].hex()
                elif node.get("type") == "file":
                    new["content"] = [
                        self.blob(bytes.fromhex(h), B_DATA).hex() for h in node.get("content", [])
                    ]
                rewritten.append(new)
            done[tree_id] = self.store(codec.encode_tree(rewritten), B_TREE)
            open_trees.discard(tree_id)
        return done[root]

    def commit(self) -> None:
        """Packs first, then the index naming them (FORMAT.md write ordering)."""
        self.packer.flush()
        completed = dict(self.packer.completed())
        if completed:
            self.dest.write_index(completed)


def copy_vault(
    source: Vault,
    dest: Vault,
    *,
    on_snapshot: Callable[[int, int], None] | None = None,
    cancel: CancelToken = NEVER_CANCELLED,
) -> CopyResult:
    """Copy every readable snapshot of ``source`` into ``dest`` (new keys), oldest
    first. A damaged blob stops the copy with the engine's error: nothing wrong is
    ever copied, and an interrupted copy leaves ``dest`` a valid vault holding the
    snapshots copied so far. Holds a shared lock on both vaults, so a prune cannot
    delete data under it."""
    snaps = source.snapshots()
    docs = source.cache.snapshot_docs()
    with (
        VaultLock(source.storage, source.cipher, exclusive=False),
        VaultLock(dest.storage, dest.cipher, exclusive=False) as dest_lock,
    ):
        copier = _Copier(source, dest, cancel)
        try:
            for number, snap in enumerate(snaps, 1):
                doc: dict[str, Any] = json.loads(docs[snap.id])
                doc["tree"] = copier.tree(bytes.fromhex(snap.tree)).hex()
                copier.commit()
                dest_lock.ensure_held()  # as backup: commit only with proof of the lock
                dest.write_snapshot(doc)
                if on_snapshot is not None:
                    on_snapshot(number, len(snaps))
        finally:
            copier.packer.close()
    return CopyResult(len(snaps), len(copier.ids), copier.bytes_copied)
