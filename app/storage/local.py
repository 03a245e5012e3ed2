"""A vault in a local folder or on an external drive.

Writes go to a temp file in the same folder, are fsynced, then renamed over the final
name, so a crash leaves the old object or the new one, never a torn one. Temp files
start with ``.tmp-`` and are invisible to ``list``; a later run deletes stale ones.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from app.core.errors import (
    NotFoundInStorage,
    StorageError,
    StorageFullError,
    StorageUnavailableError,
)
from app.storage.base import Capabilities, ObjectInfo, Storage, check_name

_TMP_PREFIX = ".tmp-"

#: One writer (parallel writers to one disk only add seeks); ``pread`` is cheap and
#: ``preadv`` reads straight into restore's reusable buffer.
LOCAL_CAPABILITIES = Capabilities(connections=1, cheap_ranged_reads=True, read_into=True)


def _translate(exc: OSError, what: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFullError(f"The backup drive is full while writing {what}. Free some space.")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageError(f"The backup folder is not writable ({exc.strerror}).")
    if exc.errno in (errno.ENODEV, errno.ENXIO, errno.EIO, errno.ENOTCONN, errno.ESTALE):
        return StorageUnavailableError(
            f"The backup drive stopped responding ({exc.strerror}). Is it still connected?"
        )
    return StorageError(f"Storage error on {what}: {exc.strerror or exc}.")


class LocalStorage(Storage):
    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self._fsync = fsync
        self._made_dirs: set[Path] = set()
        self._lock = threading.Lock()
        # name -> checked absolute path for read_into: a restore reads every small
        # file's blob from a handful of packs, and building a Path per read cost more
        # than the read itself.
        self._read_paths: dict[str, str] = {}

    @property
    def description(self) -> str:
        return str(self.root)

    @property
    def capabilities(self) -> Capabilities:
        return LOCAL_CAPABILITIES

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)

    def _ensure_dir(self, directory: Path) -> None:
        if directory in self._made_dirs:
            return
        # One level at a time below the root, never the root itself: if the drive was
        # unplugged, its empty mount point must not silently become the vault.
        current = self.root
        for part in directory.relative_to(self.root).parts:
            current = current / part
            with contextlib.suppress(FileExistsError):
                current.mkdir()
        with self._lock:
            self._made_dirs.add(directory)

    def put(self, name: str, data: bytes | bytearray | memoryview) -> None:
        path = self._path(name)
        if not self.root.is_dir():
            raise StorageUnavailableError(
                f"The backup folder {self.root} is missing. Is the drive connected?"
            )
        tmp = path.parent / f"{_TMP_PREFIX}{path.name}.{os.getpid()}.{threading.get_ident()}"
        try:
            self._ensure_dir(path.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, FileNotFoundError):
                # The folder vanished under us (drive unplugged mid-write): say so,
                # and forget the folders we made so a reconnect recreates them.
                with self._lock:
                    self._made_dirs.clear()
                self._check_root()
            raise _translate(exc, name) from exc

    def get(self, name: str) -> bytes:
        try:
            with open(self._path(name), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            self._check_root()
            raise NotFoundInStorage(f"{name} does not exist.") from None
        except OSError as exc:
            raise _translate(exc, name) from exc

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        try:
            fd = os.open(self._path(name), os.O_RDONLY)
        except FileNotFoundError:
            self._check_root()
            raise NotFoundInStorage(f"{name} does not exist.") from None
        except OSError as exc:
            raise _translate(exc, name) from exc
        try:
            data = os.pread(fd, length, offset)
        except OSError as exc:
            raise _translate(exc, name) from exc
        finally:
            os.close(fd)
        if len(data) != length:
            raise NotFoundInStorage(f"{name}: range {offset}+{length} is past the end.")
        return data

    def read_into(self, name: str, offset: int, out: memoryview) -> memoryview:
        """``get_range`` into a caller's reusable buffer: no allocation (and no fresh
        pages to fault in) per read; restore's hot path."""
        path = self._read_paths.get(name)
        if path is None:
            path = str(self._path(name))
            if len(self._read_paths) >= 4096:  # bounded: packs of a huge vault
                self._read_paths.clear()
            self._read_paths[name] = path
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self._check_root()
            raise NotFoundInStorage(f"{name} does not exist.") from None
        except OSError as exc:
            raise _translate(exc, name) from exc
        try:
            got = os.preadv(fd, [out], offset)
        except OSError as exc:
            raise _translate(exc, name) from exc
        finally:
            os.close(fd)
        if got != len(out):
            raise NotFoundInStorage(f"{name}: range {offset}+{len(out)} is past the end.")
        return out

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self._check_root()
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base if base else self.root
        if not start.is_dir():
            return
        root_len = len(str(self.root)) + 1
        for dirpath, _dirnames, filenames in os.walk(start):
            for filename in filenames:
                if filename.startswith(_TMP_PREFIX):
                    continue
                full = os.path.join(dirpath, filename)
                name = full[root_len:].replace(os.sep, "/")
                if not name.startswith(prefix):
                    continue
                try:
                    size = os.stat(full).st_size
                except FileNotFoundError:
                    continue
                yield ObjectInfo(name, size)

    def delete(self, name: str) -> None:
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _translate(exc, name) from exc

    def stat(self, name: str) -> ObjectInfo:
        try:
            return ObjectInfo(name, os.stat(self._path(name)).st_size)
        except FileNotFoundError:
            self._check_root()
            raise NotFoundInStorage(f"{name} does not exist.") from None
        except OSError as exc:
            raise _translate(exc, name) from exc

    def close(self) -> None:
        pass

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise StorageUnavailableError(
                f"The backup folder {self.root} is missing. Is the drive connected?"
            )

    def remove_stale_temp_files(self) -> int:
        """Delete temp files left by a killed writer; returns how many went."""
        removed = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for filename in files:
                if filename.startswith(_TMP_PREFIX):
                    try:
                        os.unlink(os.path.join(dirpath, filename))
                        removed += 1
                    except OSError:
                        pass
        return removed
