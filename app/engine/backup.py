"""Backup: scan, read only what changed, pack new chunks, write trees, commit a snapshot.

Ordering is the crash-safety argument (docs/FORMAT.md): packs, then the index objects
naming them, then the snapshot. A backup killed at any point leaves only objects
that nothing references yet; the next run adopts finished packs that no index names,
so their chunks are not uploaded again.

Concurrency: the calling thread scans and builds trees; a pool of readers chunks,
hashes, compresses and encrypts files (blake3, zstd, AES-GCM release the GIL), and
the packer's writers store full packs. Unchanged files (same size, mtime, ctime,
inode as the cache remembers, with all chunks still in the index) are never opened.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import socket
import stat
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import blake3

from app import __version__
from app.core.cancel import CancelToken
from app.core.errors import AppError, ErrorCode, NotFoundInStorage, VaultCorruptError
from app.core.events import BackupResult, Phase, ProgressCallback, Warning_
from app.engine import codec
from app.engine.chunker import Chunker
from app.engine.crypto import B_DATA, B_TREE, ID_LEN, T_PACK_HEADER
from app.engine.locks import VaultLock
from app.engine.packer import Packer, pack_name
from app.engine.progress import ProgressMeter

if TYPE_CHECKING:
    from app.engine.vault import Vault

READERS = 2
READ_AHEAD = 64
SMALL_FILE = 4 * 1024 * 1024
INDEX_EVERY_PACKS = 16

# Scan results, kept compact: 200,000 files must stay within the memory budget.
K_FILE, K_DIR, K_LINK = 0, 1, 2


@dataclass(slots=True)
class Child:
    name: bytes
    kind: int
    mode: int
    mtime_ns: int
    size: int = 0
    ctime_ns: int = 0
    inode: int = 0
    content: bytes | None = None  # concatenated ids when unchanged
    target: bytes = b""
    dir_index: int = -1  # for K_DIR: position in the scan's directory list
    job: int = -1  # for files that must be read: position in the job list


@dataclass(slots=True)
class ScannedDir:
    path: bytes
    mode: int
    mtime_ns: int
    children: list[Child] = field(default_factory=list)


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
        self.cipher = vault.cipher
        self.roots = roots
        self.excludes = list(excludes)
        self.meter = meter
        self.cancel = cancel
        self.warnings: list[Warning_] = []
        self.dirs: list[ScannedDir] = []
        self.jobs: list[tuple[bytes, Child]] = []
        self.known = vault.blob_ids()
        self.pending: set[bytes] = set()
        self.lock = threading.Lock()
        self.local = threading.local()
        self.packer = Packer(vault.storage, self.cipher, target_size=vault.pack_size)
        self.unindexed: dict[bytes, list[codec.BlobEntry]] = {}
        self.index_bytes = 0
        self.states = vault.cache.file_states_under(roots)
        self.new_states: list[tuple[bytes, int, int, int, int, bytes]] = []
        self.files_new = self.files_changed = self.files_unchanged = 0
        self.bytes_read = 0
        self.bytes_added = 0
        self.total_files = 0
        self.total_bytes = 0

    # --- scanning ---------------------------------------------------------------------

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

    def scan(self) -> None:
        """Walk from ``/`` through the roots' ancestors into each root."""
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
        self._scan_dir(b"/", wanted)

    def _scan_dir(self, path: bytes, only: dict[bytes, Any] | None) -> int:
        self.cancel.check()
        try:
            st = os.lstat(path)
        except OSError as exc:
            self.warn(path, f"cannot read folder: {exc.strerror}")
            st = None
        index = len(self.dirs)
        scanned = ScannedDir(path, st.st_mode if st else 0o40755, st.st_mtime_ns if st else 0)
        self.dirs.append(scanned)
        prefix = path if path.endswith(b"/") else path + b"/"
        if only is not None:
            names: list[tuple[bytes, os.stat_result | None]] = []
            for name in sorted(only):
                full = prefix + name
                try:
                    names.append((name, os.lstat(full)))
                except FileNotFoundError:
                    self.warn(full, "does not exist")
                except OSError as exc:
                    self.warn(full, f"cannot read: {exc.strerror}")
            entries = names
        else:
            try:
                with os.scandir(path) as it:
                    listed = [(e.name, e) for e in it]
            except OSError as exc:
                self.warn(path, f"cannot list folder: {exc.strerror}")
                listed = []
            entries = []
            for name, dentry in listed:
                full = prefix + name
                if self.excluded(full, name):
                    continue
                try:
                    entries.append((name, dentry.stat(follow_symlinks=False)))
                except OSError as exc:
                    self.warn(full, f"cannot read: {exc.strerror}")
            entries.sort(key=lambda item: item[0])
        for name, est in entries:
            if est is None:
                continue
            full = prefix + name
            mode = est.st_mode
            if stat.S_ISDIR(mode):
                sub = only.get(name) if only is not None else None
                child_index = self._scan_dir(full, None if sub is True or sub is None else sub)
                scanned.children.append(
                    Child(name, K_DIR, mode, est.st_mtime_ns, dir_index=child_index)
                )
            elif stat.S_ISREG(mode):
                if only is not None and only.get(name) is not True:
                    continue  # an ancestor we expected to be a folder is a file
                self._scan_file(scanned, full, name, est)
            elif stat.S_ISLNK(mode):
                if only is not None and only.get(name) is not True:
                    continue
                try:
                    target = os.readlink(full)
                except OSError as exc:
                    self.warn(full, f"cannot read link: {exc.strerror}")
                    continue
                scanned.children.append(Child(name, K_LINK, mode, est.st_mtime_ns, target=target))
            # FIFOs, sockets and devices are not backed up (they hold no data).
        return index

    def _scan_file(self, parent: ScannedDir, full: bytes, name: bytes, est: os.stat_result) -> None:
        child = Child(
            name, K_FILE, est.st_mode, est.st_mtime_ns, est.st_size, est.st_ctime_ns, est.st_ino
        )
        self.total_files += 1
        self.total_bytes += est.st_size
        state = self.states.get(full)
        if (
            state is not None
            and state[0] == est.st_size
            and state[1] == est.st_mtime_ns
            and state[2] == est.st_ctime_ns
            and state[3] == est.st_ino
            and self._all_known(state[4])
        ):
            child.content = state[4]
            self.files_unchanged += 1
        else:
            child.job = len(self.jobs)
            self.jobs.append((full, child))
            if state is None:
                self.files_new += 1
            else:
                self.files_changed += 1
        parent.children.append(child)

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

    def read_file(self, path: bytes, child: Child) -> FileOutcome:
        for attempt in range(2):
            try:
                outcome = self._read_once(path)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return FileOutcome(
                        b"", 0, 0, 0, 0, 0, 0, "vanished before it could be read", True
                    )
                return FileOutcome(b"", 0, 0, 0, 0, 0, 0, f"cannot read: {exc.strerror}", True)
            if outcome.warning is None or attempt == 1:
                return outcome
        return outcome

    def _read_small(self, fd: int) -> memoryview | None:
        """Read a whole small file into this thread's reusable buffer (no allocation,
        no page faults per file). None if it turned out bigger than SMALL_FILE."""
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
        return None

    def _read_once(self, path: bytes) -> FileOutcome:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                return FileOutcome(b"", 0, 0, 0, 0, 0, 0, "is no longer a regular file", True)
            ids: list[bytes] = []
            added = 0
            size = 0
            compress: bool | None = None
            chunker = self.chunker()
            data = self._read_small(fd) if before.st_size <= SMALL_FILE else None
            if data is not None:
                pieces = chunker.chunks_of_buffer(data)
            else:
                os.lseek(fd, 0, os.SEEK_SET)
                stream = open(fd, "rb", buffering=0, closefd=False)  # noqa: SIM115
                pieces = chunker.chunks_of_stream(stream)
            for piece in pieces:
                self.cancel.check()
                if compress is None:
                    compress = not codec.looks_incompressible(piece)
                blob_id = self.cipher.blob_id(piece)
                ids.append(blob_id)
                added += self.add_blob(B_DATA, blob_id, piece, compress)
                size += len(piece)
            after = os.fstat(fd)
        finally:
            os.close(fd)
        warning = None
        if (before.st_size, before.st_mtime_ns) != (
            after.st_size,
            after.st_mtime_ns,
        ) or size != after.st_size:
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

    def build_trees(self) -> bytes:
        pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="backup-reader")
        futures: dict[int, Future[FileOutcome]] = {}
        next_job = 0

        def top_up(upto: int) -> None:
            nonlocal next_job
            while next_job < min(upto, len(self.jobs)):
                path, child = self.jobs[next_job]
                futures[next_job] = pool.submit(self.read_file, path, child)
                next_job += 1

        # Jobs were listed in scan order (pre-order); trees are built in reverse, so
        # reverse the job order to read files in the order their trees need them.
        self.jobs.reverse()
        for position, (_path, child) in enumerate(self.jobs):
            child.job = position
        tree_ids: list[bytes] = [b""] * len(self.dirs)
        try:
            top_up(READ_AHEAD)
            for index in range(len(self.dirs) - 1, -1, -1):
                scanned = self.dirs[index]
                nodes: list[dict[str, Any]] = []
                index_rows: list[tuple[bytes, str, int, int, bytes | None, bytes | None]] = []
                for child in scanned.children:
                    node: dict[str, Any] = {"mode": child.mode, "mtime_ns": child.mtime_ns}
                    codec.encode_name(child.name, "name", node)
                    if child.kind == K_FILE:
                        if child.job >= 0:
                            top_up(child.job + READ_AHEAD)
                            outcome = futures.pop(child.job).result()
                            if not self._record(scanned.path, child, outcome):
                                continue
                        content = child.content or b""
                        node.update(
                            type="file",
                            size=child.size,
                            content=[
                                content[i : i + ID_LEN].hex()
                                for i in range(0, len(content), ID_LEN)
                            ],
                        )
                        self.meter.files_done += 1
                        self.meter.bytes_done += child.size
                        self.meter.current = os.fsdecode(scanned.path + b"/" + child.name)
                        self.meter.emit()
                        index_rows.append(
                            (
                                child.name,
                                "file",
                                child.size,
                                child.mtime_ns,
                                blake3.blake3(content).digest(),
                                None,
                            )
                        )
                    elif child.kind == K_DIR:
                        subtree = tree_ids[child.dir_index]
                        node.update(type="dir", subtree=subtree.hex())
                        index_rows.append((child.name, "dir", 0, child.mtime_ns, None, subtree))
                    else:
                        node.update(type="symlink")
                        codec.encode_name(child.target, "target", node)
                        index_rows.append((child.name, "symlink", 0, child.mtime_ns, None, None))
                    nodes.append(node)
                self.cancel.check()
                tree_bytes = codec.encode_tree(nodes)
                tree_id = self.cipher.blob_id(tree_bytes)
                self.add_blob(B_TREE, tree_id, tree_bytes, True)
                tree_ids[index] = tree_id
                if not self.vault.cache.tree_indexed(tree_id):
                    self.vault.cache.index_tree(tree_id, index_rows)
                self.dirs[index] = ScannedDir(scanned.path, 0, 0)  # free the children
                self.collect_packs()
        except BaseException:
            self.cancel.cancel()  # stop readers quickly
            for future in futures.values():
                future.cancel()
            pool.shutdown(wait=True)
            raise
        pool.shutdown(wait=True)
        return tree_ids[0]

    def _record(self, parent: bytes, child: Child, outcome: FileOutcome) -> bool:
        full = parent.rstrip(b"/") + b"/" + child.name
        if outcome.warning is not None:
            self.warn(full, outcome.warning)
        if outcome.skipped:
            self.total_files -= 1
            self.total_bytes -= child.size
            return False
        child.content = outcome.content
        child.size = outcome.size
        child.mtime_ns = outcome.mtime_ns
        child.mode = outcome.mode
        self.bytes_read += outcome.size
        self.bytes_added += outcome.bytes_added
        if outcome.warning is None:
            self.new_states.append(
                (
                    full,
                    outcome.size,
                    outcome.mtime_ns,
                    outcome.ctime_ns,
                    outcome.inode,
                    outcome.content,
                )
            )
        return True

    def collect_packs(self, *, force: bool = False) -> None:
        for pack_id, entries in self.packer.completed():
            self.unindexed[pack_id] = entries
        if self.unindexed and (force or len(self.unindexed) >= INDEX_EVERY_PACKS):
            self.index_bytes += self.vault.write_index(self.unindexed)
            for entries in self.unindexed.values():
                self.pending.difference_update(e.id for e in entries)
            self.unindexed = {}

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
    with VaultLock(vault.storage, vault.cipher, exclusive=False):
        # Sync only once the shared lock is held, and always: a prune by another device
        # that finished before our lock (or since a long-running process last synced)
        # may have deleted blobs the cache still lists; deduplicating against those
        # would commit a snapshot that references missing data.
        vault.sync(force=True)
        adopt_orphan_packs(vault)
        job = _Job(vault, roots, excludes, meter, cancel)
        meter.emit(force=True, phase=Phase.SCANNING)
        job.scan()
        meter.files_total = job.total_files
        meter.bytes_total = job.total_bytes
        meter.emit(force=True, phase=Phase.BACKING_UP)
        vault.cache.begin()
        try:
            root_tree = job.build_trees()
            meter.emit(force=True, phase=Phase.FINISHING)
            job.packer.flush()
            job.collect_packs(force=True)
        except BaseException:
            vault.cache.commit()
            # Keep what finished: index the packs already stored so a rerun reuses them.
            with contextlib.suppress(BaseException):
                job.packer.flush()
            with contextlib.suppress(BaseException):
                job.collect_packs(force=True)
            raise
        finally:
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
        snapshot_id = vault.write_snapshot(doc)
        vault.cache.put_file_states(job.new_states)
        vault.cache.commit()
    meter.files_total = job.total_files
    meter.bytes_total = job.total_bytes
    meter.emit(final=True)
    return BackupResult(
        snapshot_id=snapshot_id,
        files_new=job.files_new,
        files_changed=job.files_changed,
        files_unchanged=job.files_unchanged,
        dirs=len(job.dirs),
        bytes_read=job.bytes_read,
        bytes_added=job.bytes_added,
        bytes_uploaded=job.packer.bytes_written + job.index_bytes,
        bytes_total=job.total_bytes,
        duration_s=time.monotonic() - started,
        warnings=tuple(job.warnings),
    )
