"""The desktop app's brain: when to back up, what state we are in, what to record.

:class:`BackupService` owns the current :class:`Settings` (it is the only writer),
records every finished job in the history (on the GUI thread, where the finish is
delivered), feeds the :class:`Scheduler`, and publishes one :class:`Status` that the
overview page and the tray icon render. It asks the UI for a passphrase through a
signal instead of showing a dialog (services have no widgets).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.core.errors import AppError, ErrorCode
from app.core.events import BackupResult, Phase, Progress, RestoreResult, Warning_
from app.services import damage, notices
from app.services.jobs import JobKind, JobOutcome, JobRunner, Outcome
from app.services.locations import describe_missing, missing_folders
from app.services.notices import Notice
from app.services.schedule import Scheduler
from app.services.status import Facts, State, Status, no_success_for, status_of
from app.services.vault import OpenedVault, VaultService
from app.store.history import HistoryStore, JobRecord, JobStatus
from app.store.secrets import passphrase_secret_name
from app.store.settings import Settings, SettingsStore, VaultRef

log = logging.getLogger(__name__)


# Failures that mean the backup's place itself is gone (drive unplugged, share down).
LOCATION_MISSING_CODES = frozenset({"vault_not_found", "storage_unavailable"})
RETENTION_EVERY = timedelta(days=1)


class Secrets:
    """The keyring functions, injected so tests use a dict. ``available`` says
    whether a real OS keyring can hold secrets (plaintext and null backends are
    refused), so the app never claims to remember what it cannot."""

    def __init__(
        self,
        get: Callable[[str], str | None],
        set_: Callable[[str, str], None],
        delete: Callable[[str], None],
        available: Callable[[], bool] = lambda: True,
    ) -> None:
        self.get = get
        self.set = set_
        self.delete = delete
        self.available = available


__all__ = ["BackupService", "Secrets", "State", "Status"]  # State, Status: app.services.status


class BackupService(QObject):
    statusChanged = Signal(object)  # Status
    progress = Signal(object)  # Progress
    jobFinished = Signal(object, object)  # JobOutcome[object], JobRecord | None
    settingsChanged = Signal(object)  # Settings
    passphraseNeeded = Signal(str)  # why
    # title, message, level (info|warning|error), and the window page that helps
    # ("Overview", "Folders", "Settings", ...): clicking the notification opens it.
    notify = Signal(str, str, str, str)

    def __init__(
        self,
        *,
        settings_store: SettingsStore,
        history: HistoryStore,
        vaults: VaultService,
        secrets: Secrets,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        scheduler_factory: Callable[..., Scheduler] | None = None,
        autostart: Callable[[bool], None] | None = None,
        retention_delay_s: float = 120.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = settings_store
        self.settings = settings_store.load()
        self.history = history
        self.vaults = vaults
        self.runner: JobRunner = vaults.runner
        self.secrets = secrets
        self._clock = clock
        self._autostart = autostart
        self._progress: Progress | None = None
        self._waiting: Progress | None = None  # the storage's last "waiting until"
        self.vaults.set_upload_limit(self.settings.bandwidth_limit_kbps)
        self.vaults.made_here = self._made_here
        self.vaults.damagedChanged.connect(self._damage_seen)
        self._damage_told: frozenset[str] = frozenset()  # damaged ids already notified
        self._shut_down = False
        self._pending_backup = False
        self._pause_timer = QTimer(self)
        self._pause_timer.setSingleShot(True)
        self._pause_timer.timeout.connect(self.resume)
        self._paused_until: datetime | None = None
        factory = scheduler_factory or Scheduler
        self.scheduler: Scheduler = factory(
            schedule=lambda: self.settings.schedule,
            last_success=self._last_success_time,
            is_busy=lambda: self.runner.busy,
            clock=clock,
            parent=self,
        )
        self.scheduler.backupDue.connect(self._on_backup_due)
        self.scheduler.nextRunChanged.connect(lambda _: self._emit_status())
        self.runner.jobStarted.connect(lambda *_: self._emit_status())
        self.runner.jobProgress.connect(self._on_progress)
        self.runner.jobFinished.connect(self._on_job_finished)
        self.runner.pausedChanged.connect(lambda _: self._emit_status())
        self._stale_timer = QTimer(self)
        self._stale_timer.setInterval(15 * 60 * 1000)
        self._stale_timer.timeout.connect(self.check_stale)
        self._stale_notified = False
        # Old backups are thinned a little after a successful backup, when idle.
        self._retention_timer = QTimer(self)
        self._retention_timer.setSingleShot(True)
        self._retention_timer.setInterval(int(retention_delay_s * 1000))
        self._retention_timer.timeout.connect(self._maybe_apply_retention)

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Unlock from the keyring if remembered, then start the scheduler."""
        if self.settings.is_set_up:
            self.scheduler.start()
            self._stale_timer.start()
            self.check_stale()
        self._emit_status()

    def shutdown(self) -> None:
        self._shut_down = True  # answers still queued may come after the history closed
        self._retention_timer.stop()
        self.scheduler.stop()
        self._stale_timer.stop()
        self._pause_timer.stop()

    # -- settings ------------------------------------------------------------------

    def update_settings(self, settings: Settings) -> None:
        """Persist and publish; the scheduler re-plans with the new schedule."""
        was_set_up = self.settings.is_set_up
        if settings.bandwidth_limit_kbps != self.settings.bandwidth_limit_kbps:
            self.vaults.set_upload_limit(settings.bandwidth_limit_kbps)  # also mid-backup
        self.settings = settings
        self._store.save(settings)
        self.settingsChanged.emit(settings)
        if settings.is_set_up and not was_set_up:
            # The wizard's "start at login" default is a promise: keep it now, not
            # only when the box is toggled later in Settings.
            if settings.start_at_login and self._autostart is not None:
                try:
                    self._autostart(True)
                except OSError as exc:
                    log.warning("Could not create the login entry: %s", exc)
            self.scheduler.start()
            self._stale_timer.start()
        else:
            self.scheduler.replan()
        self._emit_status()

    def set_start_at_login(self, enabled: bool) -> str:
        """Create or remove the login entry; returns a problem to show, or ''."""
        if self._autostart is not None:
            try:
                self._autostart(enabled)
            except OSError as exc:
                return notices.login_setting_failed(str(exc.strerror or exc))
        self.update_settings(self.settings.with_(start_at_login=enabled))
        return ""

    def _made_here(self, snapshot_id: str) -> datetime | None:
        record = self.history.by_snapshot(snapshot_id)
        return record.finished if record is not None else None

    @Slot()
    def _damage_seen(self) -> None:
        """Damaged backups found (or gone): tell the user once per new one."""
        if self._shut_down:
            return
        found = self.vaults.damaged
        new = [d for d in found if d.id not in self._damage_told]
        self._damage_told = frozenset(d.id for d in found)
        if new:
            self._tell(Notice(damage.headline(found), damage.describe(found), "warning"))
        self._emit_status()

    def _last_success_time(self) -> datetime | None:
        rec = self.history.last_success("backup")
        return rec.finished if rec else None

    # -- unlocking -----------------------------------------------------------------

    def remembered_passphrase(self) -> str | None:
        vault = self.settings.vault
        if vault is None:
            return None
        return self.secrets.get(passphrase_secret_name(vault.repo))

    def can_remember(self) -> bool:
        """True when a real OS keyring can keep the passphrase on this computer."""
        try:
            return bool(self.secrets.available())
        except Exception:
            log.exception("Keyring check failed")
            return False

    def remember_passphrase(self, repo: str, passphrase: str | None) -> str:
        """Store or forget the passphrase (keyed by repo, as the CLI reads it);
        returns a problem to show, or ''."""
        if passphrase and not self.can_remember():
            return notices.no_keyring()
        try:
            if passphrase:
                self.secrets.set(passphrase_secret_name(repo), passphrase)
            else:
                self.secrets.delete(passphrase_secret_name(repo))
        except AppError as exc:
            return exc.message
        return ""

    def unlock(
        self,
        passphrase: str,
        remember: bool,
        done: Callable[[JobOutcome[OpenedVault]], None] | None = None,
    ) -> None:
        """Open the configured vault; a pending backup starts once it is open."""
        vault = self.settings.vault
        if vault is None:
            return

        def opened(outcome: JobOutcome[OpenedVault]) -> None:
            if outcome.ok:
                info = outcome.value
                if remember:
                    self.remember_passphrase(vault.repo, passphrase)
                if info.vault_id != vault.vault_id:
                    self.update_settings(
                        self.settings.with_(vault=replace(vault, vault_id=info.vault_id))
                    )
                if self._pending_backup:
                    self._pending_backup = False
                    self._start_backup()
            # On failure a waiting backup stays waiting: the user is asked again, and
            # only cancelling the question (cancel_pending_backup) drops it.
            self._emit_status()
            if done is not None:
                done(outcome)

        self.vaults.open(vault.repo, passphrase=passphrase, done=opened)

    def ensure_open(self, then: Callable[[], None] | None = None) -> bool:
        """True if the vault is open; else try the keyring, else ask for a passphrase."""
        if self.vaults.is_open:
            if then:
                then()
            return True
        remembered = self.remembered_passphrase()
        if remembered:

            def opened(outcome: JobOutcome[OpenedVault]) -> None:
                if outcome.ok and then:
                    then()
                elif not outcome.ok:
                    self.passphraseNeeded.emit(outcome.message)

            self.unlock(remembered, remember=False, done=opened)
        else:
            self.passphraseNeeded.emit("")
        return False

    # -- backups -------------------------------------------------------------------

    @Slot()
    def back_up_now(self) -> bool:
        """Start a backup (unlocking first if needed). False if one is running."""
        if self.runner.busy or not self.settings.is_set_up:
            return False
        if self._paused_until is not None:
            self._clear_pause()
        if self.vaults.is_open:
            return self._start_backup()
        self._pending_backup = True
        remembered = self.remembered_passphrase()
        if remembered:
            self.unlock(remembered, remember=False, done=self._unlock_failed_ask)
        else:
            self.passphraseNeeded.emit("")
        return True

    def _unlock_failed_ask(self, outcome: JobOutcome[OpenedVault]) -> None:
        """Opening with the remembered passphrase failed: ask again only if the
        passphrase was the problem; a missing drive or an offline cloud is a failed
        backup to report (and retry later), not a reason to ask for a passphrase."""
        if outcome.ok:
            return
        if outcome.error_code == ErrorCode.WRONG_PASSWORD.value:
            self._pending_backup = True
            self.passphraseNeeded.emit(outcome.message)
            return
        self._pending_backup = False
        failed = replace(outcome, kind=JobKind.BACKUP)
        record = self._record(failed)
        self.scheduler.record_result(False)
        self._notify_backup(failed, record)
        self.jobFinished.emit(failed, record)
        self._emit_status()

    def switch_vault(
        self, repo: str, passphrase: str, done: Callable[[JobOutcome[OpenedVault]], None]
    ) -> None:
        """Back up into the vault at ``repo`` from now on (Settings › Storage). The
        old vault is left as it is; this computer's activity log stays. The
        passphrase is remembered for the new place when it was for the old one."""
        old = self.settings.vault

        def opened(outcome: JobOutcome[OpenedVault]) -> None:
            if outcome.ok:
                info = outcome.value
                if self.settings.remember_passphrase:
                    self.remember_passphrase(repo, passphrase)
                    if old is not None and old.repo != repo:
                        self.remember_passphrase(old.repo, None)
                where = self.vaults.describe(repo)
                self.update_settings(
                    self.settings.with_(vault=VaultRef(repo, info.vault_id, where))
                )
                self.scheduler.record_result(True)  # a new place: no failure backoff
            done(outcome)

        self.vaults.open(repo, passphrase=passphrase, done=opened)

    def cancel_pending_backup(self) -> None:
        """The user dismissed the passphrase question: forget the backup that waited
        for it (the schedule tries again later)."""
        self._pending_backup = False

    def _start_backup(self) -> bool:
        s = self.settings
        self._progress = Progress(Phase.OPENING)
        job = self.vaults.backup(s.folders, s.excludes)
        if job is None:
            return False
        self._emit_status()
        return True

    @Slot()
    def _on_backup_due(self) -> None:
        if self.runner.busy:
            return
        if not self.vaults.is_open and not self.remembered_passphrase():
            # Nobody to type the passphrase now; ask once and let the scheduler wait.
            self.scheduler.record_result(False)
            self._tell(notices.passphrase_needed())
            self._pending_backup = True
            self.passphraseNeeded.emit("")
            return
        self.back_up_now()

    def pause(self, duration: timedelta | None = None) -> None:
        """Pause the running backup (and the schedule) for ``duration``, or until resumed."""
        self.runner.pause()
        if duration is not None:
            self._paused_until = self._clock() + duration
            self.scheduler.pause_until(self._paused_until)
            self._pause_timer.start(int(duration.total_seconds() * 1000))
        self._emit_status()

    @Slot()
    def resume(self) -> None:
        self._clear_pause()
        self.runner.resume()
        self._emit_status()

    def _clear_pause(self) -> None:
        self._paused_until = None
        self._pause_timer.stop()
        self.scheduler.pause_until(None)

    def cancel(self) -> None:
        self.runner.cancel()

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        progress = self._with_wait(progress)
        self._progress = progress
        self.progress.emit(progress)
        self._emit_status()

    def _with_wait(self, progress: Progress) -> Progress:
        """While the storage waits (429 Retry-After), the job's progress keeps coming
        (files already read are counted): show it as WAITING until the resume time,
        so "resuming at 14:05" stays up instead of flickering away."""
        if progress.phase is Phase.WAITING:
            self._waiting = progress
            base = self._progress or progress
            return replace(
                base, phase=Phase.WAITING, resume_at=progress.resume_at, message=progress.message
            )
        wait = self._waiting
        if wait is None or progress.final:
            return progress
        if wait.resume_at is not None and self._clock() < wait.resume_at:
            return replace(
                progress, phase=Phase.WAITING, resume_at=wait.resume_at, message=wait.message
            )
        self._waiting = None
        return progress

    @Slot(object)
    def _on_job_finished(self, outcome: JobOutcome[object]) -> None:
        self._progress = None
        self._waiting = None
        record: JobRecord | None = None
        if outcome.kind.recorded:
            record = self._record(outcome)
        if outcome.kind is JobKind.BACKUP:
            self.scheduler.record_result(outcome.outcome is not Outcome.FAILED)
            self._notify_backup(outcome, record)
            if outcome.ok:
                self._stale_notified = False
                self._retention_timer.start()
        else:
            self.scheduler.replan()  # a backup that waited for this job can start now
        self.jobFinished.emit(outcome, record)
        self._emit_status()

    def _record(self, outcome: JobOutcome[object]) -> JobRecord:
        status = {
            Outcome.OK: JobStatus.OK,
            Outcome.FAILED: JobStatus.FAILED,
            Outcome.CANCELLED: JobStatus.CANCELLED,
        }[outcome.outcome]
        record = JobRecord(
            kind=outcome.kind.value,
            started=outcome.started,
            finished=outcome.finished,
            status=status,
            message=outcome.message,
        )
        result = outcome.result
        if isinstance(result, BackupResult):
            record = replace(
                record,
                snapshot_id=result.snapshot_id,
                files_total=result.files_new + result.files_changed + result.files_unchanged,
                files_new=result.files_new,
                files_changed=result.files_changed,
                bytes_total=result.bytes_total,
                bytes_added=result.bytes_added,
                bytes_uploaded=result.bytes_uploaded,
                warnings=result.warnings,
            )
        elif isinstance(result, RestoreResult):
            record = replace(
                record,
                files_total=result.files_restored,
                bytes_total=result.bytes_restored,
                warnings=result.warnings,
            )
        if record.warnings:
            record = replace(
                record,
                status=JobStatus.WARNINGS,
                message=self._warnings_message(record.warnings),
            )
        elif status is JobStatus.CANCELLED:
            record = replace(record, message=notices.cancelled())
        elif outcome.kind is JobKind.FORGET and isinstance(result, int):
            record = replace(record, message=notices.removed_old_backups(result))
        return self.history.add(record)

    def _warnings_message(self, warnings: tuple[Warning_, ...]) -> str:
        """A chosen folder that is gone is said by name, not as "1 file could not be
        read": the user has to act (reconnect the drive, locate or remove it)."""
        folders = set(self.settings.folders)
        missing = [w.path for w in warnings if w.path in folders]
        return notices.skipped(missing, len(warnings) - len(missing))

    def missing_folders(self) -> list[str]:
        return missing_folders(self.settings.folders)

    def _notify_backup(self, outcome: JobOutcome[object], record: JobRecord | None) -> None:
        """What a desktop user expects to hear about without looking: the first backup
        done, a failure with its reason, the backup's location gone, a folder gone."""
        if outcome.outcome is Outcome.FAILED:
            gone = self.missing_folders()
            if outcome.error_code == "path_not_found" and gone:  # every folder is missing
                self._tell(notices.folder_missing(describe_missing(gone), "error"))
            elif outcome.error_code in LOCATION_MISSING_CODES:
                vault = self.settings.vault
                where = (
                    (vault.description or vault.repo) if vault else notices.the_backup_location()
                )
                self._tell(notices.location_missing(where, outcome.message))
            else:
                self._tell(notices.backup_failed(outcome.message))
            return
        if not outcome.ok or record is None:
            return
        missing = [w.path for w in record.warnings if w.path in set(self.settings.folders)]
        if missing:
            self._tell(notices.folder_missing(describe_missing(missing), "warning"))
        successes = [r for r in self.history.recent(2, "backup") if r.status.succeeded]
        if len(successes) == 1:
            self._tell(notices.first_backup_done())

    def _tell(self, notice: Notice) -> None:
        self.notify.emit(notice.title, notice.message, notice.level, notice.page)

    def apply_retention_now(self) -> bool:
        """Thin old backups now (normally done a little after a backup, once a day)."""
        if self.runner.busy or not self.vaults.is_open:
            return False
        if self.vaults.apply_retention(self.settings.retention) is None:
            return False
        self.update_settings(self.settings.with_(last_retention_run=self._clock()))
        return True

    @Slot()
    def _maybe_apply_retention(self) -> None:
        last = self.settings.last_retention_run
        if last is not None and self._clock() - last < RETENTION_EVERY:
            return
        self.apply_retention_now()

    def stale_after(self) -> timedelta:
        return timedelta(days=max(1, self.settings.stale_after_days))

    def check_stale(self) -> None:
        """Once per stale spell: no successful backup for the configured days."""
        last_ok = self.history.last_success("backup")
        if last_ok is None or self._stale_notified:
            return
        now = self._clock()
        if now - last_ok.finished > self.stale_after():
            self._stale_notified = True
            self._tell(notices.out_of_date(no_success_for(now - last_ok.finished)))

    # -- status --------------------------------------------------------------------

    def status(self) -> Status:
        """What the tray and overview show, derived from settings, history and the runner."""
        set_up = self.settings.is_set_up
        return status_of(
            Facts(
                set_up=set_up,
                busy=self.runner.busy,
                job=self.runner.current_kind,
                job_paused=self.runner.paused,
                progress=self._progress,
                paused_until=self._paused_until,
                last=self.history.last("backup"),
                last_ok=self.history.last_success("backup"),
                next_run=self.scheduler.next_run() if set_up else None,
                now=self._clock(),
                stale_after=self.stale_after(),
                missing=self.missing_folders,
                damaged=self.vaults.damaged,
            )
        )

    def _emit_status(self) -> None:
        self.statusChanged.emit(self.status())
