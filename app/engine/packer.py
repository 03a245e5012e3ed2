"""Gathers encrypted blobs into pack files and writes them to storage.

A pack is ``blob ciphertexts | sealed header | u32 header length``. Packs are written
by a small pool so slow uploads overlap with reading and encrypting; at most
``max_inflight`` packs are held in memory. Each finished pack is reported through
``completed()`` so the caller can write an index that names it: the index is always
written after the pack it names (docs/FORMAT.md, write ordering).
"""

from __future__ import annotations

import secrets
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from app.engine.codec import BlobEntry, encode_entries, encode_payload
from app.engine.crypto import T_PACK_HEADER, Cipher
from app.storage.base import Storage

PACK_TARGET = 16 * 1024 * 1024


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
        max_inflight: int = 4,
    ) -> None:
        self._storage = storage
        self._cipher = cipher
        self._target = target_size
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._entries: list[BlobEntry] = []
        self._pool = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="pack-writer")
        self._inflight = threading.BoundedSemaphore(max_inflight)
        self._futures: list[Future[None]] = []
        self._done: list[tuple[bytes, list[BlobEntry]]] = []
        self._error: BaseException | None = None
        self.bytes_written = 0
        self.packs_written = 0

    def add(self, blob_type: int, blob_id: bytes, sealed: bytes, raw_length: int) -> None:
        """Append one sealed blob; may hand a full pack to a writer thread."""
        self.raise_if_failed()
        full: tuple[bytearray, list[BlobEntry]] | None = None
        with self._lock:
            self._entries.append(
                BlobEntry(blob_type, blob_id, len(self._buf), len(sealed), raw_length)
            )
            self._buf += sealed
            if len(self._buf) >= self._target:
                full = (self._buf, self._entries)
                self._buf, self._entries = bytearray(), []
        if full is not None:
            self._submit(*full)

    def _submit(self, body: bytearray, entries: list[BlobEntry]) -> None:
        self._inflight.acquire()  # back-pressure: bounds memory held by queued packs
        try:
            future = self._pool.submit(self._write, body, entries)
        except BaseException:
            self._inflight.release()
            raise
        with self._lock:
            self._futures.append(future)

    def _write(self, body: bytearray, entries: list[BlobEntry]) -> None:
        try:
            pack_id = secrets.token_bytes(32)
            name = pack_name(pack_id)
            header = self._cipher.seal_object(
                T_PACK_HEADER, name, encode_payload(encode_entries(entries))
            )
            body += header
            body += struct.pack("<I", len(header))
            self._storage.put(name, body)
            with self._lock:
                self._done.append((pack_id, entries))
                self.bytes_written += len(body)
                self.packs_written += 1
        except BaseException as exc:
            with self._lock:
                if self._error is None:
                    self._error = exc
            raise
        finally:
            self._inflight.release()

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def completed(self) -> list[tuple[bytes, list[BlobEntry]]]:
        """Packs safely stored since the last call (pack id, entries)."""
        with self._lock:
            done, self._done = self._done, []
        return done

    def flush(self) -> None:
        """Write the partial pack and wait for every write; raises the first failure."""
        with self._lock:
            body, entries = self._buf, self._entries
            self._buf, self._entries = bytearray(), []
        if entries:
            self._submit(body, entries)
        with self._lock:
            futures, self._futures = self._futures, []
        for future in futures:
            future.exception()  # wait; the error (if any) is recorded in _error
        self.raise_if_failed()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
