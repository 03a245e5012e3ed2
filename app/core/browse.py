"""Records of the version browser, shared by engine, services and UI.

The browser shows one merged tree of every path ever backed up. Each path has a
stable node id (an integer of the local catalog, see ``app.engine.catalog``), so
the UI's item model can refer to rows without holding paths or tree objects.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.core.models import EntryType, FileVersion

ROOT_NODE = 0


@dataclass(frozen=True, slots=True)
class BrowseEntry:
    """One row of the tree: a file or folder as the current view sees it.

    In the merged view (all backups) the row describes the newest version of the
    path; ``deleted_at`` is set when a later backup of its folder no longer held it.
    In a view of one backup (the timeline) every row is present in that backup.
    """

    node: int
    parent: int
    name: str
    path: str  # absolute original path
    type: EntryType
    size: int
    mtime: datetime | None
    snapshot: str  # the backup whose version this row shows (drag, restore)
    deleted_at: datetime | None = None

    @property
    def is_dir(self) -> bool:
        return self.type is EntryType.DIR

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Nodes matching a search, with every ancestor needed to show them in a tree."""

    text: str
    matches: tuple[int, ...]
    visible: frozenset[int]  # matches + their ancestors (the root included)
    truncated: bool  # more matched than were returned
    rows: dict[int, tuple[BrowseEntry, ...]] = field(default_factory=dict)  # by parent


@dataclass(frozen=True, slots=True)
class History:
    """The distinct versions of one path, newest first, plus its full record.

    ``versions`` drops the ``unchanged`` rows of ``all_versions`` (which is exactly
    what ``keepsake versions FILE`` prints, oldest first).
    """

    node: int
    path: str
    is_dir: bool
    all_versions: tuple[FileVersion, ...]

    @property
    def versions(self) -> list[FileVersion]:
        from app.core.models import Change

        return [v for v in reversed(self.all_versions) if v.change is not Change.UNCHANGED]


class PreviewKind(StrEnum):
    IMAGE = "image"
    TEXT = "text"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Preview:
    """What the preview pane shows for one version of one file."""

    path: str
    snapshot: str
    kind: PreviewKind
    size: int
    mtime: datetime | None
    text: str = ""  # the first lines, for TEXT
    file: str = ""  # staged bytes of the version (IMAGE), in the private cache
    thumbnail: str = ""  # where a thumbnail is (or should be) cached, 0600
    facts: tuple[tuple[str, str], ...] = field(default=())


class ConflictChoice(StrEnum):
    REPLACE = "replace"
    KEEP_BOTH = "keep_both"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """Where a restore would write, and whether something different is there now."""

    source: str  # original path in the backup
    snapshot: str
    dest: str  # the final path of the restored file or folder
    conflict: bool  # a different file or folder is at ``dest``
    identical: bool  # ``dest`` already holds exactly this version
    differing: int = 0  # how many files differ (folders)


@dataclass(frozen=True, slots=True)
class RestoreDone:
    """A finished browser restore: where it went and what could not be restored."""

    dest: str
    files: int
    bytes: int
    warnings: tuple[str, ...] = ()


def restored_name(name: str, when: datetime, exists: Callable[[str], bool]) -> str:
    """``report.odt`` -> ``report (restored 2026-11-25).odt``, unique in its folder
    ("Keep both": the restored copy goes beside the file that is there now)."""
    stem, dot, suffix = name.rpartition(".")
    if not stem or not dot:
        stem, suffix = name, ""
    else:
        suffix = "." + suffix
    label = when.astimezone().strftime("%Y-%m-%d")
    for n in range(1, 1000):
        extra = "" if n == 1 else f" {n}"
        candidate = f"{stem} (restored {label}{extra}){suffix}"
        if not exists(candidate):
            return candidate
    return f"{stem} (restored {label} {secrets.token_hex(3)}){suffix}"
