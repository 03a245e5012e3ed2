"""Speak the engine's Vault API on the worker thread, for the GUI.

:class:`VaultGateway` is how a vault is created or opened; the real one
(``app.services.gateway.EngineGateway``) is wired in by ``app.main``, so the UI's
import graph never reaches the engine, and tests can inject a fake.
:class:`VaultService` keeps the open vault and turns each operation into a job or
a short call on the :class:`JobRunner`; results come back as a typed
``JobOutcome[T]`` on the GUI thread (``Done[list[SnapshotInfo]]`` and so on). The
vault object itself is only ever touched on the worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, Signal

from app.core.cancel import CancelToken
from app.core.errors import AppError
from app.core.events import (
    BackupResult,
    CheckResult,
    Phase,
    Progress,
    ProgressCallback,
    RestoreResult,
    Warning_,
)
from app.core.models import DamagedSnapshot, Entry, FileVersion, SnapshotInfo, VaultStats
from app.services.damage import DamagedBackup
from app.services.jobs import JobKind, JobOutcome, JobRunner
from app.store.settings import Retention

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

WaitListener = Callable[[datetime, str], None]
Done = Callable[[JobOutcome[T]], None]


class VaultLike(Protocol):
    """The part of ``app.engine.vault.Vault`` the desktop app uses."""

    @property
    def id(self) -> str: ...

    @property
    def description(self) -> str: ...

    def backup(
        self,
        paths: Sequence[str],
        *,
        excludes: Sequence[str] = (),
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> BackupResult: ...

    def snapshots(self) -> list[SnapshotInfo]: ...

    def damaged_snapshots(self) -> list[DamagedSnapshot]: ...

    def list_dir(self, snapshot_id: str, path: str) -> list[Entry]: ...

    def versions(self, path: str) -> list[FileVersion]: ...

    def restore(
        self,
        snapshot_id: str,
        target: str,
        paths: Sequence[str] = (),
        *,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> RestoreResult: ...

    def restore_file(
        self, snapshot_id: str, path: str, dest: str, *, cancel: CancelToken
    ) -> None: ...

    def check(
        self, *, read_data: bool = False, on_progress: ProgressCallback, cancel: CancelToken
    ) -> CheckResult: ...

    def stats(self) -> VaultStats: ...

    def change_passphrase(self, new: str) -> None: ...

    def close(self) -> None: ...


class VaultGateway(Protocol):
    """Everything the desktop app asks of the engine, in the app's own types.

    ``app.services.gateway.EngineGateway`` is the real one; ``tests.gui.fakes`` has a
    fast fake. Both are checked against this protocol by mypy (the tests pass the
    fake where a ``VaultGateway`` is expected).
    """

    def create(
        self, repo: str, passphrase: str, cache_root: Path | None
    ) -> tuple[VaultLike, str]: ...

    def open(
        self,
        repo: str,
        passphrase: str | None,
        recovery_key: str | None,
        cache_root: Path | None,
    ) -> VaultLike: ...

    def describe(self, repo: str) -> str: ...

    def prepare(self, repo: str) -> None:
        """Called on the GUI thread before a job touches ``repo`` (e.g. to import)."""
        ...

    def apply_retention(
        self,
        vault: VaultLike,
        retention: Retention,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> int:
        """Forget what ``retention`` does not keep, then prune; returns how many went."""
        ...

    def set_upload_limit(self, kib_per_s: int) -> None:
        """Upload at most ``kib_per_s`` KiB/s (0: no limit), from now on: also the
        backup that is running. Called on the GUI thread."""
        ...

    def set_wait_listener(self, listener: WaitListener | None) -> None:
        """``listener(resume_at, message)`` hears, from any thread, that the storage
        is waiting because the service asked to slow down (429 Retry-After)."""
        ...

    # -- moving to another place (Settings › Storage) ---------------------------------

    def mirror(
        self, source: VaultLike, repo: str, on_progress: ProgressCallback, cancel: CancelToken
    ) -> None:
        """Copy the open vault ``source`` object for object to ``repo`` (same keys)."""
        ...

    def create_new(
        self, repo: str, passphrase: str, like: VaultLike | None, cache_root: Path | None
    ) -> tuple[str, str]:
        """Create a vault at ``repo`` and close it; returns its id and recovery key.
        ``like``: the vault whose chunking to keep (history is copied into it)."""
        ...

    def copy_history(
        self,
        source: VaultLike,
        repo: str,
        passphrase: str,
        cache_root: Path | None,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> CopyReport:
        """Copy every snapshot of ``source`` into the vault at ``repo`` (new keys)."""
        ...


@dataclass(frozen=True, slots=True)
class CopyReport:
    """How copying the history into a new vault went."""

    snapshots: int
    skipped: tuple[Warning_, ...] = ()  # damaged files or folders left out, by name


@dataclass(frozen=True, slots=True)
class OpenedVault:
    vault_id: str
    description: str
    recovery_key: str = ""  # only right after create: shown once, never stored


class VaultService(QObject):
    """The open vault of this app (at most one) and every operation on it."""

    openedChanged = Signal(bool)
    damagedChanged = Signal()  # ``damaged`` was looked at again (it may be unchanged)

    def __init__(
        self,
        runner: JobRunner,
        gateway: VaultGateway,
        cache_root: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self._gateway = gateway
        self._cache_root = cache_root
        self._vault: VaultLike | None = None  # touched on the worker thread only
        self._opened: OpenedVault | None = None  # GUI-thread view of it
        self.repo = ""
        # The running long job's progress callback: the storage's "waiting until"
        # news (from its own threads) joins the job's progress there.
        self._job_progress: ProgressCallback | None = None
        gateway.set_wait_listener(self._storage_waits)
        # Called on the worker thread with each vault right after it opened, before
        # ``openedChanged`` (the version browser makes its own reader there).
        self.open_hooks: list[Callable[[VaultLike], None]] = []
        # Snapshot objects of the open vault that cannot be read (GUI-thread view),
        # looked for after opening and after every long job (issue 11 item 4).
        self.damaged: tuple[DamagedBackup, ...] = ()
        # When this computer made a snapshot (its job history), since a damaged
        # snapshot's own time cannot be read; the backup service sets it.
        self.made_here: Callable[[str], datetime | None] = lambda _id: None
        runner.jobFinished.connect(self._job_finished)

    def set_upload_limit(self, kib_per_s: int) -> None:
        self._gateway.set_upload_limit(kib_per_s)

    def _storage_waits(self, resume_at: datetime, message: str) -> None:
        """From a storage thread: tell the running job's progress we are waiting."""
        report = self._job_progress
        if report is not None:
            report(Progress(Phase.WAITING, resume_at=resume_at, message=message))

    def _start(
        self, kind: JobKind, work: Callable[[ProgressCallback, CancelToken], R]
    ) -> int | None:
        def tracked(on_progress: ProgressCallback, cancel: CancelToken) -> R:
            self._job_progress = on_progress
            try:
                return work(on_progress, cancel)
            finally:
                self._job_progress = None

        return self.runner.start(kind, tracked)

    @property
    def opened(self) -> OpenedVault | None:
        return self._opened

    @property
    def is_open(self) -> bool:
        return self._opened is not None

    def describe(self, repo: str) -> str:
        try:
            return self._gateway.describe(repo)
        except Exception:
            return repo

    def _vault_or_raise(self) -> VaultLike:
        if self._vault is None:
            raise AppError(
                QCoreApplication.translate(
                    "VaultService", "The vault is locked. Enter your passphrase to unlock it."
                )
            )
        return self._vault

    def _set_opened(self, repo: str, done: Done[OpenedVault] | None) -> Done[OpenedVault]:
        def finish(outcome: JobOutcome[OpenedVault]) -> None:
            if outcome.ok:
                self._opened = outcome.value
                self.repo = repo
                self.damaged = ()
                self.openedChanged.emit(True)
                self.look_for_damage()
            if done is not None:
                done(outcome)

        return finish

    # -- open / create / close ---------------------------------------------------

    def create(self, repo: str, passphrase: str, done: Done[OpenedVault] | None = None) -> None:
        self._gateway.prepare(repo)

        def work(_: CancelToken) -> OpenedVault:
            self._close_on_worker()
            vault, key = self._gateway.create(repo, passphrase, self._cache_root)
            self._vault = vault
            self._run_open_hooks(vault)
            return OpenedVault(vault.id, vault.description, key)

        self.runner.call(JobKind.CREATE, work, self._set_opened(repo, done))

    def open(
        self,
        repo: str,
        *,
        passphrase: str | None = None,
        recovery_key: str | None = None,
        done: Done[OpenedVault] | None = None,
    ) -> None:
        self._gateway.prepare(repo)

        def work(_: CancelToken) -> OpenedVault:
            self._close_on_worker()
            vault = self._gateway.open(repo, passphrase, recovery_key, self._cache_root)
            self._vault = vault
            self._run_open_hooks(vault)
            return OpenedVault(vault.id, vault.description)

        self.runner.call(JobKind.OPEN, work, self._set_opened(repo, done))

    def _run_open_hooks(self, vault: VaultLike) -> None:
        for hook in self.open_hooks:
            try:
                hook(vault)
            except Exception:
                log.exception("A hook on opening the vault failed")

    def with_vault(
        self, kind: JobKind, fn: Callable[[VaultLike], object], done: Done[object]
    ) -> None:
        """Run ``fn(vault)`` on the worker thread (after any job before it)."""
        self.runner.call(kind, lambda _: fn(self._vault_or_raise()), done)

    def _close_on_worker(self) -> None:
        vault, self._vault = self._vault, None
        if vault is not None:
            try:
                vault.close()
            except Exception:
                log.exception("Closing the vault failed")

    def close(self, done: Done[None] | None = None) -> None:
        was_open = self._opened is not None
        self._opened = None
        if was_open:
            self.openedChanged.emit(False)
            self.damaged = ()
            self.damagedChanged.emit()
        self.runner.call(JobKind.CLOSE, lambda _: self._close_on_worker(), done)

    # -- damaged snapshots ---------------------------------------------------------

    def look_for_damage(self) -> None:
        """Ask the vault which snapshot objects cannot be read (on its thread, after
        any job queued before); ``damaged`` and ``damagedChanged`` follow on the GUI
        thread. The engine reads each snapshot object its cache does not hold yet, so
        this finds damage after a fresh start, a backup (which re-syncs) or a check
        (which re-reads every snapshot)."""
        if self._opened is None:
            return
        generation = self._opened

        def work(_: CancelToken) -> list[DamagedSnapshot]:
            return list(self._vault_or_raise().damaged_snapshots())

        def done(outcome: JobOutcome[list[DamagedSnapshot]]) -> None:
            if self._opened is not generation:
                return  # closed or another vault opened meanwhile
            if not outcome.ok:
                log.info("Could not look for damaged backups: %s", outcome.message)
                return
            found = tuple(
                DamagedBackup(d.id, d.reason, self.made_here(d.id)) for d in outcome.value
            )
            if found:
                log.warning("Damaged snapshots: %s", ", ".join(d.short_id for d in found))
            self.damaged = found
            self.damagedChanged.emit()

        self.runner.call(JobKind.DAMAGED, work, done)

    def _job_finished(self, outcome: JobOutcome[object]) -> None:
        if outcome.kind in (JobKind.BACKUP, JobKind.FORGET, JobKind.CHECK):
            self.look_for_damage()

    # -- long jobs -------------------------------------------------------------

    def backup(self, paths: Sequence[str], excludes: Sequence[str]) -> int | None:
        paths, excludes = tuple(paths), tuple(excludes)

        def work(on_progress: ProgressCallback, cancel: CancelToken) -> BackupResult:
            return self._vault_or_raise().backup(
                paths, excludes=excludes, on_progress=on_progress, cancel=cancel
            )

        return self._start(JobKind.BACKUP, work)

    def restore(self, snapshot_id: str, target: str, paths: Sequence[str] = ()) -> int | None:
        paths = tuple(paths)

        def work(on_progress: ProgressCallback, cancel: CancelToken) -> RestoreResult:
            return self._vault_or_raise().restore(
                snapshot_id, target, paths, on_progress=on_progress, cancel=cancel
            )

        return self._start(JobKind.RESTORE, work)

    def check(self, read_data: bool = False) -> int | None:
        def work(on_progress: ProgressCallback, cancel: CancelToken) -> CheckResult:
            return self._vault_or_raise().check(
                read_data=read_data, on_progress=on_progress, cancel=cancel
            )

        return self._start(JobKind.CHECK, work)

    # -- short calls -------------------------------------------------------------

    def snapshots(self, done: Done[list[SnapshotInfo]]) -> None:
        self.runner.call(JobKind.SNAPSHOTS, lambda _: self._vault_or_raise().snapshots(), done)

    def list_dir(self, snapshot_id: str, path: str, done: Done[list[Entry]]) -> None:
        self.runner.call(
            JobKind.LIST_DIR, lambda _: self._vault_or_raise().list_dir(snapshot_id, path), done
        )

    def versions(self, path: str, done: Done[list[FileVersion]]) -> None:
        self.runner.call(JobKind.VERSIONS, lambda _: self._vault_or_raise().versions(path), done)

    def stats(self, done: Done[VaultStats]) -> None:
        self.runner.call(JobKind.STATS, lambda _: self._vault_or_raise().stats(), done)

    def restore_file(self, snapshot_id: str, path: str, dest: str, done: Done[str]) -> None:
        def work(cancel: CancelToken) -> str:
            self._vault_or_raise().restore_file(snapshot_id, path, dest, cancel=cancel)
            return dest

        self.runner.call(JobKind.RESTORE_FILE, work, done)

    def _start_then(
        self, kind: JobKind, work: Callable[[ProgressCallback, CancelToken], R], done: Done[R]
    ) -> bool:
        """Start a long job and hand its outcome to ``done`` (on the GUI thread);
        False when another long job runs."""
        job_id = self._start(kind, work)
        if job_id is None:
            return False

        def finished(outcome: JobOutcome[R]) -> None:
            if outcome.job_id != job_id:
                return
            self.runner.jobFinished.disconnect(finished)
            done(outcome)

        self.runner.jobFinished.connect(finished)
        return True

    def mirror_to(self, repo: str, done: Done[str]) -> bool:
        """Copy the open vault, every object as it is (same passphrase, all history),
        to ``repo`` as a long job (progress, cancel); ``done`` gets ``repo``. The
        settings are not touched: the caller switches only after this succeeded."""
        self._gateway.prepare(repo)

        def work(on_progress: ProgressCallback, cancel: CancelToken) -> str:
            self._gateway.mirror(self._vault_or_raise(), repo, on_progress, cancel)
            return repo

        return self._start_then(JobKind.COPY_VAULT, work, done)

    def create_new(
        self, repo: str, passphrase: str, like_current: bool, done: Done[OpenedVault]
    ) -> None:
        """Create a new vault at ``repo`` (new keys, ``passphrase``) without making it
        this app's vault; the open one stays open. ``like_current``: keep the open
        vault's chunking, because its history will be copied in."""
        self._gateway.prepare(repo)

        def work(_: CancelToken) -> OpenedVault:
            like = self._vault_or_raise() if like_current else None
            vault_id, key = self._gateway.create_new(repo, passphrase, like, self._cache_root)
            return OpenedVault(vault_id, self.describe(repo), key)

        self.runner.call(JobKind.CREATE, work, done)

    def copy_history_to(self, repo: str, passphrase: str, done: Done[CopyReport]) -> bool:
        """Copy every backup of the open vault into the (new) vault at ``repo``, as a
        long job. Each snapshot is committed in turn, so a cancelled copy leaves a
        valid vault holding the older ones; the settings are not touched."""

        def work(on_progress: ProgressCallback, cancel: CancelToken) -> CopyReport:
            return self._gateway.copy_history(
                self._vault_or_raise(), repo, passphrase, self._cache_root, on_progress, cancel
            )

        return self._start_then(JobKind.COPY_VAULT, work, done)

    def change_passphrase(self, new: str, done: Done[None]) -> None:
        self.runner.call(
            JobKind.CHANGE_PASSPHRASE, lambda _: self._vault_or_raise().change_passphrase(new), done
        )

    def apply_retention(self, retention: Retention) -> int | None:
        """Forget old snapshots per ``retention`` and prune, as a long job."""

        def work(on_progress: ProgressCallback, cancel: CancelToken) -> int:
            return self._gateway.apply_retention(
                self._vault_or_raise(), retention, on_progress, cancel
            )

        return self._start(JobKind.FORGET, work)
