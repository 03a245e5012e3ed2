"""The one :class:`Status` the Overview and the tray render, worked out from facts.

:class:`~app.services.backups.BackupService` gathers the facts (settings, history,
the runner, the scheduler, the vault's damaged backups); :func:`status_of` decides
what matters most and says it. Kept apart, so the rules read in one place and every
sentence the user sees here goes through Qt's translation machinery (context
``Status``) like the UI's own strings: a translator works from the ``.ts`` file alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from PySide6.QtCore import QCoreApplication

from app.core.events import Progress
from app.services import damage
from app.services.damage import DamagedBackup
from app.services.jobs import JobKind
from app.services.locations import describe_missing
from app.store.history import JobRecord, JobStatus


class State(StrEnum):
    NOT_SET_UP = "not_set_up"
    UP_TO_DATE = "up_to_date"
    RUNNING = "running"
    PAUSED = "paused"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Status:
    state: State
    headline: str  # "Up to date", "Backing up… 42%", "Last backup failed"
    detail: str = ""  # the error message, the warning reason
    last_backup: JobRecord | None = None  # the last backup attempt
    last_success: JobRecord | None = None
    next_run: datetime | None = None
    progress: Progress | None = None
    paused_until: datetime | None = None
    job: JobKind | None = None  # the job running (or paused) now
    damaged: tuple[DamagedBackup, ...] = ()  # backups in the vault that cannot be read

    @property
    def percent(self) -> int | None:
        if self.progress is None:
            return None
        return int(self.progress.fraction * 100)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the status is made of, read by the backup service on the GUI thread."""

    set_up: bool
    busy: bool
    job: JobKind | None  # the running job's kind, when busy
    job_paused: bool
    progress: Progress | None
    paused_until: datetime | None
    last: JobRecord | None
    last_ok: JobRecord | None
    next_run: datetime | None
    now: datetime
    stale_after: timedelta
    missing: Callable[[], list[str]]  # asked only when idle: it looks at the disk
    damaged: tuple[DamagedBackup, ...] = ()


def verb(kind: JobKind | None) -> str:
    """'Backing up', 'Restoring', ... for the running job."""
    if kind is JobKind.BACKUP:
        return QCoreApplication.translate("Status", "Backing up")
    if kind is JobKind.RESTORE:
        return QCoreApplication.translate("Status", "Restoring")
    if kind is JobKind.CHECK:
        return QCoreApplication.translate("Status", "Checking")
    if kind is JobKind.FORGET:
        return QCoreApplication.translate("Status", "Cleaning up old backups")
    if kind is JobKind.COPY_VAULT:
        return QCoreApplication.translate("Status", "Copying the backup to its new place")
    return QCoreApplication.translate("Status", "Working")


def no_success_for(elapsed: timedelta) -> str:
    """'No successful backup for 4 days.' (also the stale notification's text)."""
    import humanize

    return QCoreApplication.translate("Status", "No successful backup for {ago}.").format(
        ago=humanize.naturaldelta(elapsed)
    )


def status_of(f: Facts) -> Status:
    """The most important thing to say now (see the module docstring)."""

    def mk(
        state: State, headline: str, detail: str = "", progress: Progress | None = None
    ) -> Status:
        return Status(
            state,
            headline,
            detail,
            f.last,
            f.last_ok,
            f.next_run,
            progress,
            f.paused_until,
            damaged=f.damaged,
        )

    if not f.set_up:
        return mk(State.NOT_SET_UP, QCoreApplication.translate("Status", "Not set up yet"))
    if f.busy:
        doing = verb(f.job)
        if f.job_paused:
            headline = QCoreApplication.translate("Status", "{doing} paused").format(doing=doing)
            return replace(mk(State.PAUSED, headline, progress=f.progress), job=f.job)
        pct = f" {int(f.progress.fraction * 100)}%" if f.progress else ""
        return replace(mk(State.RUNNING, f"{doing}…{pct}", progress=f.progress), job=f.job)
    if f.paused_until is not None:
        return mk(State.PAUSED, QCoreApplication.translate("Status", "Backups paused"))
    missing = f.missing()
    if missing:
        what = (
            QCoreApplication.translate("Status", "A folder is missing")
            if len(missing) == 1
            else QCoreApplication.translate("Status", "Some folders are missing")
        )
        return mk(State.WARNING, what, describe_missing(missing))
    if f.last is not None and f.last.status is JobStatus.FAILED:
        return mk(
            State.ERROR, QCoreApplication.translate("Status", "Last backup failed"), f.last.message
        )
    if f.damaged:
        return mk(State.WARNING, damage.headline(f.damaged), damage.summary(f.damaged))
    if f.last_ok is None:
        return mk(
            State.WARNING,
            QCoreApplication.translate("Status", "No backup yet"),
            QCoreApplication.translate("Status", "Press Back up now to make the first backup."),
        )
    if f.now - f.last_ok.finished > f.stale_after:
        return mk(
            State.WARNING,
            QCoreApplication.translate("Status", "Backups are out of date"),
            no_success_for(f.now - f.last_ok.finished),
        )
    if f.last is not None and f.last.status is JobStatus.WARNINGS:
        return mk(
            State.WARNING,
            QCoreApplication.translate("Status", "Up to date, some files skipped"),
            f.last.message,
        )
    return mk(
        State.UP_TO_DATE,
        QCoreApplication.translate("Status", "Up to date"),
        QCoreApplication.translate("Status", "Your files are backed up and encrypted."),
    )
