"""An in-memory backend: fast tests, and the reference behaviour of the contract."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from app.core.errors import NotFoundInStorage
from app.storage.base import Capabilities, ObjectInfo, Storage, check_name

#: One writer is enough (nothing to wait for); ranged reads are slices.
MEMORY_CAPABILITIES = Capabilities(connections=1, cheap_ranged_reads=True)


class MemoryStorage(Storage):
    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return "memory"

    @property
    def capabilities(self) -> Capabilities:
        return MEMORY_CAPABILITIES

    def put(self, name: str, data: bytes | bytearray | memoryview) -> None:
        check_name(name)
        blob = bytes(data)
        with self._lock:
            self._objects[name] = blob

    def get(self, name: str) -> bytes:
        with self._lock:
            try:
                return self._objects[name]
            except KeyError:
                raise NotFoundInStorage(f"{name} does not exist.") from None

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        data = self.get(name)
        if offset < 0 or length < 0 or offset + length > len(data):
            raise NotFoundInStorage(f"{name}: range {offset}+{length} is past the end.")
        return data[offset : offset + length]

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            items = [(n, len(d)) for n, d in self._objects.items() if n.startswith(prefix)]
        for name, size in items:
            yield ObjectInfo(name, size)

    def delete(self, name: str) -> None:
        with self._lock:
            self._objects.pop(name, None)

    def stat(self, name: str) -> ObjectInfo:
        return ObjectInfo(name, len(self.get(name)))

    def close(self) -> None:
        pass

    # Test helpers: direct access to the raw bytes (for corruption tests).
    def raw(self) -> dict[str, bytes]:
        return self._objects
