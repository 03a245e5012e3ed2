"""Where a backup's blobs go: deduplicated, packed, and indexed in batches.

Every reader thread and the tree builder hand blobs to one ``BlobSink``. A blob the
vault already has (or that is already on its way) is skipped; the rest go to the
packer, and finished packs are named by an index object every few packs, so a
killed backup loses little and holds few index entries in memory.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from app.core.errors import NotFoundInStorage, VaultCorruptError
from app.engine import codec
from app.engine.crypto import B_COMPRESSED, B_DATA, B_TREE, ID_LEN
from app.engine.names import list_objects
from app.engine.packer import Packer
from app.engine.repository import Repository

INDEX_EVERY_PACKS = 16
INDEX_EVERY_ENTRIES = 20_000
# Small chunks are compressed in batches of this size on one helper thread.
SEAL_BATCH_BYTES = 1024 * 1024
SEAL_BATCH_BLOBS = 512
SEAL_INFLIGHT = 4


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
        # Small chunks wait here until a batch is worth one compressor call.
        # id, data, worth compressing, blob type
        self._small: list[tuple[bytes, bytes, bool, int]] = []
        self._small_bytes = 0
        self._compressor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backup-zstd")
        self._compressing: deque[
            tuple[list[tuple[bytes, bytes, bool, int]], Future[Sequence[bytes | memoryview]]]
        ] = deque()

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
        """Queue for storing those of ``chunks`` (blob id, data: single-chunk files read
        as a batch) that neither the vault nor this backup has yet; which of them are
        new. Called on the walk's thread.

        New chunks are compressed in batches of up to ``SEAL_BATCH_BYTES`` by one
        helper thread whose only work is one ``codec.compress_many`` call per batch
        (the GIL released throughout), so it runs on the other core while the walk
        goes on. The caller seals finished batches into the pack on its next call:
        sealing is a Python loop, and on the helper thread it would hold the GIL in
        bursts that make every system call of the walk wait to get it back.

        A queued chunk is already "pending" (a later duplicate is not stored again);
        ``flush`` must run before the snapshot names it, and raises what went wrong.
        """
        stored: list[bool] = []
        compressible = codec.compressible
        with self.lock:
            known, pending, queue = self.known, self.pending, self._small
            for blob_id, piece in chunks:
                fresh = blob_id not in known and blob_id not in pending
                stored.append(fresh)
                if fresh:
                    pending.add(blob_id)
                    queue.append((blob_id, piece, compressible(piece), B_DATA))
                    self._small_bytes += len(piece)
            batch = self._due_small()
        if batch:
            self._submit_small(batch)
        self._seal_finished(wait=False)
        return stored

    def add_tree(self, blob_id: bytes, data: bytes) -> None:
        """Queue a folder listing like a small chunk (compressed on the helper thread,
        sealed on a later call), unless the vault or this backup has it. Called on
        the walk's thread: compressing listings there was ~4% of its time."""
        with self.lock:
            if blob_id in self.known or blob_id in self.pending:
                return
            self.pending.add(blob_id)
            self._small.append((blob_id, data, len(data) >= 64, B_TREE))
            self._small_bytes += len(data)
            batch = self._due_small()
        if batch:
            self._submit_small(batch)

    def _due_small(self) -> list[tuple[bytes, bytes, bool, int]] | None:
        """The queued small blobs once they are worth a compressor call (lock held)."""
        if self._small_bytes >= SEAL_BATCH_BYTES or len(self._small) >= SEAL_BATCH_BLOBS:
            return self._take_small()
        return None

    def _take_small(self) -> list[tuple[bytes, bytes, bool, int]]:
        batch, self._small, self._small_bytes = self._small, [], 0
        return batch

    def _submit_small(self, batch: list[tuple[bytes, bytes, bool, int]]) -> None:
        while len(self._compressing) >= SEAL_INFLIGHT:  # bounds the memory queued
            self._seal_next()
        future = self._compressor.submit(
            codec.compress_many, [piece for _id, piece, worth, _kind in batch if worth]
        )
        self._compressing.append((batch, future))

    def _seal_finished(self, *, wait: bool) -> None:
        while self._compressing and (wait or self._compressing[0][1].done()):
            self._seal_next()

    def _seal_next(self) -> None:
        """Seal the oldest compressed batch into the pack (raises its failure)."""
        batch, future = self._compressing.popleft()
        frames = iter(future.result())
        items: list[tuple[int, bytes, bytes | memoryview, int]] = []
        for blob_id, piece, worth, blob_type in batch:
            payload: bytes | memoryview = piece
            kind = blob_type
            if worth:
                frame = next(frames)
                if len(frame) < 0.97 * len(piece):  # as codec.compress_blob decides
                    payload, kind = frame, blob_type | B_COMPRESSED
            items.append((kind, blob_id, payload, len(piece)))
        self.packer.add_many(items)

    def flush(self) -> None:
        """Seal every queued small chunk, then write the partial pack and wait for all
        pack writes; raises the first failure. Before the snapshot, always."""
        with self.lock:
            batch = self._take_small()
        failure: BaseException | None = None
        try:
            if batch:
                self._submit_small(batch)
            self._seal_finished(wait=True)
        except BaseException as exc:
            failure = exc
            self._compressing.clear()  # lost: never indexed, so never deduplicated against
        self.packer.flush()  # what did get sealed is kept (indexed) even after a failure
        if failure is not None:
            raise failure

    def close(self) -> None:
        self._compressor.shutdown(wait=True, cancel_futures=True)
        self.packer.close()

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
            self.index_bytes += self.repo.write_index(self.unindexed, new=True)
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
