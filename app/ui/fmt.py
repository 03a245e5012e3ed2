"""How sizes, counts, times and progress read to people (via humanize)."""

from __future__ import annotations

from datetime import UTC, datetime

import humanize

from app.core.events import Phase, Progress

PHASE_TEXT = {
    Phase.OPENING: "Opening the vault",
    Phase.SCANNING: "Looking for changes",
    Phase.BACKING_UP: "Backing up",
    Phase.FINISHING: "Finishing",
    Phase.RESTORING: "Restoring",
    Phase.CHECKING: "Checking",
    Phase.PRUNING: "Cleaning up",
    Phase.COPYING: "Copying the backup",
    Phase.WAITING: "Waiting",
    Phase.DONE: "Done",
}


def size(n: int | float) -> str:
    return humanize.naturalsize(n, binary=False)


def count(n: int, word: str) -> str:
    return f"{humanize.intcomma(n)} {word}{'' if n == 1 else 's'}"


def local(dt: datetime) -> datetime:
    return dt.astimezone()


def when(dt: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago', 'in 2 hours', 'never'."""
    if dt is None:
        return "never"
    now = now or datetime.now(UTC)
    delta = now - dt
    if abs(delta.total_seconds()) < 45:
        return "just now" if delta.total_seconds() >= 0 else "in a moment"
    return humanize.naturaltime(delta)


def stamp(dt: datetime) -> str:
    """A local, absolute time: 'Tue 24 Nov 2026, 14:05'."""
    return local(dt).strftime("%a %d %b %Y, %H:%M")


def duration(seconds: float) -> str:
    if seconds < 1:
        return "less than a second"
    return humanize.precisedelta(int(seconds), minimum_unit="seconds", format="%0.0f")


def eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "calculating…"
    if seconds < 5:
        return "a few seconds"
    return humanize.naturaldelta(seconds)


def phase(progress: Progress) -> str:
    text = PHASE_TEXT.get(progress.phase, progress.phase.value)
    if progress.phase is Phase.WAITING and progress.resume_at is not None:
        return f"Dropbox asked us to slow down, resuming at {local(progress.resume_at):%H:%M}"
    return progress.message or text


def files_line(p: Progress) -> str:
    if p.files_total:
        return f"{humanize.intcomma(p.files_done)} of {count(p.files_total, 'file')}"
    return count(p.files_done, "file")


def bytes_line(p: Progress) -> str:
    if p.bytes_total:
        return f"{size(p.bytes_done)} of {size(p.bytes_total)}"
    return size(p.bytes_done)


def rate(bps: float) -> str:
    return f"{size(bps)}/s" if bps > 0 else "—"
