"""Restore's writing half: folder descriptors opened without following links, pack
reads, verified file writes under a temp name then rename, links and folder
metadata. ``app.engine.restore`` plans what to write and drives these; the rules
(durability, permissions, untrusted names) are in its module docstring.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from app.core.cancel import CancelToken
from app.core.errors import (
    NotFoundInStorage,
    UnsafePathError,
    VaultCorruptError,
)
from app.engine.crypto import BLOB_OVERHEAD
from app.engine.oslimits import raise_open_files_limit
from app.engine.packer import MAX_BLOB, pack_name
from app.engine.repository import Repository
from app.engine.tree import Node
from app.storage.base import Storage

MAX_DEPTH = 32768  # far beyond real trees; walks are iterative, so only a bound
WRITERS = 2
# Mode bits restored: permissions and sticky, never setuid/setgid (owners are not
# restored, see the module docstring and docs/FORMAT.md section 9).
RESTORED_MODE_BITS = 0o1777
TMP_PREFIX = b".keepsake-restore-"

# Temp names: a random part drawn once, the process id and a counter, instead of a
# fresh random token per file (a getrandom call and hex formatting per small file).
# The process id keeps forked processes apart; O_EXCL still refuses an existing name.
_TMP_RUN = secrets.token_hex(6).encode()
_tmp_counter = itertools.count()


def _temp_name() -> bytes:
    return b"%s%s-%d-%d" % (TMP_PREFIX, _TMP_RUN, os.getpid(), next(_tmp_counter))


BlobLocation = tuple[bytes, int, bytes, int, int, int]  # id, type, pack, offset, length, raw


Parts = tuple[bytes, ...]  # path components below the restore target


@dataclass(slots=True)
class _FileItem:
    parts: Parts
    original: str
    node: Node
    blobs: list[BlobLocation] | None  # None: a blob is missing from the index


class _Dirs:
    """Folder descriptors below the target, created on demand.

    Each component is opened relative to its parent with O_NOFOLLOW, so nothing is
    ever written through a symlink (planted in the target, or restored earlier), and
    no path handed to the kernel is longer than one name: trees deeper than PATH_MAX
    restore. Descriptors are shared by the writer threads (reference counted) and a
    bounded number stay open.
    """

    KEEP_OPEN = 1024

    def __init__(self, target: bytes) -> None:
        # A quarter of the open-files limit at most: the writers and storage need some.
        self.keep_open = max(16, min(self.KEEP_OPEN, raise_open_files_limit() // 4))
        os.makedirs(target, exist_ok=True)
        self.target = target
        self.root = os.open(target, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        # parts -> [descriptor, references]: one dict, so eviction never re-hashes a
        # (possibly thousands of names long) key per entry.
        self._fds: OrderedDict[Parts, list[int]] = OrderedDict()
        self._lock = threading.Lock()
        self.replaced_in: set[Parts] = set()  # folders where a file replaced another

    def note_replaced(self, parts: Parts) -> None:
        with self._lock:
            self.replaced_in.add(parts)

    def flush_replaced(self) -> None:
        """fsync every folder in which a file replaced another, so the renames are on
        disk before the restore reports success."""
        for parts in sorted(self.replaced_in):
            fd = self.acquire(parts)
            try:
                with contextlib.suppress(OSError):
                    os.fsync(fd)
            finally:
                self.release(parts)
        self.replaced_in.clear()

    def acquire(self, parts: Parts) -> int:
        with self._lock:
            return self._acquire(parts)

    def release(self, parts: Parts) -> None:
        with self._lock:
            self._release(parts)

    def _acquire(self, parts: Parts) -> int:
        if not parts:
            return self.root
        slot = self._fds.get(parts)
        if slot is None:
            # Open from the deepest folder still open, one level at a time (no
            # recursion: trees may be thousands of levels deep).
            first = self._open_ancestor(parts) + 1
            for i in range(first, len(parts) + 1):
                slot = self._open_level(parts[:i])
            assert slot is not None
            # Nearer ancestors count as more recently used than farther ones: a
            # bottom-up pass (folder times, deepest first) then finds its parent open
            # instead of reopening the whole chain for every level.
            for i in range(max(first, len(parts) - self.keep_open // 2), len(parts)):
                if parts[:i] in self._fds:
                    self._fds.move_to_end(parts[:i])
        slot[1] += 1
        self._fds.move_to_end(parts)
        self._evict()
        return slot[0]

    def _open_ancestor(self, parts: Parts) -> int:
        """How many leading components of ``parts`` name a folder that is open."""
        last = len(parts) - 1
        if last and parts[:last] in self._fds:  # the usual case: the parent is open
            return last
        best = 0
        for open_parts in self._fds:
            n = len(open_parts)
            if best < n <= last and parts[n - 1] == open_parts[-1] and parts[:n] == open_parts:
                best = n
        return best

    def _open_level(self, parts: Parts) -> list[int]:
        """Create and open ``parts`` inside its (open) parent. The newest entries are
        never evicted, so the parent is still open when its child is made."""
        parent_slot = self._fds[parts[:-1]] if len(parts) > 1 else None
        parent = parent_slot[0] if parent_slot is not None else self.root
        if parent_slot is not None:
            parent_slot[1] += 1
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(parts[-1], 0o700, dir_fd=parent)
            try:
                fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
            except OSError as exc:
                raise UnsafePathError(
                    f"{os.fsdecode(parts[-1])} is not a folder (or is a link); "
                    "refusing to write through it."
                ) from exc
        finally:
            if parent_slot is not None:
                parent_slot[1] -= 1
        slot = [fd, 0]
        self._fds[parts] = slot
        self._evict()
        return slot

    def _release(self, parts: Parts) -> None:
        if parts:
            self._fds[parts][1] -= 1

    def _evict(self) -> None:
        excess = len(self._fds) - self.keep_open
        if excess <= 0:
            return
        idle = []
        for parts, slot in self._fds.items():  # oldest first
            if slot[1] == 0:
                idle.append(parts)
                if len(idle) == excess:
                    break
        for parts in idle:
            os.close(self._fds.pop(parts)[0])

    def close(self) -> None:
        for fd, _refs in self._fds.values():
            os.close(fd)
        self._fds.clear()
        os.close(self.root)


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_local = threading.local()


def _scratch() -> memoryview:
    """This thread's reusable decrypt buffer (a chunk is at most 4 MiB)."""
    buf: memoryview | None = getattr(_local, "buf", None)
    if buf is None:
        buf = memoryview(bytearray(MAX_BLOB))
        _local.buf = buf
    return buf


class _PackReader:
    """Reads sealed blobs; on a remote backend it downloads a pack whole when the
    restore needs a good part of it (one request instead of hundreds of ranged
    ones), keeping a few packs in memory. Locally, ranged reads are already cheap."""

    KEEP = 4
    WHOLE_FRACTION = 0.25

    def __init__(
        self,
        storage: Storage,
        needed: dict[bytes, int] | None = None,
        extents: dict[bytes, int] | None = None,
    ) -> None:
        self.storage = storage
        capabilities = storage.capabilities
        self.remote = not capabilities.cheap_ranged_reads
        self._read_into = storage.read_into if capabilities.read_into else None
        self._local = threading.local()
        extents = extents or {}
        self.whole = {
            pack
            for pack, size in (needed or {}).items()
            if size >= self.WHOLE_FRACTION * extents.get(pack, 1 << 62)
        }
        self._packs: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._fetching: dict[bytes, threading.Lock] = {}
        self.requests = 0

    def read(self, pack: bytes, offset: int, length: int) -> bytes | memoryview:
        name = pack_name(pack)
        if self._read_into is not None and length <= MAX_BLOB + BLOB_OVERHEAD:
            self.requests += 1
            buf: memoryview | None = getattr(self._local, "buf", None)
            if buf is None:
                buf = memoryview(bytearray(MAX_BLOB + BLOB_OVERHEAD))
                self._local.buf = buf
            return self._read_into(name, offset, buf[:length])
        if not self.remote or pack not in self.whole:
            self.requests += 1
            return self.storage.get_range(name, offset, length)
        with self._lock:
            fetch_lock = self._fetching.setdefault(pack, threading.Lock())
        with fetch_lock:  # one download per pack even with several writers
            with self._lock:
                data = self._packs.get(pack)
                if data is not None:
                    self._packs.move_to_end(pack)
            if data is None:
                self.requests += 1
                data = self.storage.get(name)
                with self._lock:
                    self._packs[pack] = data
                    while len(self._packs) > self.KEEP:
                        self._packs.popitem(last=False)
        if offset + length > len(data):
            raise VaultCorruptError(f"{name} is shorter than its index says")
        return memoryview(data)[offset : offset + length]


class _PackMissing(VaultCorruptError):
    """A pack the index names is not in storage; the blob may live in another."""

    def __init__(self, pack: bytes) -> None:
        super().__init__(f"pack {pack.hex()[:16]} is missing")
        self.pack = pack


def _write_file(
    repo: Repository, item: _FileItem, dirs: _Dirs, cancel: CancelToken, reader: _PackReader
) -> int:
    """Write one verified file; returns its size. Raises on damage (nothing replaced)."""
    if item.blobs is None:
        raise VaultCorruptError("part of its data is missing from the vault")
    node = item.node
    parent_parts, name = item.parts[:-1], item.parts[-1]
    parent = dirs.acquire(parent_parts)
    try:
        tmp = _temp_name()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o600, dir_fd=parent)
        written = 0
        replacing = False
        try:
            try:
                for blob_id, blob_type, pack, offset, length, raw_length in item.blobs:
                    cancel.check()
                    try:
                        sealed = reader.read(pack, offset, length)
                    except NotFoundInStorage:
                        raise _PackMissing(pack) from None
                    data = repo.open_sealed_blob_into(
                        blob_type, blob_id, sealed, raw_length, _scratch()
                    )
                    view = memoryview(data)
                    while view:
                        n = os.write(fd, view)
                        view = view[n:]
                    written += len(data)
                if written != node.size:
                    raise VaultCorruptError("its size does not match the snapshot")
                os.fchmod(fd, node.mode & RESTORED_MODE_BITS)
                os.utime(fd, ns=(node.mtime_ns, node.mtime_ns))
                replacing = _exists(name, parent)
                if replacing:  # the old copy must survive a power loss until ours is whole
                    _flush_data(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
            if replacing:
                dirs.note_replaced(parent_parts)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=parent)
            raise
    finally:
        dirs.release(parent_parts)
    return written


def _exists(name: bytes, parent: int) -> bool:
    try:
        os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: flush, to be safe
    return True


def _flush_data(fd: int) -> None:
    """Data on disk before the rename that makes it visible (fdatasync where the
    system has it: the file's times need not be flushed with it)."""
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _batches(items: list[_FileItem]) -> list[list[_FileItem]]:
    """Up to 32 files or 8 MiB per task: one hand-off per batch, not per file."""
    batches: list[list[_FileItem]] = []
    current: list[_FileItem] = []
    size = 0
    for item in items:
        current.append(item)
        size += item.node.size
        if len(current) >= 32 or size >= 8 * 1024 * 1024:
            batches.append(current)
            current, size = [], 0
    if current:
        batches.append(current)
    return batches


def _write_batch(
    repo: Repository, batch: list[_FileItem], dirs: _Dirs, cancel: CancelToken, reader: _PackReader
) -> list[int | Exception]:
    """Each file's size, or the per-file problem that stopped it. Storage failures
    other than a missing object abort the whole restore (raised)."""
    outcomes: list[int | Exception] = []
    for item in batch:
        try:
            outcomes.append(_write_file(repo, item, dirs, cancel, reader))
        except (VaultCorruptError, OSError, UnsafePathError, NotFoundInStorage) as exc:
            outcomes.append(exc)
    return outcomes


def _make_link(parts: Parts, node: Node, dirs: _Dirs) -> None:
    target = node.target or b""
    parent = dirs.acquire(parts[:-1])
    try:
        tmp = _temp_name()
        os.symlink(target, tmp, dir_fd=parent)
        mtime = node.mtime_ns
        with contextlib.suppress(OSError, NotImplementedError):
            os.utime(tmp, ns=(mtime, mtime), dir_fd=parent, follow_symlinks=False)
        try:
            os.replace(tmp, parts[-1], src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=parent)
            raise
    finally:
        dirs.release(parts[:-1])


def _set_dir_metadata(parts: Parts, node: Node, dirs: _Dirs) -> None:
    fd = dirs.acquire(parts)
    try:
        os.fchmod(fd, node.mode & RESTORED_MODE_BITS)
        mtime = node.mtime_ns
        if mtime:
            os.utime(fd, ns=(mtime, mtime))
    finally:
        dirs.release(parts)
