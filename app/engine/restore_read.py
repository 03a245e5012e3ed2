"""Restore's reading half: sealed blobs out of packs in as few requests as possible.

Locally a ranged read costs a ``pread``, so blobs that lie back to back in a pack (a
folder's small files were packed together) are read with one call per run
(``SpanReader``). From a remote backend each request has latency and each byte is
downloaded: once a restore has asked for a good part of a pack, the pack is
downloaded whole, once, and kept in an unlinked temp file in the cache folder, so
the rest of it is read locally however the restore's order jumps between packs
(``PackReader``). Memory stays flat: the packs are on disk (page cache), a bounded
number of bytes of them, oldest idle first out.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
import threading
from collections import OrderedDict
from typing import IO

from app.core.errors import NotFoundInStorage, VaultCorruptError
from app.engine.crypto import BLOB_OVERHEAD
from app.engine.packer import MAX_BLOB, pack_name
from app.storage.base import Storage

BlobLocation = tuple[bytes, int, bytes, int, int, int]  # id, type, pack, offset, length, raw

# The longest run of blobs read with one call: what one blob may need at most, so a
# thread's read buffer stays the size it always was.
SPAN_MAX = MAX_BLOB + BLOB_OVERHEAD


class PackMissing(VaultCorruptError):
    """A pack the index names is not in storage; the blob may live in another."""

    def __init__(self, pack: bytes) -> None:
        super().__init__(f"pack {pack.hex()[:16]} is missing")
        self.pack = pack


class _Spill:
    """One pack downloaded whole, in an unlinked temp file."""

    __slots__ = ("file", "size", "refs", "lock")

    def __init__(self, file: IO[bytes], size: int) -> None:
        self.file = file
        self.size = size
        self.refs = 0
        self.lock = threading.Lock()  # seek + read where there is no pread


class PackReader:
    """Reads byte ranges of packs for the writer threads (thread-safe).

    On a backend without cheap ranged reads, a pack is fetched whole once a restore
    has asked it for ``WHOLE_FRACTION`` of a pack's size or ``MAX_RANGED`` requests,
    and kept on disk (up to ``SPILL_BUDGET`` bytes in all): every pack is then
    downloaded about once, whatever order the files need it in (a file's chunks may
    be spread over packs shared with other files, backed up at the same time).
    """

    WHOLE_FRACTION = 0.25
    MAX_RANGED = 8
    SPILL_BUDGET = 2 << 30

    def __init__(
        self, storage: Storage, *, pack_size: int = 16 << 20, spill_dir: str | None = None
    ) -> None:
        self.storage = storage
        capabilities = storage.capabilities
        self.remote = not capabilities.cheap_ranged_reads
        self._read_into = storage.read_into if capabilities.read_into else None
        self._threshold = max(1, int(self.WHOLE_FRACTION * pack_size))
        self._spill_dir = spill_dir
        self._lock = threading.Lock()
        self._spilled: OrderedDict[bytes, _Spill] = OrderedDict()
        self._spilled_bytes = 0
        self._ranged: dict[bytes, tuple[int, int]] = {}  # pack -> (bytes, requests) so far
        self._fetching: dict[bytes, threading.Lock] = {}
        self.requests = 0

    def read_into(self, pack: bytes, offset: int, out: memoryview) -> memoryview:
        """``len(out)`` bytes of ``pack`` from ``offset`` into ``out``. Raises
        ``PackMissing`` when storage has no such pack."""
        name = pack_name(pack)
        try:
            if not self.remote:
                self.requests += 1
                if self._read_into is not None:
                    return self._read_into(name, offset, out)
                out[:] = self.storage.get_range(name, offset, len(out))
                return out
            spill = self._spill_for(pack, name, len(out))
            if spill is None:
                self.requests += 1
                out[:] = self.storage.get_range(name, offset, len(out))
                return out
        except NotFoundInStorage:
            raise PackMissing(pack) from None
        try:
            if offset + len(out) > spill.size:
                raise VaultCorruptError(f"{name} is shorter than its index says")
            if hasattr(os, "preadv"):
                got = os.preadv(spill.file.fileno(), [out], offset)
            else:  # pragma: no cover - Windows
                with spill.lock:
                    spill.file.seek(offset)
                    chunk = spill.file.read(len(out))
                    got = len(chunk)
                    out[:got] = chunk
            if got != len(out):
                raise VaultCorruptError(f"{name} is shorter than its index says")
            return out
        finally:
            with self._lock:
                spill.refs -= 1

    def _spill_for(self, pack: bytes, name: str, length: int) -> _Spill | None:
        """The pack's local copy (referenced), fetching it now if it is worth it;
        None when a ranged request is the better deal."""
        with self._lock:
            spill = self._take(pack)
            if spill is not None:
                return spill
            got, count = self._ranged.get(pack, (0, 0))
            if got + length < self._threshold and count + 1 < self.MAX_RANGED:
                self._ranged[pack] = (got + length, count + 1)
                return None
            fetch_lock = self._fetching.setdefault(pack, threading.Lock())
        with fetch_lock:  # one download per pack, even with several writers
            with self._lock:
                spill = self._take(pack)
            if spill is not None:
                return spill
            self.requests += 1
            data = self.storage.get(name)
            # Kept open past this call (0600, and unlinked where the system allows).
            file = tempfile.TemporaryFile(dir=self._spill_dir)  # noqa: SIM115
            try:
                file.write(data)
                file.flush()
            except BaseException:
                file.close()
                raise
            spill = _Spill(file, len(data))
            del data
            with self._lock:
                self._ranged.pop(pack, None)
                self._fetching.pop(pack, None)
                self._spilled[pack] = spill
                self._spilled_bytes += spill.size
                spill.refs += 1
                self._evict()
            return spill

    def _take(self, pack: bytes) -> _Spill | None:
        spill = self._spilled.get(pack)
        if spill is not None:
            spill.refs += 1
            self._spilled.move_to_end(pack)
        return spill

    def _evict(self) -> None:
        for pack, spill in list(self._spilled.items()):  # oldest first
            if self._spilled_bytes <= self.SPILL_BUDGET:
                return
            if spill.refs == 0:
                del self._spilled[pack]
                self._spilled_bytes -= spill.size
                spill.file.close()

    def close(self) -> None:
        with self._lock:
            for spill in self._spilled.values():
                with contextlib.suppress(OSError):
                    spill.file.close()
            self._spilled.clear()
            self._spilled_bytes = 0


_local = threading.local()


def lazy_buffer(size: int) -> memoryview:
    """A writable buffer whose pages are only faulted in where it is written (an
    anonymous map): a one-file restore does not pay for zeroing megabytes it never
    uses."""
    return memoryview(mmap.mmap(-1, size))


def _span_buffer() -> memoryview:
    """This thread's reusable read buffer (one span at a time)."""
    buf: memoryview | None = getattr(_local, "span", None)
    if buf is None:
        buf = lazy_buffer(SPAN_MAX)
        _local.span = buf
    return buf


read_buffer = _span_buffer


def decrypt_buffer() -> memoryview:
    """This thread's reusable decrypt buffer (a sealed blob's plaintext, at most
    ``MAX_BLOB``)."""
    buf: memoryview | None = getattr(_local, "plain", None)
    if buf is None:
        buf = lazy_buffer(MAX_BLOB)
        _local.plain = buf
    return buf


def unpack_buffer() -> memoryview:
    """This thread's reusable buffer for a compressed blob's inflated bytes."""
    buf: memoryview | None = getattr(_local, "unpacked", None)
    if buf is None:
        buf = lazy_buffer(MAX_BLOB)
        _local.unpacked = buf
    return buf


class SpanReader:
    """The sealed blobs of one task, read in runs: consecutive blobs that lie back
    to back in one pack come from one read of at most ``SPAN_MAX`` bytes.

    ``blobs`` is every blob the task will ask for, in the order it asks (``get(i)``
    for i rising; a file that fails skips its remaining indices, which is fine).
    The returned view is valid until the next ``get`` on this thread.
    """

    __slots__ = ("reader", "blobs", "first", "end", "base", "view")

    def __init__(self, reader: PackReader, blobs: list[BlobLocation]) -> None:
        self.reader = reader
        self.blobs = blobs
        self.first = self.end = 0  # the blob indices the current span holds
        self.base = 0  # pack offset of the span's first byte
        self.view: memoryview | None = None

    def get(self, index: int) -> memoryview:
        blobs = self.blobs
        _id, _type, pack, offset, length, _raw = blobs[index]
        if self.view is None or not self.first <= index < self.end:
            end = offset + length
            last = index + 1
            while last < len(blobs):
                nxt = blobs[last]
                if nxt[2] != pack or nxt[3] != end or nxt[3] + nxt[4] - offset > SPAN_MAX:
                    break
                end = nxt[3] + nxt[4]
                last += 1
            buf = _span_buffer()
            if end - offset > len(buf):  # a blob over the maximum: the reader decides
                self.view = None
                out = memoryview(bytearray(length))
                return self.reader.read_into(pack, offset, out)
            self.view = None  # a failed read leaves no stale span behind
            self.view = self.reader.read_into(pack, offset, buf[: end - offset])
            self.first, self.end, self.base = index, last, offset
        start = offset - self.base
        return self.view[start : start + length]
