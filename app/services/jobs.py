"""Run engine calls on a worker thread without ever blocking the GUI thread.

A :class:`JobRunner` owns one ``QThread`` and one worker ``QObject`` moved to it
(STYLE.md: no QThread subclass). Everything that touches a vault runs there, in
order, so the engine never sees two threads at once:

* long jobs (backup, restore, check) via :meth:`JobRunner.start`: one at a time,
  with progress signals, pause/resume and cancel through a :class:`CancelToken`
  that the GUI calls directly (a queued signal would wait for the job to end);
* short calls (open, list a folder, versions, stats) via :meth:`JobRunner.call`,
  whose result or error comes back to a callback on the GUI thread.

A job is any callable ``fn(on_progress, cancel) -> result``, which keeps the runner
engine-agnostic and testable with fakes.
"""

from __future__ import annotations

import itertools
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.cancel import CancelToken
from app.core.errors import AppError, CancelledError
from app.core.events import Progress, ProgressCallback

log = logging.getLogger(__name__)

JobFn = Callable[[ProgressCallback, CancelToken], Any]
CallFn = Callable[[CancelToken], Any]

PROGRESS_INTERVAL_S = 0.2  # at most ~5 progress signals per second reach the GUI


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job ended; ``result`` is the job's return value when it succeeded."""

    job_id: int
    kind: str
    outcome: Outcome
    started: datetime
    finished: datetime
    result: Any = None
    message: str = ""  # a sentence for people when FAILED
    error_code: str = ""
    details: str = field(default="", repr=False)  # traceback for the log, never shown raw

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def _run_guarded(job_id: int, kind: str, fn: Callable[[], Any], started: datetime) -> JobOutcome:
    """Call ``fn`` and turn whatever happens into a JobOutcome (never raises)."""
    try:
        result = fn()
    except CancelledError:
        return JobOutcome(job_id, kind, Outcome.CANCELLED, started, datetime.now(UTC))
    except AppError as exc:
        log.warning("%s failed: %s (%s)", kind, exc.message, exc.code.value)
        return JobOutcome(
            job_id,
            kind,
            Outcome.FAILED,
            started,
            datetime.now(UTC),
            message=exc.message,
            error_code=exc.code.value,
        )
    except Exception as exc:  # a bug or an unexpected OS error: log it, explain it
        details = traceback.format_exc()
        log.error("%s crashed:\n%s", kind, details)
        message = _explain_unexpected(exc)
        return JobOutcome(
            job_id,
            kind,
            Outcome.FAILED,
            started,
            datetime.now(UTC),
            message=message,
            error_code="unexpected",
            details=details,
        )
    return JobOutcome(job_id, kind, Outcome.OK, started, datetime.now(UTC), result=result)


def _explain_unexpected(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"A file or folder Keepsake needs is missing: {exc.filename or exc}."
    if isinstance(exc, PermissionError):
        return f"Keepsake is not allowed to read or write {exc.filename or 'a file'}."
    if isinstance(exc, OSError):
        return f"The system reported an error: {exc.strerror or exc}."
    return "Something unexpected went wrong. Details are in the log file (Help > Open log folder)."


class _Worker(QObject):
    """Lives on the worker thread; its slots run there in submission order."""

    progress = Signal(int, object)  # job id, Progress
    jobDone = Signal(object)  # JobOutcome
    callDone = Signal(object)  # JobOutcome for short calls

    @Slot(int, str, object, object)
    def run_job(self, job_id: int, kind: str, fn: JobFn, token: CancelToken) -> None:
        last_emit = 0.0

        def on_progress(p: Progress) -> None:
            nonlocal last_emit
            now = time.monotonic()
            if p.final or now - last_emit >= PROGRESS_INTERVAL_S:
                last_emit = now
                self.progress.emit(job_id, p)

        started = datetime.now(UTC)
        self.jobDone.emit(_run_guarded(job_id, kind, lambda: fn(on_progress, token), started))

    @Slot(int, str, object, object)
    def run_call(self, call_id: int, kind: str, fn: CallFn, token: CancelToken) -> None:
        started = datetime.now(UTC)
        self.callDone.emit(_run_guarded(call_id, kind, lambda: fn(token), started))


class JobRunner(QObject):
    """One worker thread per vault; one long job at a time, short calls in between."""

    jobStarted = Signal(int, str)  # job id, kind
    jobProgress = Signal(object)  # Progress of the current job
    jobFinished = Signal(object)  # JobOutcome
    pausedChanged = Signal(bool)

    _submitJob = Signal(int, str, object, object)
    _submitCall = Signal(int, str, object, object)

    def __init__(self, name: str = "keepsake-worker", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._thread = QThread(self)
        self._thread.setObjectName(name)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._submitJob.connect(self._worker.run_job)
        self._submitCall.connect(self._worker.run_call)
        self._worker.progress.connect(self._on_progress)
        self._worker.jobDone.connect(self._on_job_done)
        self._worker.callDone.connect(self._on_call_done)
        self._current: tuple[int, str, CancelToken] | None = None
        self._callbacks: dict[int, Callable[[JobOutcome], None]] = {}
        self._call_tokens: dict[int, CancelToken] = {}
        self._thread.start()

    # -- long jobs -------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._current is not None

    @property
    def current_kind(self) -> str:
        return self._current[1] if self._current else ""

    @property
    def paused(self) -> bool:
        return self._current is not None and self._current[2].paused

    def start(self, kind: str, fn: JobFn) -> int | None:
        """Queue ``fn`` as the long job; ``None`` if one is already running."""
        if self._current is not None:
            return None
        job_id = next(self._ids)
        token = CancelToken()
        self._current = (job_id, kind, token)
        self.jobStarted.emit(job_id, kind)
        self._submitJob.emit(job_id, kind, fn, token)
        return job_id

    def pause(self) -> None:
        if self._current and not self._current[2].paused:
            self._current[2].pause()
            self.pausedChanged.emit(True)

    def resume(self) -> None:
        if self._current and self._current[2].paused:
            self._current[2].resume()
            self.pausedChanged.emit(False)

    def cancel(self) -> None:
        """Takes effect at the engine's next check (between chunks), also when paused."""
        if self._current:
            self._current[2].cancel()

    # -- short calls -----------------------------------------------------------

    def call(
        self, kind: str, fn: CallFn, on_done: Callable[[JobOutcome], None] | None = None
    ) -> int:
        """Run ``fn(cancel)`` on the worker thread; ``on_done`` gets the outcome on the
        GUI thread. Calls queue behind a running long job."""
        call_id = next(self._ids)
        token = CancelToken()
        self._call_tokens[call_id] = token
        if on_done is not None:
            self._callbacks[call_id] = on_done
        self._submitCall.emit(call_id, kind, fn, token)
        return call_id

    # -- lifecycle -------------------------------------------------------------

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything and stop the thread; True if it stopped in time."""
        self.cancel()
        for token in self._call_tokens.values():
            token.cancel()
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if not stopped:
            log.error("Worker thread did not stop within %d ms", timeout_ms)
        return bool(stopped)

    # -- from the worker (queued to the GUI thread) --------------------------------

    @Slot(int, object)
    def _on_progress(self, job_id: int, progress: Progress) -> None:
        if self._current and self._current[0] == job_id:
            self.jobProgress.emit(progress)

    @Slot(object)
    def _on_job_done(self, outcome: JobOutcome) -> None:
        was_paused = self.paused
        self._current = None
        if was_paused:
            self.pausedChanged.emit(False)
        self.jobFinished.emit(outcome)

    @Slot(object)
    def _on_call_done(self, outcome: JobOutcome) -> None:
        self._call_tokens.pop(outcome.job_id, None)
        callback = self._callbacks.pop(outcome.job_id, None)
        if callback is not None:
            try:
                callback(outcome)
            except Exception:
                log.exception("Callback for %s failed", outcome.kind)
