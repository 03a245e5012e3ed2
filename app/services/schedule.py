"""When the next backup is due: pure schedule maths plus a QTimer-driven Scheduler.

The maths (:func:`next_due`, :func:`retry_delay`) are plain functions of the
schedule, the last successful run and "now", so they are tested with fixed clocks.
The :class:`Scheduler` re-plans at least every minute instead of sleeping until the
due time, which handles three things at once: QTimer's int32 millisecond limit,
changes of the wall clock, and sleep/wake (a gap between the wall clock and the
monotonic clock means the machine slept; a run missed meanwhile starts soon after).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.store.settings import Schedule, ScheduleMode

log = logging.getLogger(__name__)

INT32_MAX_MS = 2**31 - 1
RETRY_DELAYS = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)
WAKE_GAP = timedelta(seconds=90)


def _parse_hhmm(text: str) -> tuple[int, int]:
    try:
        hh, mm = text.split(":", 1)
        return max(0, min(23, int(hh))), max(0, min(59, int(mm)))
    except ValueError:
        return 12, 0


def next_due(
    schedule: Schedule,
    last_success: datetime | None,
    now: datetime,
    tz: tzinfo | None = None,
) -> datetime | None:
    """The time the next scheduled backup is due (may be in the past = overdue).

    ``None`` for a manual schedule. Never backed up means due now. A daily
    schedule whose slot passed since the last success is overdue (missed while
    the app was closed or the machine asleep), so it runs as soon as possible.
    """
    if schedule.mode is ScheduleMode.MANUAL:
        return None
    if last_success is None:
        return now
    if schedule.mode is ScheduleMode.HOURLY:
        return last_success + timedelta(hours=1)
    if schedule.mode is ScheduleMode.EVERY_N_HOURS:
        return last_success + timedelta(hours=max(1, schedule.every_hours))
    hh, mm = _parse_hhmm(schedule.daily_at)
    local_now = now.astimezone(tz)
    slot = local_now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if slot > local_now:
        slot -= timedelta(days=1)
    if last_success < slot:
        return slot.astimezone(UTC)
    return (slot + timedelta(days=1)).astimezone(UTC)


def retry_delay(failures: int) -> timedelta:
    """Backoff after ``failures`` consecutive failed runs (1 -> 5 min ... capped at 3 h)."""
    if failures <= 0:
        return timedelta(0)
    return RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]


def clamp_ms(delta: timedelta) -> int:
    """A timedelta as a QTimer interval: never negative, never past int32."""
    return int(max(0, min(INT32_MAX_MS, delta.total_seconds() * 1000)))


class Scheduler(QObject):
    """Emits :attr:`backupDue` when a scheduled backup should start.

    Dependencies are callables so tests drive it with a fake clock. It never emits
    while ``is_busy()`` (one backup at a time) or while paused.
    """

    backupDue = Signal()
    nextRunChanged = Signal(object)  # datetime | None (UTC)

    def __init__(
        self,
        *,
        schedule: Callable[[], Schedule],
        last_success: Callable[[], datetime | None],
        is_busy: Callable[[], bool],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        check_interval_s: float = 60.0,
        catch_up_delay_s: float = 60.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._schedule = schedule
        self._last_success = last_success
        self._is_busy = is_busy
        self._clock = clock
        self._monotonic = monotonic
        self._check_interval = timedelta(seconds=check_interval_s)
        self._catch_up_delay = timedelta(seconds=catch_up_delay_s)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.tick)
        self._failures = 0
        self._last_failure: datetime | None = None
        self._paused_until: datetime | None = None
        self._not_before: datetime | None = None
        self._last_tick: tuple[datetime, float] | None = None
        self._running = False
        self._just_fired = False

    # -- state -----------------------------------------------------------------

    @property
    def paused_until(self) -> datetime | None:
        return self._paused_until

    def next_run(self, now: datetime | None = None) -> datetime | None:
        """When the next backup will start (UTC), or None if only manual.

        ``now`` is the caller's reading of the clock: a tick must compare the due
        time with the same instant it was computed from. "Never backed up" is due
        *now*, and a second clock reading taken a moment later would always find it
        still in the future: the timer would restart at 0 ms forever.
        """
        due = next_due(self._schedule(), self._last_success(), now or self._clock())
        if due is None:
            return None
        if self._last_failure is not None:
            due = max(due, self._last_failure + retry_delay(self._failures))
        if self._not_before is not None:
            due = max(due, self._not_before)
        if self._paused_until is not None:
            due = max(due, self._paused_until)
        return due

    # -- control ---------------------------------------------------------------

    def start(self) -> None:
        """Begin planning; an overdue run (missed while closed) waits the catch-up delay."""
        self._running = True
        now = self._clock()
        due = next_due(self._schedule(), self._last_success(), now)
        if due is not None and due <= now:
            self._not_before = now + self._catch_up_delay
            log.info("A scheduled backup was missed; catching up in %s", self._catch_up_delay)
        self.replan()

    def stop(self) -> None:
        self._running = False
        self._timer.stop()

    def pause_until(self, until: datetime | None) -> None:
        self._paused_until = until
        self.replan()

    def record_result(self, success: bool) -> None:
        """Tell the scheduler how a backup ended, so failures back off."""
        if success:
            self._failures = 0
            self._last_failure = None
        else:
            self._failures += 1
            self._last_failure = self._clock()
        self.replan()

    @Slot()
    def replan(self) -> None:
        if not self._running:
            return
        now = self._clock()
        due = self.next_run(now)
        self.nextRunChanged.emit(due)
        if due is None or due > now:
            wait = self._check_interval if due is None else min(due - now, self._check_interval)
        elif self._just_fired or self._is_busy():
            # Overdue but a job runs (or the last signal started nothing): look again
            # later instead of spinning on a 0 ms timer until it ends.
            wait = self._check_interval
        else:
            wait = timedelta(0)
        self._just_fired = False
        self._timer.start(clamp_ms(wait))

    @Slot()
    def tick(self) -> None:
        """Check whether a backup is due; detect sleep/wake and clock changes."""
        now = self._clock()
        mono = self._monotonic()
        if self._last_tick is not None:
            wall_elapsed = now - self._last_tick[0]
            mono_elapsed = timedelta(seconds=mono - self._last_tick[1])
            if abs(wall_elapsed - mono_elapsed) > WAKE_GAP:
                log.info("Clock jumped by %s (sleep/wake or clock change)", wall_elapsed)
                due = next_due(self._schedule(), self._last_success(), now)
                if due is not None and due <= now:
                    self._not_before = now + min(self._catch_up_delay, timedelta(seconds=30))
        self._last_tick = (now, mono)
        if self._paused_until is not None and now >= self._paused_until:
            self._paused_until = None
        due = self.next_run(now)
        if due is not None and due <= now and not self._is_busy():
            self._not_before = None
            log.info("Scheduled backup is due")
            self._just_fired = True
            self.backupDue.emit()
        self.replan()
