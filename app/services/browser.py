"""The version browser's service: the merged tree, search, history, previews and
restores, answered off the GUI thread.

It runs on its own :class:`JobRunner` thread, not the vault's: a backup can hold the
vault's thread for an hour, and the browser must stay usable meanwhile. The engine
side (``app.engine.browse.BrowseSession``) is created by an injected factory on the
vault's thread right after the vault opens (``VaultService.open_hooks``), then used
only here. Indexing every path for search runs in slices of ~30 ms, so a listing
asked for meanwhile waits at most one slice. Previews (which stage a version's
bytes) run on a second thread, so a click's versions never wait behind the last
click's preview.

Drag and drop needs the dragged version's bytes as files *while* ``mimeData()``
runs on the GUI thread: :meth:`BrowserService.stage_now` restores them there,
through the session's separate staging reader (restores of one file take
milliseconds; big folders are better restored with Restore to…).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from app.core.browse import (
    BrowseEntry,
    History,
    Preview,
    RestoreDone,
    RestorePlan,
    SearchResult,
)
from app.core.cancel import CancelToken
from app.core.errors import AppError
from app.core.events import ProgressCallback
from app.core.models import SnapshotInfo
from app.services.damage import DamagedBackup
from app.services.jobs import JobKind, JobOutcome, JobRunner
from app.services.vault import VaultLike, VaultService

log = logging.getLogger(__name__)

Done = Callable[[JobOutcome[Any]], None]
INGEST_SLICE_S = 0.03


class BrowseSessionLike(Protocol):
    """The part of ``app.engine.browse.BrowseSession`` the browser uses."""

    def set_snapshots(self) -> tuple[bool, list[SnapshotInfo]]: ...

    def ingest(self, cancel: CancelToken, budget_s: float) -> bool: ...

    def children(
        self,
        node: int,
        *,
        as_of: int | None = None,
        show_deleted: bool = False,
        only: frozenset[int] | None = None,
    ) -> list[BrowseEntry]: ...

    def search(
        self, text: str, *, as_of: int | None = None, show_deleted: bool = False
    ) -> SearchResult: ...

    def history(self, node: int) -> History: ...

    def find(self, path: str) -> int | None: ...

    def ancestors(self, node: int) -> list[int]: ...

    def stage(self, items: list[tuple[str, str]]) -> list[Path]: ...

    def preview(
        self, path: str, snapshot_id: str, size: int, mtime: datetime | None
    ) -> Preview: ...

    def plan(self, source: str, snapshot_id: str, dest: str) -> RestorePlan: ...

    def restore_as(
        self,
        source: str,
        snapshot_id: str,
        dest: str,
        *,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> RestoreDone: ...

    def close(self) -> None: ...


SessionFactory = Callable[[VaultLike], BrowseSessionLike]


@dataclass(frozen=True, slots=True)
class Located:
    """A path found in the catalog: its node chain from the root, and its versions."""

    chain: list[int]
    history: History | None = None
    listings: dict[int, list[BrowseEntry]] = field(default_factory=dict)  # folder -> rows


class BrowserService(QObject):
    """The browser's door to the engine; every answer arrives on the GUI thread."""

    readyChanged = Signal(bool)  # a vault is open and its backups are listed
    snapshotsChanged = Signal()  # ``snapshots`` changed (a backup was added or removed)
    indexedChanged = Signal(bool)  # every path is indexed (search is exhaustive)
    restoreProgress = Signal(object)  # Progress
    restoreFinished = Signal(object)  # JobOutcome whose result is a RestoreDone
    damagedChanged = Signal()  # ``damaged`` was looked at again

    def __init__(
        self, vaults: VaultService, factory: SessionFactory, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.vaults = vaults
        self._factory = factory
        self.runner = JobRunner("keepsake-browser", self)
        # Previews stage a version's bytes (a big photo takes a while): on a thread of
        # their own, so the next click's versions never wait behind the last preview.
        self.previews = JobRunner("keepsake-preview", self)
        self.runner.jobProgress.connect(self.restoreProgress)
        self.runner.jobFinished.connect(self.restoreFinished)
        self._pending: BrowseSessionLike | None = None  # made on the vault's thread
        self._session: BrowseSessionLike | None = None  # used on the browser's thread
        self.ready = False
        self.indexed = False
        self.synced = False  # the vault's cache was synced since the vault opened
        self.snapshots: list[SnapshotInfo] = []
        self._indexing = False
        self._generation = 0
        vaults.open_hooks.append(self._make_session)
        vaults.openedChanged.connect(self._opened_changed)
        vaults.runner.jobFinished.connect(self._vault_job_done)
        vaults.damagedChanged.connect(self.damagedChanged)
        if vaults.is_open:  # opened before we were made: make a session now
            vaults.with_vault(JobKind.BROWSE_START, self._make_session, self._adopt)

    # -- lifecycle ---------------------------------------------------------------

    def _make_session(self, vault: VaultLike) -> None:
        """On the vault's thread, right after it opened."""
        try:
            self._pending = self._factory(vault)
        except Exception:
            log.exception("The version browser could not start")
            self._pending = None

    def _opened_changed(self, is_open: bool) -> None:
        if is_open:
            self._adopt(None)
        else:
            self._generation += 1
            self.ready = False
            self.indexed = False
            self.synced = False
            self.snapshots = []
            self.readyChanged.emit(False)
            self.runner.call(JobKind.BROWSE_CLOSE, lambda _: self._close_session())

    def _adopt(self, _outcome: JobOutcome[object] | None) -> None:
        def start(_: CancelToken) -> tuple[bool, list[SnapshotInfo]]:
            pending, self._pending = self._pending, None
            if pending is not None:
                self._close_session()
                self._session = pending
            return self._need().set_snapshots()

        self._generation += 1
        self.runner.call(JobKind.BROWSE_START, start, self._got_snapshots)
        # The app's vault syncs the cache with the vault (other devices' backups);
        # the browser reads the cache, so look again when that is done.
        self.vaults.snapshots(self._synced)

    def _synced(self, _outcome: JobOutcome[object]) -> None:
        self.synced = True
        self.refresh()

    def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:
                log.exception("Closing the version browser failed")

    def shutdown(self) -> None:
        self.previews.shutdown()
        self.runner.call(JobKind.BROWSE_CLOSE, lambda _: self._close_session())
        self.runner.shutdown()

    def _need(self) -> BrowseSessionLike:
        if self._session is None:
            raise AppError(
                QCoreApplication.translate(
                    "BrowserService", "The backup is locked. Unlock it to browse its versions."
                )
            )
        return self._session

    @property
    def damaged(self) -> tuple[DamagedBackup, ...]:
        """Backups of the vault that cannot be read, so are not on the timeline (the
        session reads the cache, which never holds them; the vault's thread knows)."""
        return self.vaults.damaged

    def refresh(self) -> None:
        """Look for backups added or removed since the last look, and for damaged ones."""
        if self.vaults.is_open:
            self.runner.call(
                JobKind.BROWSE_START, lambda _: self._need().set_snapshots(), self._got_snapshots
            )
            self.vaults.look_for_damage()

    def _vault_job_done(self, outcome: JobOutcome[object]) -> None:
        if outcome.kind in (JobKind.BACKUP, JobKind.FORGET) and outcome.ok:
            self.refresh()
        elif self.ready:
            self._index_more()

    def _got_snapshots(self, outcome: JobOutcome[tuple[bool, list[SnapshotInfo]]]) -> None:
        if not outcome.ok:
            log.info("browser: %s", outcome.message)
            return
        changed, snapshots = outcome.value
        was_ready = self.ready
        self.ready = True
        if changed or not was_ready:
            self.snapshots = list(snapshots)
            if changed:
                self.indexed = False
        if not was_ready:
            self.readyChanged.emit(True)
        if changed or not was_ready or (self.synced and not self.snapshots):
            self.snapshotsChanged.emit()
        self._index_more()

    def _index_more(self) -> None:
        if self._indexing or self.indexed:
            return
        if self.vaults.runner.busy:
            # A backup (or restore, check) is running: indexing would compete with it
            # and the GUI thread for the interpreter; resume when it ends.
            return
        self._indexing = True
        generation = self._generation

        def step(cancel: CancelToken) -> bool:
            return self._need().ingest(cancel, INGEST_SLICE_S)

        def done(outcome: JobOutcome[bool]) -> None:
            self._indexing = False
            if generation != self._generation or not outcome.ok:
                return
            if outcome.value:
                self.indexed = True
                self.indexedChanged.emit(True)
            else:
                QTimer.singleShot(0, self._index_more)

        self.runner.call(JobKind.BROWSE_INDEX, step, done)

    # -- questions -----------------------------------------------------------------

    def list_children(
        self,
        node: int,
        as_of: int | None,
        show_deleted: bool,
        done: Done,
        only: frozenset[int] | None = None,
        wanted: Callable[[], bool] = lambda: True,
    ) -> None:
        """A folder's rows; ``only`` (search results) limits them to those nodes.
        ``wanted`` is asked on the browser's thread first: a view the user has left
        (another search, the timeline moved) costs nothing."""

        def work(_: CancelToken) -> list[BrowseEntry]:
            if not wanted():
                return []
            return self._need().children(node, as_of=as_of, show_deleted=show_deleted, only=only)

        self.runner.call(JobKind.BROWSE_LIST, work, done)

    def search(self, text: str, as_of: int | None, show_deleted: bool, done: Done) -> None:
        self.runner.call(
            JobKind.BROWSE_SEARCH,
            lambda _: self._need().search(text, as_of=as_of, show_deleted=show_deleted),
            done,
        )

    def history(self, node: int, done: Done) -> None:
        self.runner.call(JobKind.BROWSE_HISTORY, lambda _: self._need().history(node), done)

    def locate(
        self,
        path: str,
        done: Done,
        *,
        with_history: bool = False,
        listing: tuple[int | None, bool] | None = None,
        listed: frozenset[int] = frozenset(),
    ) -> None:
        """``done`` gets a :class:`Located` for ``path`` (``[root, ..., parent, node]``),
        or None if never backed up. One trip to the browser's thread brings what
        showing it needs: its history when asked (its versions show before its
        folders open), and with ``listing`` = (as_of, show_deleted) the rows of each
        folder on the way not in ``listed`` (the tree opens to it at once, not a
        folder per trip)."""

        def work(_: CancelToken) -> Located | None:
            session = self._need()
            node = session.find(path)
            if node is None:
                return None
            chain = [*session.ancestors(node), node]
            history = session.history(node) if with_history else None
            rows: dict[int, list[BrowseEntry]] = {}
            if listing is not None:
                as_of, show_deleted = listing
                for folder in chain[:-1]:
                    if folder not in listed:
                        rows[folder] = session.children(
                            folder, as_of=as_of, show_deleted=show_deleted
                        )
            return Located(chain, history, rows)

        self.runner.call(JobKind.BROWSE_LOCATE, work, done)

    def preview(
        self, path: str, snapshot_id: str, size: int, mtime: datetime | None, done: Done
    ) -> None:
        self.previews.call(
            JobKind.BROWSE_PREVIEW,
            lambda _: self._need().preview(path, snapshot_id, size, mtime),
            done,
        )

    def plan(self, source: str, snapshot_id: str, dest: str, done: Done) -> None:
        self.runner.call(
            JobKind.BROWSE_PLAN, lambda _: self._need().plan(source, snapshot_id, dest), done
        )

    # -- doing ---------------------------------------------------------------------

    def restore(self, source: str, snapshot_id: str, dest: str) -> int | None:
        """Restore as a long job (progress, cancel); ``None`` if one is running."""

        def work(on_progress: ProgressCallback, cancel: CancelToken) -> RestoreDone:
            return self._need().restore_as(
                source, snapshot_id, dest, on_progress=on_progress, cancel=cancel
            )

        return self.runner.start(JobKind.RESTORE, work)

    def cancel_restore(self) -> None:
        self.runner.cancel()

    @property
    def restoring(self) -> bool:
        return self.runner.busy

    def stage_now(self, items: list[tuple[str, str]]) -> list[Path]:
        """Restore (path, backup) items into the private staging folder, on this thread
        (drag and drop needs the files before ``mimeData()`` returns)."""
        session = self._session
        if session is None or not items:
            return []
        try:
            return session.stage(items)
        except Exception:
            log.exception("Could not prepare the dragged files")
            return []
