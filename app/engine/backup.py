"""Backup: walk, read only what changed, pack new chunks, write trees, commit a snapshot.

Ordering is the crash-safety argument (docs/FORMAT.md): packs, then the index objects
naming them, then the snapshot. A backup killed at any point leaves only objects
that nothing references yet; the next run adopts finished packs that no index names,
so their chunks are not uploaded again.

One depth-first pass: the calling thread lists a folder, hands the files that
changed to a pool of readers (chunk, hash, compress, encrypt), descends into the
subfolders, then collects its files' results and writes the folder's tree. Memory
therefore follows the depth of the tree and a bounded number of in-flight reads,
not the number of files. Unchanged files (same size, mtime, ctime and inode as the
cache remembers for that folder, with all chunks still indexed) are never opened.
Totals for progress come from the previous snapshot of the same folders or, on a
first backup, from a counting walk on a side thread.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import blake3

from app import __version__
from app.core.cancel import CancelToken
from app.core.errors import (
    AppError,
    CancelledError,
    ErrorCode,
    NotFoundInStorage,
    VaultCorruptError,
)
from app.core.events import BackupResult, Phase, ProgressCallback, Warning_
from app.engine import codec
from app.engine.chunker import Chunker
from app.engine.crypto import B_COMPRESSED, B_DATA, B_TREE, ID_LEN, T_PACK_HEADER
from app.engine.locks import VaultLock
from app.engine.packer import Packer, pack_name
from app.engine.progress import ProgressMeter

if TYPE_CHECKING:
    from app.engine.vault import Vault

READERS = 2
MAX_INFLIGHT_READS = 16  # batches
BATCH_BYTES = 8 * 1024 * 1024
SMALL_FILE = 4 * 1024 * 1024
_DIR_FOLLOW_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)  # chosen roots and their parents
_DIR_FLAGS = _DIR_FOLLOW_FLAGS | getattr(os, "O_NOFOLLOW", 0)  # everything inside a root
INDEX_EVERY_PACKS = 16

K_FILE, K_DIR, K_LINK = 0, 1, 2
_SIG = struct.Struct("<HBIqqI")  # name length, kind, mode, mtime_ns, size, payload length


@dataclass(slots=True)
class FileOutcome:
    content: bytes  # concatenated ids
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    mode: int
    bytes_added: int
    warning: str | None = None
    skipped: bool = False


Node = dict[str, Any]
Row = list[Any]  # name, kind, mode, mtime_ns, size, payload (see _Job._process_dir)


class _Job:
    def __init__(
        self,
        vault: Vault,
        roots: list[bytes],
        excludes: Sequence[str],
        meter: ProgressMeter,
        cancel: CancelToken,
    ) -> None:
        self.vault = vault
        self.cache = vault.cache
        self.cipher = vault.cipher
        self.roots = roots
        self.excludes = list(excludes)
        self.meter = meter
        self.cancel = cancel
        self.warnings: list[Warning_] = []
        self.notes: list[Warning_] = []
        self.known = vault.blob_ids()
        self.pending: set[bytes] = set()
        self.lock = threading.Lock()
        self.local = threading.local()
        self.packer = Packer(
            vault.storage,
            self.cipher,
            target_size=vault.pack_size,
            writers=vault.storage.capabilities.connections,
        )
        self.pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="backup-reader")
        self.read_slots = threading.BoundedSemaphore(MAX_INFLIGHT_READS)
        self.abort = threading.Event()  # our own stop flag: never cancel the caller's token
        self.has_states = self.cache.has_file_states()
        self.unindexed: dict[bytes, list[codec.BlobEntry]] = {}
        self.unindexed_entries = 0
        self.index_bytes = 0
        self.files_new = self.files_changed = self.files_unchanged = 0
        self.dirs = 0
        self.bytes_read = 0
        self.bytes_added = 0
        self.total_files = 0
        self.total_bytes = 0

    # --- walking ------------------------------------------------------------------------

    def excluded(self, path: bytes, name: bytes) -> bool:
        if not self.excludes:
            return False
        spath, sname = os.fsdecode(path), os.fsdecode(name)
        for pattern in self.excludes:
            if fnmatch.fnmatchcase(sname, pattern) or fnmatch.fnmatchcase(spath, pattern):
                return True
            if pattern.endswith("/") and fnmatch.fnmatchcase(sname, pattern.rstrip("/")):
                return True
        return False

    def run(self) -> bytes:
        """Walk from ``/`` through the roots' ancestors into each root; the root tree id."""
        wanted: dict[bytes, Any] = {}
        for root in self.roots:
            node = wanted
            parts = [p for p in root.split(b"/") if p]
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if child is True:
                    break
                node = child
            else:
                if parts:
                    node[parts[-1]] = True
        root_fd = os.open("/", _DIR_FLAGS)
        try:
            # Backing up "/" itself means the whole walk is inside a root.
            tree = self._process_dir(b"/", root_fd, None if b"/" in self.roots else wanted)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            os.close(root_fd)
        return tree

    def _list(
        self, path: bytes, fd: int, only: dict[bytes, Any] | None
    ) -> list[tuple[bytes, os.stat_result]]:
        """A folder's entries, sorted, through its descriptor (no path length limit)."""
        prefix = path if path.endswith(b"/") else path + b"/"
        entries: list[tuple[bytes, os.stat_result]] = []
        if only is not None:
            for name in sorted(only):
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISLNK(st.st_mode):
                        # A chosen folder (or a folder on the way to it) that is a link,
                        # like ~/Documents on another drive: back up what it points to.
                        followed = os.stat(name, dir_fd=fd)
                        if stat.S_ISDIR(followed.st_mode):
                            st = followed
                    entries.append((name, st))
                except FileNotFoundError:
                    self.warn(prefix + name, "does not exist")
                except OSError as exc:
                    self.warn(prefix + name, f"cannot read: {exc.strerror}")
            return entries
        try:
            with os.scandir(fd) as it:
                listed = list(it)
        except OSError as exc:
            self.warn(path, f"cannot list folder: {exc.strerror}")
            return entries
        excludes = self.excludes
        for dentry in listed:
            name = os.fsencode(dentry.name)
            if excludes and self.excluded(prefix + name, name):
                continue
            try:
                entries.append((name, dentry.stat(follow_symlinks=False)))
            except OSError as exc:
                self.warn(prefix + name, f"cannot read: {exc.strerror}")
        entries.sort(key=lambda item: item[0])
        return entries

    def _process_dir(self, path: bytes, fd: int, only: dict[bytes, Any] | None) -> bytes:
        """Back up one folder (recursively) and return its tree id. ``fd`` is the
        folder's open descriptor: everything below is reached relative to it, so
        paths longer than PATH_MAX work and a folder swapped for a symlink mid-run
        is not followed."""
        self.cancel.check()
        self.dirs += 1
        prefix = path if path.endswith(b"/") else path + b"/"
        entries = self._list(path, fd, only)
        states = self.cache.dir_file_states(path)
        # One row per entry, in name order: [name, kind, mode, mtime_ns, size, payload]
        # where payload is the chunk ids (file), subtree id (folder) or link target.
        rows: list[Row] = []
        subdirs: list[tuple[Row, bytes, dict[bytes, Any] | None]] = []
        to_read: list[tuple[Row, bytes, os.stat_result]] = []
        new_states: list[tuple[bytes, bytes, int, int, int, int, bytes]] = []
        known = self.known
        meter = self.meter
        for name, est in entries:
            mode = est.st_mode
            row: Row
            if stat.S_ISDIR(mode):
                sub = only.get(name) if only is not None else None
                # A folder on the way to a chosen one is not backed up itself: its
                # mtime changes with every file created beside ours, and keeping it
                # would make every backup write new folder listings for nothing.
                mtime = 0 if isinstance(sub, dict) else est.st_mtime_ns
                row = [name, K_DIR, mode, mtime, 0, b""]
                subdirs.append((row, prefix + name, None if sub is True or sub is None else sub))
            elif only is not None and only.get(name) is not True:
                continue  # an ancestor we expected to be a folder is not one
            elif stat.S_ISREG(mode):
                size = est.st_size
                self.total_files += 1
                self.total_bytes += size
                row = [name, K_FILE, mode, est.st_mtime_ns, size, b""]
                state = states.get(name)
                if (
                    state is not None
                    and state[0] == size
                    and state[1] == est.st_mtime_ns
                    and state[2] == est.st_ctime_ns
                    and state[3] == est.st_ino
                    and (
                        state[4] in known if len(state[4]) == ID_LEN else self._all_known(state[4])
                    )
                ):
                    self.files_unchanged += 1
                    row[5] = state[4]
                    meter.files_done += 1
                    meter.bytes_done += size
                elif state is None and (moved := self._moved_here(path, name, est)) is not None:
                    # Same inode, size and times under another name: a renamed file or
                    # folder. New to this path, but its chunks are known: no read.
                    self.files_new += 1
                    row[5] = moved
                    meter.files_done += 1
                    meter.bytes_done += size
                    new_states.append(
                        (path, name, size, est.st_mtime_ns, est.st_ctime_ns, est.st_ino, moved)
                    )
                else:
                    if state is None:
                        self.files_new += 1
                    else:
                        self.files_changed += 1
                    to_read.append((row, name, est))
            elif stat.S_ISLNK(mode):
                try:
                    target = os.readlink(name, dir_fd=fd)
                except OSError as exc:
                    self.warn(prefix + name, f"cannot read link: {exc.strerror}")
                    continue
                row = [name, K_LINK, mode, est.st_mtime_ns, 0, target]
            else:
                # FIFOs, sockets and devices hold no data: noted, not backed up, never opened.
                self.notes.append(
                    Warning_(os.fsdecode(prefix + name), "special file, not backed up")
                )
                continue
            rows.append(row)
        self._progress(prefix)
        batches = self._submit_reads(prefix, fd, to_read)
        for dir_row, subpath, sub_only in subdirs:
            try:
                flags = _DIR_FLAGS if only is None else _DIR_FOLLOW_FLAGS
                sub_fd = os.open(dir_row[0], flags, dir_fd=fd)
            except OSError as exc:
                self.warn(subpath, f"cannot open folder: {exc.strerror}")
                dir_row[1] = None
                continue
            try:
                dir_row[5] = self._process_dir(subpath, sub_fd, sub_only)
            finally:
                os.close(sub_fd)
        for items, future in batches:
            for (file_row, name, est), outcome in zip(
                items, self._wait(future, prefix), strict=True
            ):
                if outcome.warning is not None:
                    self.warn(prefix + name, outcome.warning)
                if outcome.skipped:
                    self.total_files -= 1
                    self.total_bytes -= est.st_size
                    file_row[1] = None
                    continue
                file_row[2], file_row[3], file_row[4], file_row[5] = (
                    outcome.mode,
                    outcome.mtime_ns,
                    outcome.size,
                    outcome.content,
                )
                self.bytes_read += outcome.size
                self.bytes_added += outcome.bytes_added
                meter.files_done += 1
                meter.bytes_done += outcome.size
                if outcome.warning is None:
                    new_states.append(
                        (
                            path,
                            name,
                            outcome.size,
                            outcome.mtime_ns,
                            outcome.ctime_ns,
                            outcome.inode,
                            outcome.content,
                        )
                    )
            self._progress(prefix)
        rows = [row for row in rows if row[1] is not None]
        if new_states:
            self.cache.put_file_states(new_states)
        return self._tree_for(path, rows)

    def _wait(self, future: Future[list[FileOutcome]], prefix: bytes) -> list[FileOutcome]:
        """A batch's outcomes; while a big file is still being read, progress keeps
        going out (the readers count its bytes as they go)."""
        while True:
            try:
                return future.result(timeout=self.meter.interval)
            except FutureTimeout:
                self._progress(prefix)

    def _progress(self, prefix: bytes) -> None:
        meter = self.meter
        meter.files_total = max(meter.files_total, meter.files_done)
        meter.bytes_total = max(meter.bytes_total, meter.bytes_done)
        meter.current_raw = prefix
        meter.emit()

    def _tree_for(self, path: bytes, rows: list[Row]) -> bytes:
        """The folder's tree id: reused when the folder's entries are exactly as the
        cache remembers (no JSON, no hashing of it), else encoded and stored."""
        sig = blake3.blake3()
        for name, kind, mode, mtime_ns, size, payload in rows:
            sig.update(_SIG.pack(len(name), kind, mode, mtime_ns, size, len(payload)))
            sig.update(name)
            sig.update(payload)
        signature = sig.digest()
        cached = self.cache.dir_tree(path)
        if cached is not None and cached[0] == signature and cached[1] in self.known:
            return cached[1]
        nodes: list[Node] = []
        for name, kind, mode, mtime_ns, size, payload in rows:
            node: Node = {"mode": mode, "mtime_ns": mtime_ns}
            codec.encode_name(name, "name", node)
            if kind == K_FILE:
                node["type"] = "file"
                node["size"] = size
                node["content"] = [
                    payload[i : i + ID_LEN].hex() for i in range(0, len(payload), ID_LEN)
                ]
            elif kind == K_DIR:
                node["type"] = "dir"
                node["subtree"] = payload.hex()
            else:
                node["type"] = "symlink"
                codec.encode_name(payload, "target", node)
            nodes.append(node)
        tree_id = self._write_tree(nodes)
        self.cache.put_dir_tree(path, signature, tree_id)
        return tree_id

    def _submit_reads(
        self, prefix: bytes, fd: int, items: list[tuple[Row, bytes, os.stat_result]]
    ) -> list[tuple[list[tuple[Row, bytes, os.stat_result]], Future[list[FileOutcome]]]]:
        """Queue reads in batches (up to 32 files or 8 MiB): one hand-off per batch
        keeps thread overhead low for folders of many small files."""
        batches: list[
            tuple[list[tuple[Row, bytes, os.stat_result]], Future[list[FileOutcome]]]
        ] = []
        start = 0
        while start < len(items):
            end, size = start, 0
            while end < len(items) and end - start < 32 and (size < BATCH_BYTES or end == start):
                size += items[end][2].st_size
                end += 1
            batch = items[start:end]
            self.read_slots.acquire()  # bounds in-flight reads across the whole walk
            try:
                future = self.pool.submit(
                    self.read_batch, fd, [(name, est) for _row, name, est in batch]
                )
            except BaseException:
                self.read_slots.release()
                raise
            future.add_done_callback(lambda _f: self.read_slots.release())
            batches.append((batch, future))
            start = end
        return batches

    def read_batch(self, fd: int, files: list[tuple[bytes, os.stat_result]]) -> list[FileOutcome]:
        """Read one batch of a folder's files (a reader thread).

        Files no bigger than the chunker's minimum are one chunk each: they take a
        short path that reads, checks and hashes every file of the batch, decides
        under one lock which chunks are new, then compresses those and hands them to
        the packer in one call. Per small file that saves most of the Python
        overhead and two lock hand-offs between the reader threads (the initial
        backup of a home folder is mostly such files). Anything unusual (a read
        error, a file that changed, grew or is bigger) takes the general path.
        """
        self.cancel.check()
        if self.abort.is_set():
            raise CancelledError("The backup stopped.")
        limit = self.vault.chunker_params.min_size
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        blob_id_of = self.cipher.blob_id
        outcomes: list[FileOutcome] = []
        staged: list[tuple[FileOutcome, bytes, bytes]] = []  # outcome, blob id, data
        for name, est in files:
            if est.st_size > limit:
                outcomes.append(self.read_file(name, fd, est))
                continue
            try:
                file_fd = os.open(name, flags, dir_fd=fd)
                try:
                    data = self._read_small(file_fd, est.st_size)
                    after = os.fstat(file_fd)
                finally:
                    os.close(file_fd)
            except OSError:
                outcomes.append(self.read_file(name, fd, est))  # reports or retries it
                continue
            if (
                data is None
                or len(data) > limit
                or not stat.S_ISREG(after.st_mode)
                or len(data) != after.st_size
                or (est.st_size, est.st_mtime_ns, est.st_ino)
                != (after.st_size, after.st_mtime_ns, after.st_ino)
            ):
                outcomes.append(self.read_file(name, fd, est))  # changed: the general path
                continue
            piece = bytes(data)  # the thread's buffer is reused by the next file
            blob_id = blob_id_of(piece)
            outcome = FileOutcome(
                blob_id, len(piece), after.st_mtime_ns, after.st_ctime_ns, after.st_ino,
                after.st_mode, 0,
            )  # fmt: skip
            outcomes.append(outcome)
            staged.append((outcome, blob_id, piece))
        if staged:
            self._store_small(staged)
        return outcomes

    def _store_small(self, staged: list[tuple[FileOutcome, bytes, bytes]]) -> None:
        """Compress and pack the chunks of ``staged`` that neither the vault nor this
        backup has yet; sets each new file's ``bytes_added``."""
        new: list[tuple[FileOutcome, bytes, bytes]] = []
        with self.lock:
            known, pending = self.known, self.pending
            for item in staged:
                blob_id = item[1]
                if blob_id in known or blob_id in pending:
                    continue
                pending.add(blob_id)
                new.append(item)
        items: list[tuple[int, bytes, bytes | memoryview, int]] = []
        for outcome, blob_id, piece in new:
            compressed, payload = codec.compress_blob(
                piece, try_compress=not codec.looks_incompressible(piece)
            )
            items.append(
                (B_DATA | (B_COMPRESSED if compressed else 0), blob_id, payload, len(piece))
            )
            outcome.bytes_added = len(piece)
        if items:
            self.packer.add_many(items)

    def _write_tree(self, nodes: list[Node]) -> bytes:
        tree_bytes = codec.encode_tree(nodes)
        tree_id = self.cipher.blob_id(tree_bytes)
        self.add_blob(B_TREE, tree_id, tree_bytes, True)
        self.collect_packs()
        return tree_id

    def _moved_here(self, directory: bytes, name: bytes, est: os.stat_result) -> bytes | None:
        if not est.st_ino or not self.has_states:  # nothing was ever backed up here
            return None
        content = self.cache.state_by_inode(
            est.st_ino, est.st_size, est.st_mtime_ns, est.st_ctime_ns
        )
        if content is None or not self._all_known(content):
            return None
        return content

    def _all_known(self, content: bytes) -> bool:
        known = self.known
        return all(content[i : i + ID_LEN] in known for i in range(0, len(content), ID_LEN))

    # --- reading files (worker threads) -------------------------------------------------

    def chunker(self) -> Chunker:
        chunker: Chunker | None = getattr(self.local, "chunker", None)
        if chunker is None:
            chunker = Chunker(self.vault.chunker_params)
            self.local.chunker = chunker
        return chunker

    def add_blob(
        self, blob_type: int, blob_id: bytes, data: bytes | memoryview, compress: bool
    ) -> int:
        with self.lock:
            if blob_id in self.known or blob_id in self.pending:
                return 0
            self.pending.add(blob_id)
        self.packer.add_blob(blob_type, blob_id, data, try_compress=compress)
        return len(data)

    def read_file(self, name: bytes, dir_fd: int, scanned: os.stat_result) -> FileOutcome:
        for attempt in range(2):
            try:
                if attempt:  # it changed since the scan: compare the retry with a fresh stat
                    scanned = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                outcome = self._read_once(name, dir_fd, scanned)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return FileOutcome(
                        b"", 0, 0, 0, 0, 0, 0, "vanished before it could be read", True
                    )
                return FileOutcome(b"", 0, 0, 0, 0, 0, 0, f"cannot read: {exc.strerror}", True)
            if outcome.warning is None or attempt == 1:
                return outcome
        return outcome

    def _read_small(self, fd: int, expected: int) -> memoryview | None:
        """Read a whole small file into this thread's reusable buffer (no allocation,
        no page faults per file). None if it turned out bigger than SMALL_FILE.

        It stops at the size the scan saw rather than reading on to EOF: a file that
        grew meanwhile is caught by the stat taken after reading.
        """
        buf: bytearray | None = getattr(self.local, "buf", None)
        if buf is None:
            buf = bytearray(SMALL_FILE + 1)
            self.local.buf = buf
        view = memoryview(buf)
        filled = 0
        while filled <= SMALL_FILE:
            n = os.readv(fd, [view[filled:]])
            if n == 0:
                return view[:filled]
            filled += n
            if filled == expected:
                return view[:filled]
        return None

    def _read_once(self, name: bytes, dir_fd: int, before: os.stat_result) -> FileOutcome:
        """Chunk and store one file. ``before`` is the scan's stat of it: compared with
        a stat taken after reading, it catches a file changed or replaced meanwhile
        (one syscall fewer per file than a stat of our own before reading)."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(name, flags, dir_fd=dir_fd)
        size = 0
        cell: list[int] | None = None
        try:
            ids: list[bytes] = []
            added = 0
            compress: bool | None = None
            chunker = self.chunker()
            cell = getattr(self.local, "cell", None)
            if cell is None:
                cell = self.local.cell = self.meter.reading_cell()
            data = self._read_small(fd, before.st_size) if before.st_size <= SMALL_FILE else None
            if data is not None:
                pieces = chunker.chunks_of_buffer(data)
            else:
                os.lseek(fd, 0, os.SEEK_SET)
                stream = open(fd, "rb", buffering=0, closefd=False)  # noqa: SIM115
                pieces = chunker.chunks_of_stream(stream)
            for piece in pieces:
                self.cancel.check()
                if self.abort.is_set():
                    raise CancelledError("The backup stopped.")
                if compress is None:
                    compress = not codec.looks_incompressible(piece)
                blob_id = self.cipher.blob_id(piece)
                ids.append(blob_id)
                added += self.add_blob(B_DATA, blob_id, piece, compress)
                size += len(piece)
                cell[0] += len(piece)  # only this thread writes its cell: no lock
            after = os.fstat(fd)
        finally:
            os.close(fd)
            if cell is not None:
                cell[0] -= size  # the finished (or failed) file leaves the in-flight count
        if not stat.S_ISREG(after.st_mode):
            return FileOutcome(b"", 0, 0, 0, 0, 0, 0, "is no longer a regular file", True)
        warning = None
        seen = (before.st_size, before.st_mtime_ns, before.st_ino)
        if seen != (after.st_size, after.st_mtime_ns, after.st_ino) or size != after.st_size:
            warning = "changed while it was being read; the copy may be inconsistent"
        return FileOutcome(
            b"".join(ids),
            size,
            after.st_mtime_ns,
            after.st_ctime_ns,
            after.st_ino,
            after.st_mode,
            added,
            warning,
        )

    # --- building trees (calling thread) ---------------------------------------------------

    def collect_packs(self, *, force: bool = False) -> None:
        for pack_id, entries in self.packer.completed():
            self.unindexed[pack_id] = entries
            self.unindexed_entries += len(entries)
        # Index every 16 packs, or sooner when packs hold many small blobs: the entries
        # held until then are the largest memory cost of backing up many small files.
        due = len(self.unindexed) >= INDEX_EVERY_PACKS or self.unindexed_entries >= 20_000
        if self.unindexed and (force or due):
            self.index_bytes += self.vault.write_index(self.unindexed)
            for entries in self.unindexed.values():
                self.pending.difference_update(e.id for e in entries)
            self.unindexed = {}
            self.unindexed_entries = 0

    def warn(self, path: bytes, message: str) -> None:
        self.warnings.append(Warning_(os.fsdecode(path), message))


def adopt_orphan_packs(vault: Vault) -> int:
    """Index finished packs that no index names (left by a killed backup).

    Their chunks are then reused instead of uploaded again. A damaged orphan is
    ignored (prune removes it).
    """
    indexed = vault.cache.pack_ids()
    orphans: dict[bytes, list[codec.BlobEntry]] = {}
    for info in vault.storage.list("data/"):
        try:
            pack_id = bytes.fromhex(info.name.rsplit("/", 1)[1])
        except ValueError:
            continue
        if pack_id in indexed or len(pack_id) != ID_LEN:
            continue
        try:
            entries = read_pack_header(vault, pack_id, info.size)
        except (VaultCorruptError, NotFoundInStorage):
            continue
        orphans[pack_id] = entries
    if orphans:
        vault.write_index(orphans)
    return len(orphans)


def read_pack_header(vault: Vault, pack_id: bytes, size: int) -> list[codec.BlobEntry]:
    name = pack_name(pack_id)
    if size < 4 + 33:
        raise VaultCorruptError(f"{name} is truncated.")
    tail = vault.storage.get_range(name, size - 4, 4)
    header_len = int.from_bytes(tail, "little")
    if header_len > size - 4 or header_len < 33:
        raise VaultCorruptError(f"{name} has a bad header length.")
    sealed = vault.storage.get_range(name, size - 4 - header_len, header_len)
    entries, _ = codec.decode_entries(
        codec.decode_payload(vault.cipher.open_object(T_PACK_HEADER, name, sealed))
    )
    codec.validate_pack_entries(entries, size - 4 - header_len)
    return entries


def normalize_roots(paths: Sequence[str]) -> list[bytes]:
    roots: list[bytes] = []
    for path in paths:
        raw = os.fsencode(os.path.abspath(os.path.expanduser(path)))
        raw = os.path.normpath(raw)
        roots.append(raw)
    roots.sort()
    kept: list[bytes] = []
    for root in roots:
        if kept and (root == kept[-1] or root.startswith(kept[-1].rstrip(b"/") + b"/")):
            continue  # already inside a root we back up
        kept.append(root)
    return kept


def _previous_totals(vault: Vault, roots: list[bytes]) -> tuple[int, int] | None:
    """Files and bytes of the latest snapshot of the same folders: the progress total."""
    wanted = sorted(os.fsdecode(r) for r in roots)
    for snap in reversed(vault.snapshots()):
        if sorted(snap.paths) == wanted:
            return snap.files, snap.bytes
    return None


def _count_in_background(
    roots: list[bytes], excludes: Sequence[str], meter: ProgressMeter, stop: threading.Event
) -> threading.Thread:
    """First backup: count files and bytes on a side thread so progress has a total."""

    def count() -> None:
        files = size = 0
        stack = list(roots)
        while stack and not stop.is_set():
            path = stack.pop()
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                files += 1
                size += st.st_size
                continue
            if not stat.S_ISDIR(st.st_mode):
                continue
            try:
                with os.scandir(path) as it:
                    for entry in it:
                        name = os.fsdecode(entry.name)
                        if any(fnmatch.fnmatchcase(name, p) for p in excludes):
                            continue
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                stack.append(os.fsencode(entry.path))
                            elif entry.is_file(follow_symlinks=False):
                                files += 1
                                size += entry.stat(follow_symlinks=False).st_size
                        except OSError:
                            continue
            except OSError:
                continue
        meter.files_total = max(meter.files_total, files)
        meter.bytes_total = max(meter.bytes_total, size)

    thread = threading.Thread(target=count, name="backup-count", daemon=True)
    thread.start()
    return thread


def run_backup(
    vault: Vault,
    paths: Sequence[str],
    *,
    excludes: Sequence[str],
    on_progress: ProgressCallback,
    cancel: CancelToken,
    hostname: str,
    device: str,
    tags: Sequence[str] = (),
) -> BackupResult:
    started = time.monotonic()
    roots = normalize_roots(paths)
    if not roots:
        raise AppError("Nothing to back up: give at least one folder.", code=ErrorCode.USAGE)
    missing = [r for r in roots if not os.path.lexists(r)]
    if len(missing) == len(roots):
        raise AppError(
            f"{os.fsdecode(missing[0])} does not exist; nothing was backed up.",
            code=ErrorCode.PATH_NOT_FOUND,
        )
    meter = ProgressMeter(on_progress, Phase.OPENING)
    meter.emit(force=True)
    with VaultLock(vault.storage, vault.cipher, exclusive=False) as lock:
        # Sync only once the shared lock is held, and always: a prune by another device
        # that finished before our lock (or since a long-running process last synced)
        # may have deleted blobs the cache still lists; deduplicating against those
        # would commit a snapshot that references missing data.
        vault.sync(force=True)
        adopt_orphan_packs(vault)
        job = _Job(vault, roots, excludes, meter, cancel)
        previous = _previous_totals(vault, roots)
        if previous is not None:
            meter.files_total, meter.bytes_total = previous
        else:
            _count_in_background(roots, excludes, meter, job.abort)
        meter.emit(force=True, phase=Phase.BACKING_UP)
        vault.cache.begin()
        try:
            root_tree = job.run()
            meter.emit(force=True, phase=Phase.FINISHING)
            job.packer.flush()
            job.collect_packs(force=True)
        except BaseException:
            job.abort.set()  # stops the counting thread and readers still running
            vault.cache.commit()  # what was indexed stays valid (content-addressed)
            # Keep what finished: index the packs already stored so a rerun reuses them.
            with contextlib.suppress(BaseException):
                job.packer.flush()
            with contextlib.suppress(BaseException):
                job.collect_packs(force=True)
            raise
        finally:
            job.abort.set()
            job.packer.close()
        doc = {
            "v": 1,
            "time": datetime.now(UTC).isoformat(),
            "hostname": hostname or socket.gethostname(),
            "device_id": device,
            "paths": [os.fsdecode(r) for r in roots],
            "excludes": list(excludes),
            "tree": root_tree.hex(),
            "files": job.total_files,
            "bytes": job.total_bytes,
            "tags": list(tags),
            "program": f"keepsake {__version__}",
        }
        try:
            lock.ensure_held()  # a prune may have run while we were suspended
            snapshot_id = vault.write_snapshot(doc)
        finally:
            vault.cache.commit()
    meter.files_total = job.total_files
    meter.bytes_total = job.total_bytes
    meter.emit(final=True)
    return BackupResult(
        snapshot_id=snapshot_id,
        files_new=job.files_new,
        files_changed=job.files_changed,
        files_unchanged=job.files_unchanged,
        dirs=job.dirs,
        bytes_read=job.bytes_read,
        bytes_added=job.bytes_added,
        bytes_uploaded=job.packer.bytes_written + job.index_bytes,
        bytes_total=job.total_bytes,
        duration_s=time.monotonic() - started,
        warnings=tuple(job.warnings),
        notes=tuple(job.notes),
    )
