"""Throttled progress reporting: about five events a second plus a final one."""

from __future__ import annotations

import os
import time

from app.core.events import Phase, Progress, ProgressCallback


class ProgressMeter:
    def __init__(self, callback: ProgressCallback, phase: Phase, interval: float = 0.2) -> None:
        self._callback = callback
        self.phase = phase
        self._interval = interval
        self._start = time.monotonic()
        self._last = 0.0
        self.files_done = 0
        self.files_total = 0
        self.bytes_done = 0
        self.bytes_total = 0
        self.current = ""
        self.current_raw: bytes | None = None  # decoded only when an event goes out

    def emit(self, *, force: bool = False, final: bool = False, phase: Phase | None = None) -> None:
        now = time.monotonic()
        if phase is not None:
            self.phase = phase
        if not force and not final and now - self._last < self._interval:
            return
        self._last = now
        if self.current_raw is not None:
            self.current = os.fsdecode(self.current_raw)
            self.current_raw = None
        elapsed = max(now - self._start, 1e-6)
        rate = self.bytes_done / elapsed
        remaining = max(self.bytes_total - self.bytes_done, 0)
        eta = remaining / rate if rate > 0 and self.bytes_total else None
        self._callback(
            Progress(
                phase=Phase.DONE if final else self.phase,
                files_done=self.files_done,
                files_total=self.files_total,
                bytes_done=self.bytes_done,
                bytes_total=self.bytes_total,
                current_path=self.current,
                rate_bps=rate,
                eta_s=None if final else eta,
                final=final,
            )
        )
