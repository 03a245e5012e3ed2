"""Gathers encrypted blobs into pack files and writes them to storage.

A pack is ``blob ciphertexts | sealed header | u32 header length``. Blobs are
encrypted straight into a preallocated pack buffer (no per-chunk copies); buffers are
recycled through a small pool, which also bounds memory and gives back-pressure when
storage is slower than reading. Full packs are written by writer threads so slow
uploads overlap with reading and encrypting. Each stored pack is reported through
``completed()`` so the caller can write an index naming it: an index is always
written after the packs it names (docs/FORMAT.md, write ordering).
"""

from __future__ import annotations

import mmap
import queue
import secrets
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from app.engine.codec import BlobEntry, compress_blob, encode_entries, encode_payload
from app.engine.crypto import B_COMPRESSED, BLOB_OVERHEAD, T_PACK_HEADER, Cipher
from app.storage.base import Storage

PACK_TARGET = 16 * 1024 * 1024
MAX_BLOB = 4 * 1024 * 1024 + 1024  # the chunker's maximum, plus zstd's worst-case growth
HEADER_ROOM = 1024 * 1024


def pack_name(pack_id: bytes) -> str:
    hexid = pack_id.hex()
    return f"data/{hexid[:2]}/{hexid}"


class Packer:
    def __init__(
        self,
        storage: Storage,
        cipher: Cipher,
        *,
        target_size: int = PACK_TARGET,
        writers: int = 2,
    ) -> None:
        self._storage = storage
        self._cipher = cipher
        self._target = target_size
        self._capacity = target_size + MAX_BLOB + BLOB_OVERHEAD + HEADER_ROOM
        self._lock = threading.Lock()
        self._done_lock = threading.Lock()
        self._free: queue.Queue[mmap.mmap | None] = queue.Queue()
        for _ in range(writers + 1):
            self._free.put(None)  # mapped on first use: small backups stay small
        self._buf: mmap.mmap | None = None
        self._pos = 0
        self._entries: list[BlobEntry] = []
        self._pool = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="pack-writer")
        self._futures: list[Future[None]] = []
        self._done: list[tuple[bytes, list[BlobEntry]]] = []
        self._error: BaseException | None = None
        self.bytes_written = 0
        self.packs_written = 0

    def add_blob(
        self, kind: int, blob_id: bytes, data: bytes | memoryview, *, try_compress: bool
    ) -> None:
        """Compress (when it helps) and encrypt one chunk into the current pack."""
        compressed, payload = compress_blob(data, try_compress=try_compress)
        self.add(kind | (B_COMPRESSED if compressed else 0), blob_id, payload, len(data))

    def add(
        self, type_byte: int, blob_id: bytes, payload: bytes | memoryview, raw_length: int
    ) -> None:
        self.raise_if_failed()
        full: tuple[mmap.mmap, int, list[BlobEntry]] | None = None
        with self._lock:
            if self._buf is None:
                self._buf = self._take_buffer()
            buf = self._buf
            need = len(payload) + BLOB_OVERHEAD
            if len(buf) < self._pos + need:  # only for a blob bigger than MAX_BLOB
                raise ValueError(f"blob of {len(payload)} bytes exceeds the pack buffer")
            offset = self._pos
            with memoryview(buf) as view:
                size = self._cipher.seal_blob_into(
                    type_byte, blob_id, payload, view[offset : offset + need]
                )
            self._entries.append(BlobEntry(type_byte, blob_id, offset, size, raw_length))
            self._pos += size
            if self._pos >= self._target:
                full = (buf, self._pos, self._entries)
                self._buf, self._pos, self._entries = None, 0, []
        if full is not None:
            self._submit(*full)

    def add_many(self, items: list[tuple[int, bytes, bytes | memoryview, int]]) -> None:
        """Encrypt several already-compressed blobs (type byte, id, payload, raw length)
        into the pack under one lock: a batch of small files costs one hand-off
        between the reader threads instead of one per file."""
        self.raise_if_failed()
        seal = self._cipher.seal_blob_into
        nonces = self._cipher.nonces(len(items))
        with self._lock:
            for (type_byte, blob_id, payload, raw_length), nonce in zip(items, nonces, strict=True):
                if self._buf is None:
                    self._buf = self._take_buffer()
                buf = self._buf
                need = len(payload) + BLOB_OVERHEAD
                if len(buf) < self._pos + need:
                    raise ValueError(f"blob of {len(payload)} bytes exceeds the pack buffer")
                offset = self._pos
                with memoryview(buf) as view:
                    size = seal(type_byte, blob_id, payload, view[offset : offset + need], nonce)
                self._entries.append(BlobEntry(type_byte, blob_id, offset, size, raw_length))
                self._pos += size
                if self._pos >= self._target:
                    # Hand the full pack to a writer now: the next buffer may have to
                    # wait for a writer to give one back.
                    self._submit(buf, self._pos, self._entries)
                    self._buf, self._pos, self._entries = None, 0, []

    def _take_buffer(self) -> mmap.mmap:
        """An anonymous mapping: pages cost memory only once written, and are reused."""
        buf = self._free.get()  # blocks while every buffer is being written: back-pressure
        return buf if buf is not None else mmap.mmap(-1, self._capacity)

    def _submit(self, buf: mmap.mmap, end: int, entries: list[BlobEntry]) -> None:
        future = self._pool.submit(self._write, buf, end, entries)
        with self._done_lock:
            self._futures.append(future)

    def _write(self, buf: mmap.mmap, end: int, entries: list[BlobEntry]) -> None:
        try:
            pack_id = secrets.token_bytes(32)
            name = pack_name(pack_id)
            header = self._cipher.seal_object(
                T_PACK_HEADER, name, encode_payload(encode_entries(entries))
            )
            trailer = struct.pack("<I", len(header))
            total = end + len(header) + 4
            if total <= len(buf):
                buf[end : end + len(header)] = header
                buf[total - 4 : total] = trailer
                with memoryview(buf) as view, view[:total] as data:
                    self._storage.put(name, data)
            else:  # a header too big for the spare room (many tiny blobs)
                self._storage.put(name, bytes(buf[:end]) + header + trailer)
            with self._done_lock:
                self._done.append((pack_id, entries))
                self.bytes_written += total
                self.packs_written += 1
        except BaseException as exc:
            with self._done_lock:
                if self._error is None:
                    self._error = exc
            raise
        finally:
            self._free.put(buf)

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def completed(self) -> list[tuple[bytes, list[BlobEntry]]]:
        """Packs safely stored since the last call (pack id, entries)."""
        with self._done_lock:
            done, self._done = self._done, []
        return done

    def flush(self) -> None:
        """Write the partial pack and wait for every write; raises the first failure."""
        with self._lock:
            pending = (self._buf, self._pos, self._entries) if self._entries else None
            if self._buf is not None and not self._entries:
                self._free.put(self._buf)
            self._buf, self._pos, self._entries = None, 0, []
        if pending is not None and pending[0] is not None:
            self._submit(pending[0], pending[1], pending[2])
        with self._done_lock:
            futures, self._futures = self._futures, []
        for future in futures:
            future.exception()  # wait; a failure is recorded in _error
        self.raise_if_failed()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
