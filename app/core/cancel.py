"""Cooperative cancellation and pause, checked by the engine between chunks.

The GUI calls ``cancel()``/``pause()`` directly from its own thread: a queued signal
would only be delivered after the job ends. Both are thread-safe.
"""

from __future__ import annotations

import threading

from app.core.errors import CancelledError


class CancelToken:
    """Set once to cancel; may also hold the job paused until resumed or cancelled."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # wake a paused job so it can see the cancel

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def check(self) -> None:
        """Block while paused; raise ``CancelledError`` once cancelled."""
        if not self._running.is_set():
            self._running.wait()
        if self._cancelled.is_set():
            raise CancelledError()


NEVER_CANCELLED = CancelToken()
