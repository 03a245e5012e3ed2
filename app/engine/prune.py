"""Forget snapshots and prune data no snapshot needs, safely.

Prune holds the exclusive lock. Order (docs/FORMAT.md): repacked blobs go into new
packs, then a new index naming every surviving pack is written, then the old index
objects are deleted, and only then the packs no index names. A kill at any point
leaves every snapshot restorable (extra packs or duplicate index entries are
harmless and the next prune removes them). Prune refuses to run if any index or tree
cannot be read: deleting on incomplete knowledge could lose data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import humanize

from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.errors import AppError, ErrorCode, StorageError, VaultCorruptError
from app.core.events import Phase, ProgressCallback, ignore_progress
from app.core.models import SnapshotInfo
from app.engine import codec
from app.engine.crypto import B_KIND_MASK, B_TREE
from app.engine.locks import VaultLock, remove_stale_locks
from app.engine.names import list_objects
from app.engine.packer import Packer, pack_name
from app.engine.progress import ProgressMeter
from app.engine.repository import HEADERS_PREFIX, Repository

REPACK_UNUSED_FRACTION = 0.3
SMALL_PACK_FRACTION = 0.25
#: Packs named per index object when prune rewrites the index.
INDEX_PACKS_PER_OBJECT = 256


@dataclass(frozen=True)
class PruneStats:
    packs_deleted: int
    packs_repacked: int
    packs_written: int
    bytes_before: int
    bytes_after: int

    def summary(self) -> str:
        freed = max(self.bytes_before - self.bytes_after, 0)
        return (
            f"Pruned: {self.packs_deleted} pack(s) deleted, {self.packs_repacked} repacked; "
            f"{humanize.naturalsize(freed, binary=True)} freed "
            f"({humanize.naturalsize(self.bytes_after, binary=True)} remain)."
        )


def _delete_all(repo: Repository, names: list[str]) -> None:
    """One batch call where the backend has one (Dropbox: 1,000 per job), else one by one."""
    if len(names) > 1:
        repo.storage.delete_many(names)
        return
    for name in names:
        repo.storage.delete(name)


def forget_snapshots(repo: Repository, snapshots: list[SnapshotInfo]) -> None:
    _delete_all(repo, [f"snapshots/{snap.id}" for snap in snapshots])
    for snap in snapshots:
        repo.cache.remove_snapshot(snap.id)


def _used_blobs(repo: Repository, snapshots: list[SnapshotInfo], cancel: CancelToken) -> set[bytes]:
    used: set[bytes] = set()
    stack = [bytes.fromhex(s.tree) for s in snapshots]
    while stack:
        cancel.check()
        tree = stack.pop()
        if tree in used:
            continue
        used.add(tree)
        try:
            nodes = repo.load_tree(tree)
        except (VaultCorruptError, StorageError) as exc:
            raise AppError(
                f"A folder listing cannot be read ({exc}); prune stopped without deleting anything. "
                "Run 'keepsake check'.",
                code=ErrorCode.VAULT_CORRUPT,
            ) from exc
        used.update(repo.tree_parts.get(tree, ()))
        for node in nodes:
            if node.is_file:
                used.update(node.content)
            elif node.is_dir:
                stack.append(node.subtree_id())
    return used


def run_prune(
    repo: Repository,
    *,
    on_progress: ProgressCallback = ignore_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> PruneStats:
    meter = ProgressMeter(on_progress, Phase.PRUNING)
    meter.emit(force=True)
    remove_stale_locks(repo.storage, repo.cipher)
    with VaultLock(repo.storage, repo.cipher, exclusive=True):
        repo.index_problems.clear()
        repo.sync(force=True)
        # A damaged index object is no obstacle when every pack no readable index
        # names has a readable header: the sync rebuilt what it described from them,
        # and the new index objects written below replace it. A damaged snapshot, or
        # a pack nothing can describe, is: deleting then could lose data.
        damaged_snapshots = repo.damaged_snapshots()
        if damaged_snapshots or (repo.damaged_indexes and repo.unreadable_packs):
            raise AppError(
                "Some index or snapshot objects cannot be read; prune stopped without deleting "
                "anything. Run 'keepsake check'.",
                code=ErrorCode.VAULT_CORRUPT,
            )
        snapshots = repo.snapshots()
        used = _used_blobs(repo, snapshots, cancel)
        index: dict[bytes, list[codec.BlobEntry]] = {}
        located: set[bytes] = set()
        for blob_id, blob_type, pack, offset, length, raw in repo.cache.iter_blobs():
            index.setdefault(pack, []).append(
                codec.BlobEntry(blob_type, blob_id, offset, length, raw)
            )
            located.add(blob_id)
        missing = used - located
        if missing:
            raise AppError(
                f"{len(missing)} chunk(s) that snapshots need are not in the index; prune stopped "
                "without deleting anything. Run 'keepsake check --read-data'.",
                code=ErrorCode.VAULT_CORRUPT,
            )
        sizes: dict[bytes, int] = {}
        for info in list_objects(repo.storage, "data/"):
            try:
                sizes[bytes.fromhex(os.path.basename(info.name))] = info.size
            except ValueError:
                continue
        bytes_before = sum(sizes.values())
        keep: dict[bytes, list[codec.BlobEntry]] = {}
        repack: dict[bytes, list[codec.BlobEntry]] = {}
        delete: set[bytes] = {p for p in sizes if p not in index}  # orphans of dead backups
        placed: set[bytes] = set()
        small: list[bytes] = []
        for pack, entries in index.items():
            if pack not in sizes:
                continue  # named by the index but gone; check reports it
            live = [e for e in entries if e.id in used and e.id not in placed]
            live_ids = {e.id for e in live}
            dead_bytes = sum(e.length for e in entries if e.id not in live_ids)
            total = sum(e.length for e in entries) or 1
            if not live:
                delete.add(pack)
            elif dead_bytes / total > REPACK_UNUSED_FRACTION:
                repack[pack] = live
            else:
                keep[pack] = live
                if sizes[pack] < SMALL_PACK_FRACTION * repo.pack_size:
                    small.append(pack)
            placed.update(e.id for e in live)
        if len(small) > 1:  # combine small packs left by many small backups
            for pack in small:
                repack[pack] = keep.pop(pack)
        meter.files_total = len(repack)
        packer = Packer(
            repo.storage,
            repo.cipher,
            target_size=repo.pack_size,
            writers=repo.storage.capabilities.connections,
        )
        try:
            for pack, live in repack.items():
                cancel.check()
                for e in live:
                    sealed = repo.storage.get_range(pack_name(pack), e.offset, e.length)
                    plain = repo.open_sealed_blob(e.type, e.id, sealed, e.raw_length)
                    kind = e.type & B_KIND_MASK
                    compress = kind == B_TREE or not codec.looks_incompressible(plain)
                    packer.add_blob(kind, e.id, plain, try_compress=compress)
                meter.files_done += 1
                meter.emit()
            packer.flush()
        finally:
            packer.close()
        new_packs = dict(packer.completed())
        surviving = {**keep, **new_packs}
        old_indexes = sorted(
            {n for n in repo.cache.known_indexes() if not n.startswith(HEADERS_PREFIX)}
            | repo.damaged_indexes
        )
        repo.cache.begin()
        repo.cache.clear_index()
        # The whole index anew, stored together (one put_many per batch).
        items = list(surviving.items())
        step = INDEX_PACKS_PER_OBJECT
        repo.write_indexes(dict(items[i : i + step]) for i in range(0, len(items), step))
        repo.cache.commit()
        _delete_all(repo, old_indexes)
        # With the exclusive lock held nobody is writing: any temp file is a leftover
        # of a killed writer.
        repo.storage.remove_stale_temp_files()
        _delete_all(repo, [pack_name(p) for p in delete | set(repack)])
        bytes_after = sum(sizes[p] for p in keep) + packer.bytes_written
        repo.forget_blob_ids()
    meter.emit(final=True)
    return PruneStats(len(delete), len(repack), packer.packs_written, bytes_before, bytes_after)
