"""Throttled progress reporting: about five events a second plus a final one.

Bytes count as they are read, also inside a big file: reader threads add to a cell
of their own (:meth:`ProgressMeter.reading_cell`, a one-element list only that
thread writes, so no lock on the hot path), and the meter adds the cells up when
an event goes out.

Time left is estimated the way Backblaze does: from a smoothed rate, not the
average since the start (which still counts the minutes spent opening the vault
and overestimates for the rest of the run). Work is counted in bytes plus a fixed
cost per file, so a folder of many small files is not mistaken for a fast one.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

from app.core.events import Phase, Progress, ProgressCallback

DEFAULT_INTERVAL_S = 0.2
# A file costs about as much as reading this many bytes (open, stat, close, listing).
FILE_COST_BYTES = 64 * 1024
# Time constant of the smoothed rates: a speed change shows fully after ~3 of these.
SMOOTHING_S = 8.0
# No estimate before this much of the current phase has been seen.
WARM_UP_S = 1.0


class RateEstimator:
    """An exponentially smoothed rate of a growing count, sampled at irregular times."""

    def __init__(self, tau_s: float = SMOOTHING_S) -> None:
        self._tau = tau_s
        self._last: tuple[float, float] | None = None  # (time, value)
        self._started: float | None = None
        self.rate = 0.0

    def reset(self) -> None:
        self._last = None
        self._started = None
        self.rate = 0.0

    def add(self, now: float, value: float) -> None:
        if self._last is None:
            self._last = (now, value)
            self._started = now
            return
        t0, v0 = self._last
        dt = now - t0
        if dt <= 0:
            return
        sample = max(0.0, value - v0) / dt
        seen = now - (self._started or now)
        # Until one time constant has passed, average over everything seen so far
        # (a plain mean); afterwards weigh the recent past more.
        weight = dt / seen if seen < self._tau else 1.0 - math.exp(-dt / self._tau)
        self.rate = sample if self.rate == 0.0 else self.rate + weight * (sample - self.rate)
        self._last = (now, value)

    def warm(self, now: float) -> bool:
        return self._started is not None and now - self._started >= WARM_UP_S


class ProgressMeter:
    def __init__(
        self,
        callback: ProgressCallback,
        phase: Phase,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._callback = callback
        self.phase = phase
        self.interval = DEFAULT_INTERVAL_S if interval is None else interval
        self._clock = clock
        self._last = 0.0
        self.files_done = 0
        self.files_total = 0
        self.bytes_done = 0
        self.bytes_total = 0
        self.current = ""
        self.current_raw: bytes | None = None  # decoded only when an event goes out
        self._cells: list[list[int]] = []
        self._shown_bytes = 0
        self._bytes_rate = RateEstimator()
        self._work_rate = RateEstimator()

    def reading_cell(self) -> list[int]:
        """A counter of bytes read so far in files not finished yet, for one reader
        thread: it adds as it reads and takes the file's size off again when done
        (the finished file then counts in ``bytes_done``)."""
        cell = [0]
        self._cells.append(cell)  # atomic; the meter only ever reads the cells
        return cell

    def bytes_seen(self) -> int:
        """Bytes done plus those read inside unfinished files; never goes backwards."""
        seen = self.bytes_done + sum(cell[0] for cell in self._cells)
        if self.bytes_total:  # no total yet: nothing to stay under
            seen = min(seen, max(self.bytes_total, self.bytes_done))
        self._shown_bytes = max(self._shown_bytes, seen)
        return self._shown_bytes

    def emit(self, *, force: bool = False, final: bool = False, phase: Phase | None = None) -> None:
        now = self._clock()
        if phase is not None and phase is not self.phase:
            self.phase = phase
            self._bytes_rate.reset()  # a new phase works at its own speed
            self._work_rate.reset()
            force = True
        if not force and not final and now - self._last < self.interval:
            return
        self._last = now
        if self.current_raw is not None:
            self.current = os.fsdecode(self.current_raw)
            self.current_raw = None
        done = self.bytes_seen()
        self._bytes_rate.add(now, done)
        self._work_rate.add(now, done + self.files_done * FILE_COST_BYTES)
        self._callback(
            Progress(
                phase=Phase.DONE if final else self.phase,
                files_done=self.files_done,
                files_total=self.files_total,
                bytes_done=done,
                bytes_total=self.bytes_total,
                current_path=self.current,
                rate_bps=self._bytes_rate.rate,
                eta_s=None if final else self.eta(now, done),
                final=final,
            )
        )

    def eta(self, now: float, bytes_done: int) -> float | None:
        """Seconds left at the smoothed rate, or None while there is no honest guess."""
        rate = self._work_rate.rate
        if rate <= 0 or not self._work_rate.warm(now):
            return None
        files_left = max(self.files_total - self.files_done, 0)
        if self.bytes_total:
            left: float = max(self.bytes_total - bytes_done, 0) + files_left * FILE_COST_BYTES
        elif self.files_total and self.files_done:
            # Only the file count is known (a first backup): the files left are taken
            # to be as big, on average, as those done.
            left = files_left * (bytes_done / self.files_done + FILE_COST_BYTES)
        else:
            return None
        return left / rate
