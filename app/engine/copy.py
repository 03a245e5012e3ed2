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
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.errors import AppError, VaultCorruptError
from app.core.events import Warning_
from app.engine import codec
from app.engine.crypto import B_DATA, B_TREE
from app.engine.locks import VaultLock
from app.engine.packer import Packer
from app.engine.repository import Repository
from app.engine.tree import Node


@dataclass(frozen=True)
class CopyResult:
    snapshots: int
    blobs: int
    bytes_copied: int
    skipped: tuple[Warning_, ...] = ()  # damaged files, folders or snapshots left out


def _join(folder: str, name: bytes) -> str:
    return folder.rstrip("/") + "/" + os.fsdecode(name)


class _Copier:
    def __init__(
        self,
        source: Repository,
        dest: Repository,
        cancel: CancelToken,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.on_bytes = on_bytes
        self.source = source
        self.dest = dest
        self.cancel = cancel
        self.packer = Packer(dest.storage, dest.cipher, target_size=dest.pack_size)
        self.ids: dict[bytes, bytes] = {}  # source blob id -> destination blob id
        self.bad: set[bytes] = set()  # source blobs and trees that failed to verify
        self.present = set(dest.blob_ids())
        self.bytes_copied = 0
        self.skipped: list[Warning_] = []

    def blob(self, old_id: bytes, kind: int) -> bytes:
        new_id = self.ids.get(old_id)
        if new_id is not None:
            return new_id
        if old_id in self.bad:
            raise VaultCorruptError(f"Blob {old_id.hex()[:16]} is damaged.")
        try:
            plain = self.source.read_blob(old_id, kind)  # verified: never copies bad bytes
        except VaultCorruptError:
            self.bad.add(old_id)
            raise
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
            if self.on_bytes is not None:
                self.on_bytes(self.bytes_copied)
        return new_id

    def skip(self, path: str, exc: Exception) -> None:
        message = exc.message if isinstance(exc, AppError) else str(exc)
        self.skipped.append(Warning_(path, f"not copied: {message}"))

    def tree(self, root: bytes, root_path: str = "/") -> bytes | None:
        """Copy the tree ``root`` and everything below it; returns its new id, or
        None when ``root`` itself is damaged.

        Post-order over an explicit stack: a folder's tree is written once all its
        subfolders have their new ids (no recursion, so any depth works). A damaged
        file or folder is left out of its parent and named in ``skipped`` (once,
        under the first path it was met at: trees are shared between snapshots).
        """
        done = self.ids
        open_trees: set[bytes] = set()  # on the current path: seeing one again is a cycle
        stack: list[tuple[bytes, list[Node] | None, str]] = [(root, None, root_path)]
        while stack:
            self.cancel.check()
            tree_id, nodes, path = stack.pop()
            if tree_id in done or tree_id in self.bad:
                continue
            if nodes is None:
                try:
                    if tree_id in open_trees:
                        raise VaultCorruptError(f"Folder {tree_id.hex()[:16]} contains itself.")
                    nodes = self.source.load_tree(tree_id)
                    pending = [(n.subtree_id(), _join(path, n.name)) for n in nodes if n.is_dir]
                except VaultCorruptError as exc:
                    self.bad.add(tree_id)
                    self.skip(path, exc)
                    continue
                pending = [(t, p) for t, p in pending if t not in done and t not in self.bad]
                if pending:
                    open_trees.add(tree_id)
                    stack.append((tree_id, nodes, path))
                    stack.extend((sub, None, sub_path) for sub, sub_path in pending)
                    continue
            rewritten: list[Node] = []
            for node in nodes:
                if node.is_dir:
                    sub = node.subtree_id()
                    if sub in self.bad:
                        continue  # named when it failed
                    node = replace(node, subtree=done[sub])
                elif node.is_file:
                    try:
                        content = tuple(self.blob(b, B_DATA) for b in node.content)
                    except VaultCorruptError as exc:
                        self.skip(_join(path, node.name), exc)
                        continue
                    node = replace(node, content=content)
                rewritten.append(node)
            done[tree_id] = self.store(codec.encode_tree(rewritten), B_TREE)
            open_trees.discard(tree_id)
        return done.get(root)

    def commit(self) -> None:
        """Packs first, then the index naming them (FORMAT.md write ordering)."""
        self.packer.flush()
        completed = dict(self.packer.completed())
        if completed:
            self.dest.write_index(completed)


def copy_vault(
    source: Repository,
    dest: Repository,
    *,
    on_snapshot: Callable[[int, int], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: CancelToken = NEVER_CANCELLED,
) -> CopyResult:
    """Copy every readable snapshot of ``source`` into ``dest`` (new keys), oldest
    first. Every blob is verified on reading, so nothing wrong is ever copied: a
    damaged file or folder is left out and named in ``CopyResult.skipped`` (a
    snapshot whose root is damaged too). An interrupted copy leaves ``dest`` a valid
    vault holding the snapshots copied so far. Holds a shared lock on both vaults,
    so a prune cannot delete data under it. ``on_bytes`` hears the bytes copied
    so far after each new blob (the first snapshot holds most of them)."""
    snaps = source.snapshots()
    docs = source.cache.snapshot_docs()
    with (
        VaultLock(source.storage, source.cipher, exclusive=False),
        VaultLock(dest.storage, dest.cipher, exclusive=False) as dest_lock,
    ):
        copier = _Copier(source, dest, cancel, on_bytes)
        try:
            for number, snap in enumerate(snaps, 1):
                doc: dict[str, Any] = json.loads(docs[snap.id])
                tree = copier.tree(bytes.fromhex(snap.tree))
                if tree is None:
                    copier.skipped.append(
                        Warning_(
                            f"snapshot {snap.id[:8]}", "not copied: its folder list is damaged"
                        )
                    )
                    continue
                doc["tree"] = tree.hex()
                copier.commit()
                dest_lock.ensure_held()  # as backup: commit only with proof of the lock
                dest.write_snapshot(doc)
                if on_snapshot is not None:
                    on_snapshot(number, len(snaps))
        finally:
            copier.packer.close()
    copied = len(snaps) - sum(w.path.startswith("snapshot ") for w in copier.skipped)
    return CopyResult(copied, len(copier.ids), copier.bytes_copied, tuple(copier.skipped))
