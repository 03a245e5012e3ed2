"""Where a backup's blobs go: deduplicated, packed, and indexed in batches.

Every reader thread and the tree builder hand blobs to one ``BlobSink``. A blob the
vault already has (or that is already on its way) is skipped; the rest go to the
packer, and finished packs are named by an index object every few packs, so a
killed backup loses little and holds few index entries in memory.
"""

from __future__ import annotations

import threading

from app.core.errors import NotFoundInStorage, VaultCorruptError
from app.engine import codec
from app.engine.crypto import B_COMPRESSED, B_DATA, ID_LEN
from app.engine.names import list_objects
from app.engine.packer import Packer
from app.engine.repository import Repository

INDEX_EVERY_PACKS = 16
INDEX_EVERY_ENTRIES = 20_000


class BlobSink:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        # The repository's own id set: write_index adds to it, so ids indexed by this
        # backup count as known right away.
        self.known = repo.blob_ids()
        self.pending: set[bytes] = set()
        self.lock = threading.Lock()
        self.packer = Packer(
            repo.storage,
            repo.cipher,
            target_size=repo.pack_size,
            writers=repo.storage.capabilities.connections,
        )
        self.unindexed: dict[bytes, list[codec.BlobEntry]] = {}
        self.unindexed_entries = 0
        self.index_bytes = 0

    def add_blob(
        self, blob_type: int, blob_id: bytes, data: bytes | memoryview, compress: bool
    ) -> int:
        """Store a blob unless the vault has it; returns the bytes added (0 if known).
        Called from reader threads."""
        with self.lock:
            if blob_id in self.known or blob_id in self.pending:
                return 0
            self.pending.add(blob_id)
        self.packer.add_blob(blob_type, blob_id, data, try_compress=compress)
        return len(data)

    def add_small(self, chunks: list[tuple[bytes, bytes]]) -> list[bool]:
        """Store, in one packer call, those of ``chunks`` (blob id, data: single-chunk
        files read as a batch) that neither the vault nor this backup has yet; which
        of them were stored. One lock hand-off per batch instead of per file."""
        stored: list[bool] = []
        new: list[tuple[bytes, bytes]] = []
        with self.lock:
            known, pending = self.known, self.pending
            for blob_id, piece in chunks:
                fresh = blob_id not in known and blob_id not in pending
                stored.append(fresh)
                if fresh:
                    pending.add(blob_id)
                    new.append((blob_id, piece))
        items: list[tuple[int, bytes, bytes | memoryview, int]] = []
        for blob_id, piece in new:
            compressed, payload = codec.compress_blob(
                piece, try_compress=not codec.looks_incompressible(piece)
            )
            items.append(
                (B_DATA | (B_COMPRESSED if compressed else 0), blob_id, payload, len(piece))
            )
        if items:
            self.packer.add_many(items)
        return stored

    def all_known(self, content: bytes) -> bool:
        """Are all of these concatenated blob ids indexed already?"""
        known = self.known
        return all(content[i : i + ID_LEN] in known for i in range(0, len(content), ID_LEN))

    def collect_packs(self, *, force: bool = False) -> None:
        """Index finished packs: every 16 packs, or sooner when packs hold many small
        blobs (the entries held until then are the largest memory cost of backing up
        many small files), or now when ``force``."""
        for pack_id, entries in self.packer.completed():
            self.unindexed[pack_id] = entries
            self.unindexed_entries += len(entries)
        due = (
            len(self.unindexed) >= INDEX_EVERY_PACKS
            or self.unindexed_entries >= INDEX_EVERY_ENTRIES
        )
        if self.unindexed and (force or due):
            self.index_bytes += self.repo.write_index(self.unindexed)
            for entries in self.unindexed.values():
                self.pending.difference_update(e.id for e in entries)
            self.unindexed = {}
            self.unindexed_entries = 0


def adopt_orphan_packs(repo: Repository) -> int:
    """Index finished packs that no index names (left by a killed backup).

    Their chunks are then reused instead of uploaded again. A damaged orphan is
    ignored (prune removes it).
    """
    listed = {
        bytes.fromhex(info.name.rsplit("/", 1)[1]): info.size
        for info in list_objects(repo.storage, "data/")
    }
    # Deduplicate only against data that is really there: an index object put back
    # after prune (a sync tool restoring deleted files) names packs that are gone.
    indexed = repo.cache.pack_ids()
    gone = indexed - set(listed)
    if gone:
        repo.forget_packs(gone)
        indexed -= gone
    orphans: dict[bytes, list[codec.BlobEntry]] = {}
    for pack_id, size in listed.items():
        if pack_id in indexed or len(pack_id) != ID_LEN:
            continue
        try:
            entries = repo.read_pack_header(pack_id, size)
        except (VaultCorruptError, NotFoundInStorage):
            continue
        orphans[pack_id] = entries
    if orphans:
        repo.write_index(orphans)
    return len(orphans)
