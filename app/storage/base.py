"""The Storage protocol every backend implements, and its contract.

Names are relative, ``/``-separated (``data/3f/3fa9...``, ``config``) and contain only
``[a-z0-9/._-]``. Contract (checked by tests/storage against every backend):

* ``put`` is atomic and idempotent: a reader sees the old object, nothing, or the
  whole new one, never a prefix; putting the same bytes twice is fine.
* ``get``/``get_range``/``stat`` raise ``NotFoundInStorage`` for a missing name.
* ``get_range`` returns exactly ``length`` bytes or raises (a short read is an error).
* ``list(prefix)`` yields every object whose name starts with ``prefix`` (recursive),
  in no particular order, and never a temp file of an unfinished ``put``.
* ``delete`` of a missing name is not an error.
* All methods are safe to call from several threads at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from app.core.errors import StorageError

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str
    size: int


@runtime_checkable
class Storage(Protocol):
    """A flat namespace of immutable objects."""

    @property
    def description(self) -> str:
        """Where the objects live, for people (``/media/usb/vault``, ``Dropbox: Photos``)."""
        ...

    def put(self, name: str, data: bytes | bytearray | memoryview) -> None: ...

    def get(self, name: str) -> bytes: ...

    def get_range(self, name: str, offset: int, length: int) -> bytes: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    def delete(self, name: str) -> None: ...

    def stat(self, name: str) -> ObjectInfo: ...

    def close(self) -> None: ...


def check_name(name: str) -> str:
    """Reject names that could escape a folder or collide on case-insensitive stores."""
    if not _NAME_RE.match(name) or ".." in name.split("/"):
        raise StorageError(f"Invalid object name {name!r}.")
    return name
