"""Records that describe what a vault holds, shared by engine, services and UI.

Times are timezone-aware UTC ``datetime``s; convert to local time only for display.
Paths are absolute original paths as ``str`` (undecodable bytes are kept with
``os.fsdecode``'s surrogateescape, so ``os.fsencode(path)`` gives the exact bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EntryType(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"


class Change(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class DamagedSnapshot:
    """A snapshot object that exists but cannot be read (flipped bytes, swapped or
    truncated): its time is unknown, so it may be the newest backup."""

    id: str
    reason: str

    @property
    def short_id(self) -> str:
        return self.id[:8]


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: str
    time: datetime
    hostname: str
    device_id: str
    paths: tuple[str, ...]
    files: int
    bytes: int
    tree: str  # root tree id (hex)
    tags: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def matches_host(self, host: str) -> bool:
        """``host`` is a hostname or a prefix of a device id."""
        return self.hostname == host or (bool(host) and self.device_id.startswith(host))


@dataclass(frozen=True, slots=True)
class Entry:
    """One file, folder or symlink inside a snapshot."""

    path: str  # absolute original path
    name: str
    type: EntryType
    size: int
    mtime: datetime
    mode: int
    link_target: str | None = None


@dataclass(frozen=True, slots=True)
class FileVersion:
    """A file as it was in one snapshot (see ``keepsake versions``)."""

    snapshot: str
    time: datetime
    size: int
    mtime: datetime | None
    change: Change


@dataclass(frozen=True, slots=True)
class VaultStats:
    snapshots: int
    packs: int
    stored_bytes: int  # what the storage holds (packs + metadata)
    blobs: int
