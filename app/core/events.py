"""Progress and result records that flow up from the engine.

Frozen dataclasses: safe to hand across threads and to queue in Qt signals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Phase(StrEnum):
    OPENING = "opening"
    SCANNING = "scanning"
    BACKING_UP = "backing_up"
    FINISHING = "finishing"
    RESTORING = "restoring"
    CHECKING = "checking"
    PRUNING = "pruning"
    COPYING = "copying"  # a vault copied to a new place (Settings › Storage)
    WAITING = "waiting"  # e.g. the cloud is throttling us
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a running job's progress (about 5 per second, plus a final one)."""

    phase: Phase
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    current_path: str = ""
    rate_bps: float = 0.0
    eta_s: float | None = None
    message: str = ""
    resume_at: datetime | None = None  # set while WAITING (throttled until then)
    final: bool = False

    @property
    def fraction(self) -> float:
        if self.bytes_total > 0:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.files_total > 0:
            return min(1.0, self.files_done / self.files_total)
        return 0.0


@dataclass(frozen=True, slots=True)
class Warning_:
    """A per-file problem: the job went on without this path."""

    path: str
    message: str


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """Default callback for callers that do not show progress."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    snapshot_id: str
    files_new: int
    files_changed: int
    files_unchanged: int
    dirs: int
    bytes_read: int
    bytes_added: int
    bytes_uploaded: int
    bytes_total: int
    duration_s: float
    warnings: tuple[Warning_, ...] = field(default_factory=tuple)
    # Things left out on purpose, worth a line but not a failure (FIFOs, sockets, devices).
    notes: tuple[Warning_, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RestoreResult:
    files_restored: int
    bytes_restored: int
    duration_s: float
    warnings: tuple[Warning_, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    objects_checked: int
    problems: tuple[str, ...] = field(default_factory=tuple)
    affected_files: tuple[str, ...] = field(default_factory=tuple)
    # Things worth saying that are not damage (files in the vault folder that are not
    # Keepsake's, such as .DS_Store): they do not make ``ok`` false.
    notes: tuple[str, ...] = field(default_factory=tuple)
