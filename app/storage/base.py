"""The Storage protocol every backend implements, its contract, and its capabilities.

Names are relative, ``/``-separated (``data/3f/3fa9...``, ``config``) and contain only
``[a-z0-9/._-]``. Contract (checked by tests/storage against every backend):

* ``put`` is atomic and idempotent: a reader sees the old object, nothing, or the
  whole new one, never a prefix; putting the same bytes twice is fine.
* ``get``/``get_range``/``stat`` raise ``NotFoundInStorage`` for a missing name.
* ``get_range`` returns exactly ``length`` bytes or raises (a short read is an error);
  ``read_into`` is the same read into the caller's buffer.
* ``list(prefix)`` yields every object whose name starts with ``prefix`` (recursive),
  in no particular order, and never a temp file of an unfinished ``put``.
* ``delete`` of a missing name is not an error; nor is it for ``delete_many``.
* ``put_many``/``delete_many`` have the effect of ``put``/``delete`` on each item
  (not one transaction: after a failure some items may be done).
* All methods are safe to call from several threads at once.

What a backend is good at is *declared* (``capabilities``), never guessed from its
class, so decorators (retry, limiter) stay transparent: they forward the inner
backend's. As restic's backend interface does (``Connections()``,
``HasAtomicReplace()``), the engine asks the backend instead of knowing it.

A backend subclasses ``Storage`` explicitly to inherit the defaults below (one call
per item for the batch methods, a copy for ``read_into``, nothing to clean up);
it overrides what it does better and says so in ``capabilities``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from app.core.errors import StorageError

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")

Data = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend does well, so the engine can tune itself without knowing it.

    The defaults describe a plain remote object store (one request per call, each
    with real latency), which is the safe assumption for a backend nobody tuned.
    """

    #: Uploads worth running at once: 1 for a local disk (parallel writers only
    #: seek), the connection count for a cloud backend (latency hides behind others).
    connections: int = 4
    #: A ranged read costs about what a local ``pread`` does. When false, a restore
    #: downloads a pack whole once it needs a good part of it (one request, not
    #: hundreds of ranged ones).
    cheap_ranged_reads: bool = False
    #: ``delete_many`` removes many objects in a few requests (Dropbox delete_batch),
    #: rather than one ``delete`` each.
    batch_delete: bool = False
    #: ``put_many`` commits many small objects in one request (Dropbox
    #: finish_batch), rather than one ``put`` each.
    batch_put: bool = False
    #: ``read_into`` fills the caller's buffer straight from the source (a local
    #: file's ``preadv``), without allocating; restore's hot path reuses one buffer.
    read_into: bool = False

    def __post_init__(self) -> None:
        if self.connections < 1:
            raise ValueError("a backend needs at least one connection")


DEFAULT_CAPABILITIES = Capabilities()


@runtime_checkable
class Storage(Protocol):
    """A flat namespace of immutable objects."""

    @property
    def description(self) -> str:
        """Where the objects live, for people (``/media/usb/vault``, ``Dropbox: Photos``)."""
        ...

    def put(self, name: str, data: Data) -> None: ...

    def get(self, name: str) -> bytes: ...

    def get_range(self, name: str, offset: int, length: int) -> bytes: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    def delete(self, name: str) -> None: ...

    def stat(self, name: str) -> ObjectInfo: ...

    def close(self) -> None: ...

    # -- with defaults: a backend overrides these when it does better ----------------

    @property
    def capabilities(self) -> Capabilities:
        """What this backend does well (see ``Capabilities``); decorators forward it."""
        return DEFAULT_CAPABILITIES

    def put_many(self, items: Sequence[tuple[str, Data]]) -> None:
        """Save several objects; a backend with ``batch_put`` commits them together.

        For objects written at the same moment (the index objects prune rewrites,
        a new vault's config and keys): fewer commits on a backend that serialises
        writes per folder.
        """
        for name, data in items:
            self.put(name, data)

    def delete_many(self, names: Iterable[str]) -> None:
        """Delete several objects; a backend with ``batch_delete`` does it in batches."""
        for name in names:
            self.delete(name)

    def read_into(self, name: str, offset: int, out: memoryview) -> memoryview:
        """``get_range(name, offset, len(out))`` into ``out``; returns ``out``.

        Worth calling only where ``capabilities.read_into`` says it avoids a copy.
        """
        out[:] = self.get_range(name, offset, len(out))
        return out

    def remove_stale_temp_files(self) -> int:
        """Remove what writers killed mid-``put`` left behind; returns how many went.

        Only while no writer can run (prune holds the exclusive lock): a live
        writer's temp file looks the same as a dead one's.
        """
        return 0


def check_name(name: str) -> str:
    """Reject names that could escape a folder or collide on case-insensitive stores."""
    if not _NAME_RE.match(name) or ".." in name.split("/"):
        raise StorageError(f"Invalid object name {name!r}.")
    return name
