"""How sizes, counts, times and progress read to people (via humanize).

Words are translated through Qt (context ``fmt``) when they are formatted, so a
language installed at start-up applies; humanize's own phrases ("3 minutes ago")
stay English until humanize's catalogue for the language is activated.
"""

from __future__ import annotations

from datetime import UTC, datetime

import humanize
from PySide6.QtCore import QCoreApplication

from app.core.events import Phase, Progress
from app.store.settings import Schedule, ScheduleMode


def phase_text(phase: Phase) -> str:
    texts = {
        Phase.OPENING: QCoreApplication.translate("fmt", "Opening the vault"),
        Phase.SCANNING: QCoreApplication.translate("fmt", "Looking for changes"),
        Phase.BACKING_UP: QCoreApplication.translate("fmt", "Backing up"),
        Phase.FINISHING: QCoreApplication.translate("fmt", "Finishing"),
        Phase.RESTORING: QCoreApplication.translate("fmt", "Restoring"),
        Phase.CHECKING: QCoreApplication.translate("fmt", "Checking"),
        Phase.PRUNING: QCoreApplication.translate("fmt", "Cleaning up"),
        Phase.COPYING: QCoreApplication.translate("fmt", "Copying the backup"),
        Phase.WAITING: QCoreApplication.translate("fmt", "Waiting"),
        Phase.DONE: QCoreApplication.translate("fmt", "Done"),
    }
    return texts.get(phase, phase.value)


def plural(n: int, one: str, many: str) -> str:
    """``one`` or ``many`` (both already translated, with ``{n}``) for ``n``: the
    caller writes each form as a whole phrase a translator can reorder. Other
    ``{fields}`` are left for the caller."""
    return (one if n == 1 else many).replace("{n}", humanize.intcomma(n))


def schedule(s: Schedule) -> str:
    """'Every hour', 'Every day at 12:00', ... (the settings' own ``describe`` is English)."""
    if s.mode is ScheduleMode.MANUAL:
        return QCoreApplication.translate("fmt", "Only when you press Back up now")
    if s.mode is ScheduleMode.HOURLY:
        return QCoreApplication.translate("fmt", "Every hour")
    if s.mode is ScheduleMode.EVERY_N_HOURS:
        return QCoreApplication.translate("fmt", "Every {n} hours").format(n=s.every_hours)
    return QCoreApplication.translate("fmt", "Every day at {time}").format(time=s.daily_at)


def size(n: int | float) -> str:
    return humanize.naturalsize(n, binary=False)


def count(n: int, word: str) -> str:
    return f"{humanize.intcomma(n)} {word}{'' if n == 1 else 's'}"


def local(dt: datetime) -> datetime:
    return dt.astimezone()


def when(dt: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago', 'in 2 hours', 'never'."""
    if dt is None:
        return QCoreApplication.translate("fmt", "never")
    now = now or datetime.now(UTC)
    delta = now - dt
    if abs(delta.total_seconds()) < 45:
        if delta.total_seconds() >= 0:
            return QCoreApplication.translate("fmt", "just now")
        return QCoreApplication.translate("fmt", "in a moment")
    return humanize.naturaltime(delta)


def stamp(dt: datetime, *, seconds: bool = False) -> str:
    """A local, absolute time: 'Tue 24 Nov 2026, 14:05' (with ``seconds``,
    '14:05:09': to tell apart two backups made in the same minute)."""
    return local(dt).strftime("%a %d %b %Y, %H:%M:%S" if seconds else "%a %d %b %Y, %H:%M")


def duration(seconds: float) -> str:
    if seconds < 1:
        return QCoreApplication.translate("fmt", "less than a second")
    return humanize.precisedelta(int(seconds), minimum_unit="seconds", format="%0.0f")


def eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return QCoreApplication.translate("fmt", "calculating…")
    if seconds < 5:
        return QCoreApplication.translate("fmt", "a few seconds")
    return humanize.naturaldelta(seconds)


def phase(progress: Progress) -> str:
    if progress.phase is Phase.WAITING and progress.resume_at is not None:
        return QCoreApplication.translate(
            "fmt", "Dropbox asked us to slow down, resuming at {time}"
        ).format(time=f"{local(progress.resume_at):%H:%M}")
    return progress.message or phase_text(progress.phase)


def files_line(p: Progress) -> str:
    if p.files_total:
        return QCoreApplication.translate("fmt", "{done} of {total}").format(
            done=humanize.intcomma(p.files_done), total=files(p.files_total)
        )
    return files(p.files_done)


def files(n: int) -> str:
    return plural(
        n,
        QCoreApplication.translate("fmt", "{n} file"),
        QCoreApplication.translate("fmt", "{n} files"),
    )


def bytes_line(p: Progress) -> str:
    if p.bytes_total:
        return QCoreApplication.translate("fmt", "{done} of {total}").format(
            done=size(p.bytes_done), total=size(p.bytes_total)
        )
    return size(p.bytes_done)


def rate(bps: float) -> str:
    return f"{size(bps)}/s" if bps > 0 else "—"
