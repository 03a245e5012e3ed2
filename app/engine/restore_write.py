"""Restore's writing half: folder descriptors opened without following links,
verified file writes under a temp name then rename, links and folder metadata.
``app.engine.restore`` drives it over the tasks ``app.engine.restore_plan`` makes;
the rules (durability, permissions, untrusted names) are in its module docstring.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import threading
from collections import OrderedDict

from app.core.cancel import CancelToken
from app.core.errors import (
    NotFoundInStorage,
    UnsafePathError,
    VaultCorruptError,
)
from app.engine.oslimits import raise_open_files_limit
from app.engine.repository import Repository
from app.engine.restore_plan import FileItem, FolderMeta, Parts, Task
from app.engine.restore_read import PackReader, SpanReader, decrypt_buffer
from app.engine.tree import Node

# One writer thread beside the planning thread: with two, every system call of a
# small file became a GIL hand-off between three threads (futex waits: at low load
# the CPU time of a 20,000-note restore went from 2.4 s to 4.1 s, wall from 2.2 s
# to 3.5 s); large files lose nothing measurable (AES-GCM and BLAKE3 release the
# GIL, so the one writer's crypto still runs beside the planning).
WRITERS = 1
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

    def make(self, parts: Parts) -> bool:
        """Create the folder ``parts`` (its parents as needed) and keep it open; True
        when this call created it, so it is empty but for what the restore puts in.
        The target itself, or a folder already open or found existing, is not new."""
        if not parts:
            return False
        with self._lock:
            if parts in self._fds:
                return False
            parent_parts = parts[:-1]
            parent = self._acquire(parent_parts)
            try:
                try:
                    os.mkdir(parts[-1], 0o700, dir_fd=parent)
                    created = True
                except FileExistsError:
                    created = False
                try:
                    fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
                except OSError as exc:
                    raise UnsafePathError(
                        f"{os.fsdecode(parts[-1])} is not a folder (or is a link); "
                        "refusing to write through it."
                    ) from exc
                self._fds[parts] = [fd, 0]
                self._evict()
            finally:
                self._release(parent_parts)
            return created

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


_scratch = decrypt_buffer  # this thread's reusable decrypt buffer (shared with large files)


def _umask() -> int | None:
    """The process umask, read without changing it (other threads may be creating
    files); None where the system does not tell."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


class Writer:
    """Writes tasks (a folder's files) for the restore's threads.

    Per file: open a temp name, write the verified blobs, set the times, close,
    rename; the mode is given at creation when the umask leaves it intact (no
    fchmod), and whether a file is being replaced is only asked (a stat) in a
    folder this restore did not create empty.
    """

    def __init__(
        self, repo: Repository, dirs: _Dirs, reader: PackReader, cancel: CancelToken
    ) -> None:
        self.repo = repo
        self.dirs = dirs
        self.reader = reader
        self.cancel = cancel
        # The temp names' fixed part, the process id included (forks stay apart).
        self._tmp_prefix = b"%s%s-%d-" % (TMP_PREFIX, _TMP_RUN, os.getpid())
        umask = _umask()
        # Modes the kernel creates exactly as asked: permission bits the umask keeps.
        self._keep = None if umask is None else 0o777 & ~umask

    def write_task(self, task: Task) -> list[int | Exception]:
        """Each file's size, or the per-file problem that stopped it. Storage
        failures other than a missing object abort the whole restore (raised)."""
        try:
            parent = self.dirs.acquire(task.parts)
        except (OSError, UnsafePathError) as exc:
            return [exc] * len(task.files)
        try:
            blobs = [b for item in task.files if item.blobs for b in item.blobs]
            spans = SpanReader(self.reader, blobs)
            scratch = _scratch()
            outcomes: list[int | Exception] = []
            first = 0
            for item in task.files:
                try:
                    outcomes.append(self._write_file(task, item, parent, spans, first, scratch))
                except (VaultCorruptError, OSError, UnsafePathError, NotFoundInStorage) as exc:
                    outcomes.append(exc)
                first += len(item.blobs or ())
            return outcomes
        finally:
            self.dirs.release(task.parts)

    def _write_file(
        self,
        task: Task,
        item: FileItem,
        parent: int,
        spans: SpanReader,
        first: int,
        scratch: memoryview,
    ) -> int:
        """Write one verified file; returns its size. Raises on damage (nothing replaced)."""
        if item.blobs is None:
            raise VaultCorruptError("part of its data is missing from the vault")
        name = item.name
        mode = item.mode & RESTORED_MODE_BITS
        direct = self._keep is not None and mode & ~self._keep == 0
        tmp = b"%s%d" % (self._tmp_prefix, next(_tmp_counter))
        fd = os.open(tmp, _FILE_FLAGS, mode if direct else 0o600, dir_fd=parent)
        written = 0
        replacing = False
        repo = self.repo
        try:
            try:
                for index, (blob_id, blob_type, _p, _o, _l, raw_length) in enumerate(
                    item.blobs, first
                ):
                    self.cancel.check()
                    sealed = spans.get(index)
                    data = repo.open_sealed_blob_into(
                        blob_type, blob_id, sealed, raw_length, scratch
                    )
                    view = memoryview(data)
                    while view:
                        n = os.write(fd, view)
                        view = view[n:]
                    written += len(data)
                if written != item.size:
                    raise VaultCorruptError("its size does not match the snapshot")
                if not direct:
                    os.fchmod(fd, mode)
                os.utime(fd, ns=(item.mtime_ns, item.mtime_ns))
                replacing = not task.fresh and _exists(name, parent)
                if replacing:  # the old copy must survive a power loss until ours is whole
                    _flush_data(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
            if replacing:
                self.dirs.note_replaced(task.parts)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=parent)
            raise
        return written

    # The two halves of ``_write_file`` around the data, for the large-file path
    # (``app.engine.restore_large``), whose blobs are written by two threads in between.
    # The small-file loop above keeps the same steps inline (no call per file).

    def create_temp(self, parent: int, item: FileItem) -> tuple[int, bytes, bool]:
        """A new temp file for ``item`` in ``parent``: its descriptor, its name, and
        whether it was created with its final mode."""
        mode = item.mode & RESTORED_MODE_BITS
        direct = self._keep is not None and mode & ~self._keep == 0
        tmp = b"%s%d" % (self._tmp_prefix, next(_tmp_counter))
        return os.open(tmp, _FILE_FLAGS, mode if direct else 0o600, dir_fd=parent), tmp, direct

    def settle(
        self, task: Task, name: bytes, item: FileItem, parent: int, fd: int, *, direct: bool
    ) -> bool:
        """Mode and times of a fully written temp file, flushed when it is about to
        replace an existing file; True in that case (the folder is flushed later)."""
        if not direct:
            os.fchmod(fd, item.mode & RESTORED_MODE_BITS)
        os.utime(fd, ns=(item.mtime_ns, item.mtime_ns))
        replacing = not task.fresh and _exists(name, parent)
        if replacing:  # the old copy must survive a power loss until ours is whole
            _flush_data(fd)
        return replacing

    def write_links(self, task: Task) -> list[tuple[Node, Exception]]:
        """Create the task's symlinks; the ones that failed, with why."""
        failed: list[tuple[Node, Exception]] = []
        for node in task.links:
            try:
                _make_link((*task.parts, node.name), node, self.dirs)
            except (OSError, UnsafePathError, VaultCorruptError) as exc:
                failed.append((node, exc))
        return failed


_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


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


def _set_dir_metadata(folder: FolderMeta, dirs: _Dirs) -> None:
    parts = folder.parts
    fd = dirs.acquire(parts)
    try:
        os.fchmod(fd, folder.mode & RESTORED_MODE_BITS)
        mtime = folder.mtime_ns
        if mtime:
            os.utime(fd, ns=(mtime, mtime))
    finally:
        dirs.release(parts)
