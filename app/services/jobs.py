"""Run engine calls on a worker thread without ever blocking the GUI thread.

A :class:`JobRunner` owns one ``QThread`` and one worker ``QObject`` moved to it
(not a QThread subclass; docs/ARCHITECTURE.md says why). Everything that touches a vault runs there, in
order, so the engine never sees two threads at once:

* long jobs (backup, restore, check) via :meth:`JobRunner.start`: one at a time,
  with progress signals, pause/resume and cancel through a :class:`CancelToken`
  that the GUI calls directly (a queued signal would wait for the job to end);
* short calls (open, list a folder, versions, stats) via :meth:`JobRunner.call`,
  whose result or error comes back to a callback on the GUI thread.

A job is any callable ``fn(on_progress, cancel) -> T``, which keeps the runner
engine-agnostic and testable with fakes. Every job and call is named by a
:class:`JobKind` and ends as a :class:`JobOutcome` whose ``result`` has the
callable's return type, so a callback knows what it receives without ``hasattr``.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from app.core.cancel import CancelToken
from app.core.errors import AppError, CancelledError
from app.core.events import Progress, ProgressCallback
from app.services.wording import for_desktop

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R", covariant=True)  # an outcome is read-only: JobOutcome[X] is a JobOutcome[object]

JobFn = Callable[[ProgressCallback, CancelToken], T]
CallFn = Callable[[CancelToken], T]

PROGRESS_INTERVAL_S = 0.2  # at most ~5 progress signals per second reach the GUI


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    """What a job or call does. The long ones (backup, restore, check, forget) are
    recorded in the history under their value, so the values are stable names."""

    BACKUP = "backup"
    RESTORE = "restore"
    CHECK = "check"
    FORGET = "forget"  # thin old backups by the retention policy, then prune
    CREATE = "create"
    OPEN = "open"
    CLOSE = "close"
    SNAPSHOTS = "snapshots"
    DAMAGED = "damaged"  # which snapshot objects cannot be read
    LIST_DIR = "list_dir"
    VERSIONS = "versions"
    STATS = "stats"
    RESTORE_FILE = "restore_file"
    CHANGE_PASSPHRASE = "change_passphrase"
    DROPBOX_CONNECT = "dropbox_connect"
    COPY_VAULT = "copy_vault"  # Settings › Storage: the backup copied to a new place
    # the version browser's questions (app.services.browser), on its own thread
    BROWSE_START = "browse_start"
    BROWSE_CLOSE = "browse_close"
    BROWSE_INDEX = "browse_index"
    BROWSE_LIST = "browse_list"
    BROWSE_SEARCH = "browse_search"
    BROWSE_HISTORY = "browse_history"
    BROWSE_LOCATE = "browse_locate"
    BROWSE_PREVIEW = "browse_preview"
    BROWSE_PLAN = "browse_plan"
    S3_TEST = "s3_test"

    @property
    def recorded(self) -> bool:
        """True for the long jobs the history keeps a line for."""
        return self in _RECORDED


_RECORDED = frozenset({JobKind.BACKUP, JobKind.RESTORE, JobKind.CHECK, JobKind.FORGET})


@dataclass(frozen=True, slots=True)
class JobOutcome(Generic[R]):
    """How a job ended; ``result`` is the job's return value when it succeeded
    (``None`` otherwise). :attr:`value` is the same, for code that checked ``ok``."""

    job_id: int
    kind: JobKind
    outcome: Outcome
    started: datetime
    finished: datetime
    result: R | None = None
    message: str = ""  # a sentence for people when FAILED
    error_code: str = ""
    details: str = field(default="", repr=False)  # traceback for the log, never shown raw

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def value(self) -> R:
        """The result of a successful job; asking a failed one is a programming error."""
        if self.outcome is not Outcome.OK:
            raise ValueError(f"{self.kind} did not succeed: {self.message or self.outcome}")
        return cast(R, self.result)  # R may itself include None


def _run_guarded(
    job_id: int, kind: JobKind, fn: Callable[[], T], started: datetime
) -> JobOutcome[T]:
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
            message=for_desktop(exc.message),
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
        return QCoreApplication.translate(
            "Jobs", "A file or folder Keepsake needs is missing: {name}."
        ).format(name=exc.filename or exc)
    if isinstance(exc, PermissionError):
        return QCoreApplication.translate(
            "Jobs", "Keepsake is not allowed to read or write {name}."
        ).format(name=exc.filename or QCoreApplication.translate("Jobs", "a file"))
    if isinstance(exc, OSError):
        return QCoreApplication.translate("Jobs", "The system reported an error: {reason}.").format(
            reason=exc.strerror or exc
        )
    return QCoreApplication.translate(
        "Jobs",
        "Something unexpected went wrong. Details are in the log file (Help > Open log folder).",
    )


class _Worker(QObject):
    """Lives on the worker thread; runs one task per wake-up, in submission order.

    Python objects never travel inside queued signals (PySide6 6.x has corrupted
    reference counts of ``object`` arguments crossing threads): tasks and results go
    through thread-safe queues, and the signals only say "look in the queue".
    """

    posted = Signal()  # something is waiting in ``outbox``

    def __init__(self) -> None:
        super().__init__()
        self.inbox: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self.outbox: queue.SimpleQueue[_Event] = queue.SimpleQueue()

    def _post(self, event: _Event) -> None:
        self.outbox.put(event)
        self.posted.emit()

    @Slot()
    def lower_priority(self) -> None:
        """Make this thread (and the engine threads it starts, which inherit it)
        yield the CPU to the GUI thread: a backup should never make the desktop lag.
        Linux applies nice per thread; elsewhere this is a no-op."""
        if not sys.platform.startswith("linux"):
            return
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 10))
        except OSError:
            log.debug("could not lower the worker thread's priority")

    @Slot()
    def run_next(self) -> None:
        try:
            task = self.inbox.get_nowait()
        except queue.Empty:
            return
        started = datetime.now(UTC)
        last_emit = 0.0
        last_phase: object = None
        job_id = task.id

        def on_progress(p: Progress) -> None:
            nonlocal last_emit, last_phase
            now = time.monotonic()
            # A phase change always goes through: dropping it would leave the
            # window saying "Opening the vault" while the backup runs.
            if p.final or p.phase != last_phase or now - last_emit >= PROGRESS_INTERVAL_S:
                last_emit = now
                last_phase = p.phase
                self._post(_Event(_EventKind.PROGRESS, job_id, p))

        run = task.run
        outcome = _run_guarded(task.id, task.kind, lambda: run(on_progress), started)
        what = _EventKind.JOB if task.long else _EventKind.CALL
        self._post(_Event(what, task.id, outcome))


@dataclass(frozen=True)
class _Task:
    id: int
    kind: JobKind
    run: Callable[[ProgressCallback], object]  # the job or call, its token bound in
    long: bool


class _EventKind(StrEnum):
    PROGRESS = "progress"
    JOB = "job"
    CALL = "call"


@dataclass(frozen=True)
class _Event:
    what: _EventKind
    id: int
    payload: Progress | JobOutcome[object]


class JobRunner(QObject):
    """One worker thread per vault; one long job at a time, short calls in between."""

    jobStarted = Signal(int, str)  # job id, JobKind
    jobProgress = Signal(object)  # Progress of the current job
    jobFinished = Signal(object)  # JobOutcome[object]: BackupResult, RestoreResult, ...
    pausedChanged = Signal(bool)

    _wake = Signal()  # a task is waiting in the worker's inbox

    def __init__(self, name: str = "keepsake-worker", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._thread = QThread(self)
        self._thread.setObjectName(name)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.started.connect(self._worker.lower_priority)
        self._wake.connect(self._worker.run_next)
        self._worker.posted.connect(self._drain)
        self._current: tuple[int, JobKind, CancelToken] | None = None
        # Each callback takes the outcome type of its own call; the dict cannot say so.
        self._callbacks: dict[int, Callable[[JobOutcome[Any]], None]] = {}
        self._call_tokens: dict[int, CancelToken] = {}
        self._thread.start()

    # -- long jobs -------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._current is not None

    @property
    def current_kind(self) -> JobKind | None:
        return self._current[1] if self._current else None

    @property
    def paused(self) -> bool:
        return self._current is not None and self._current[2].paused

    def start(self, kind: JobKind, fn: JobFn[object]) -> int | None:
        """Queue ``fn`` as the long job; ``None`` if one is already running."""
        if self._current is not None:
            return None
        job_id = next(self._ids)
        token = CancelToken()
        self._current = (job_id, kind, token)
        self.jobStarted.emit(job_id, kind)
        self._worker.inbox.put(_Task(job_id, kind, lambda progress: fn(progress, token), long=True))
        self._wake.emit()
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
        self,
        kind: JobKind,
        fn: CallFn[T],
        on_done: Callable[[JobOutcome[T]], None] | None = None,
    ) -> int:
        """Run ``fn(cancel)`` on the worker thread; ``on_done`` gets the outcome on the
        GUI thread. Calls queue behind a running long job."""
        call_id = next(self._ids)
        token = CancelToken()
        self._call_tokens[call_id] = token
        if on_done is not None:
            self._callbacks[call_id] = on_done
        self._worker.inbox.put(_Task(call_id, kind, lambda _progress: fn(token), long=False))
        self._wake.emit()
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

    @Slot()
    def _drain(self) -> None:
        """Deliver everything the worker posted, in order."""
        while True:
            try:
                event = self._worker.outbox.get_nowait()
            except queue.Empty:
                return
            payload = event.payload
            if isinstance(payload, Progress):
                self._on_progress(event.id, payload)
            elif event.what is _EventKind.JOB:
                self._on_job_done(payload)
            else:
                self._on_call_done(payload)

    def _on_progress(self, job_id: int, progress: Progress) -> None:
        if self._current and self._current[0] == job_id:
            self.jobProgress.emit(progress)

    def _on_job_done(self, outcome: JobOutcome[object]) -> None:
        was_paused = self.paused
        self._current = None
        if was_paused:
            self.pausedChanged.emit(False)
        self.jobFinished.emit(outcome)

    def _on_call_done(self, outcome: JobOutcome[object]) -> None:
        self._call_tokens.pop(outcome.job_id, None)
        callback = self._callbacks.pop(outcome.job_id, None)
        if callback is not None:
            try:
                callback(outcome)
            except Exception:
                log.exception("Callback for %s failed", outcome.kind)
