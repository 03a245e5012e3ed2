"""What kind of backend a Storage is, seen through decorators.

The engine tunes itself by it: a local folder answers a ranged read in microseconds
and needs one writer; a cloud backend wants whole-object reads and parallel uploads.
"""

from __future__ import annotations

from app.storage.base import Storage
from app.storage.local import LocalStorage
from app.storage.memory import MemoryStorage
from app.storage.retry import RetryingStorage


def unwrap(storage: Storage) -> object:
    inner: object = storage
    while isinstance(inner, RetryingStorage):
        inner = inner.inner
    return inner


def is_local(storage: Storage) -> bool:
    return isinstance(unwrap(storage), LocalStorage | MemoryStorage)


def upload_concurrency(storage: Storage) -> int:
    """Pack writers worth running: 1 for local disks, the backend's setting otherwise."""
    if is_local(storage):
        return 1
    return max(1, int(getattr(unwrap(storage), "max_concurrent_uploads", 4)))
