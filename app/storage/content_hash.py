"""Dropbox's ``content_hash``: how we prove an upload arrived intact.

Dropbox reports a ``content_hash`` for every file: the data is split into 4 MiB
blocks, each block is SHA-256 hashed, the raw digests are concatenated and hashed
again (https://www.dropbox.com/developers/reference/content-hash). Computing it
locally lets the backend (a) send it with each upload call so the server rejects a
body damaged in transit and (b) compare it with the metadata the server returns, so
a file that Dropbox stored differently from what we sent is never taken as saved.

We keep our own implementation (rather than the SDK's) because it hashes
``memoryview`` slices without copying a 16 MiB pack, and it is the reference the
emulator uses too.
"""

from __future__ import annotations

import hashlib

BLOCK_SIZE = 4 * 1024 * 1024

EMPTY_HASH = hashlib.sha256(b"").hexdigest()


class ContentHasher:
    """Incremental content hash, for data that arrives in pieces (upload sessions)."""

    def __init__(self) -> None:
        self._overall = hashlib.sha256()
        self._block = hashlib.sha256()
        self._block_pos = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        while view:
            if self._block_pos == BLOCK_SIZE:
                self._overall.update(self._block.digest())
                self._block = hashlib.sha256()
                self._block_pos = 0
            take = min(BLOCK_SIZE - self._block_pos, len(view))
            self._block.update(view[:take])
            self._block_pos += take
            view = view[take:]

    def hexdigest(self) -> str:
        """The hash of everything so far (the hasher stays usable)."""
        overall = self._overall.copy()
        if self._block_pos > 0:
            overall.update(self._block.digest())
        return overall.hexdigest()


def block_digests(data: bytes | bytearray | memoryview) -> list[bytes]:
    """The raw SHA-256 of each 4 MiB block, so pieces cut on block boundaries can be
    hashed with ``combine`` without reading the data twice (upload sessions)."""
    view = memoryview(data).cast("B")
    return [
        hashlib.sha256(view[i : i + BLOCK_SIZE]).digest() for i in range(0, len(view), BLOCK_SIZE)
    ]


def combine(digests: list[bytes]) -> str:
    """The content hash of the data whose block digests are ``digests``."""
    return hashlib.sha256(b"".join(digests)).hexdigest()


def content_hash(data: bytes | bytearray | memoryview) -> str:
    """The 64-hex-digit Dropbox content hash of ``data``; ``b""`` hashes to sha256("")."""
    hasher = ContentHasher()
    hasher.update(data)
    return hasher.hexdigest()
