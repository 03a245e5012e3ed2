"""The Versions page: find any file as it was on any day, see it, get it back.

Three ways back (docs/USER_GUIDE.md): select a file and press Restore (or Restore
to…); drag a version out of the window; or move the timeline to an older backup
and drag or restore from the tree as it was then. Every question to the vault goes
through :class:`BrowserService` and comes back on the GUI thread; answers that
arrive after the view changed are dropped (generation counters in the models).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QCoreApplication, QItemSelectionModel, QModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.core.browse import (
    BrowseEntry,
    ConflictChoice,
    History,
    Preview,
    RestorePlan,
    SearchResult,
)
from app.core.models import Change, FileVersion
from app.services.browser import BrowserService, Located
from app.services.jobs import JobOutcome
from app.ui import fmt
from app.ui.versions import dialogs
from app.ui.versions.check import CheckDialog
from app.ui.versions.damaged import DamagedBanner
from app.ui.versions.history_model import HistoryModel
from app.ui.versions.preview import PreviewPane
from app.ui.versions.restoring import Chosen, RestoreFlow
from app.ui.versions.tree_model import VersionTreeModel, View
from app.ui.widgets import heading

SEARCH_DELAY_MS = 150


class VersionsPage(RestoreFlow, QWidget):
    def __init__(
        self,
        browser: BrowserService,
        *,
        unlock: Callable[[], object] | None = None,
        can_check: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("versionsPage")
        self.setAcceptDrops(True)
        self.browser = browser
        self._waiting_note = False  # the status line says "no backups yet" or "reading"
        # Replaceable by tests (dialogs are modal):
        self.ask_conflict: Callable[[RestorePlan, str], ConflictChoice] = lambda plan, keep: (
            dialogs.ask_conflict(self, plan, keep)
        )
        self.choose_folder: Callable[[], str] = lambda: QFileDialog.getExistingDirectory(
            self, self.tr("Restore into which folder?")
        )
        self.offer_show: Callable[[str], None] = lambda dest: dialogs.offer_show(self, dest)

        self.search = QLineEdit()
        self.search.setObjectName("versionsSearch")
        self.search.setPlaceholderText(self.tr("Search every backed-up file by name"))
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(self.tr("Search every backed-up file by name"))
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._run_search)
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        self.show_deleted = QCheckBox(self.tr("Show deleted files"))
        self.show_deleted.setObjectName("versionsShowDeleted")
        self.show_deleted.toggled.connect(lambda _: self._view_changed())
        self.show_deleted.toggled.connect(lambda _: self._fit_modified_column())
        self.check_btn = QPushButton(self.tr("Check backup…"))
        self.check_btn.setObjectName("checkButton")
        self.check_btn.setVisible(can_check)
        self.check_btn.clicked.connect(self.check_backup)
        self.check_dialog: CheckDialog | None = None

        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setObjectName("versionsTimeline")
        self.timeline.setRange(0, 0)
        self.timeline.setPageStep(1)
        self.timeline.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.timeline.setAccessibleName(self.tr("Time travel: the backup the tree shows"))
        self.timeline.valueChanged.connect(self._timeline_moved)
        self.timeline_label = QLabel(self.tr("All backups"))
        self.timeline_label.setMinimumWidth(220)
        self.now_btn = QPushButton(self.tr("Back to now"))
        self.now_btn.setEnabled(False)
        self.now_btn.clicked.connect(self.back_to_now)

        self.model = VersionTreeModel(browser, browser.stage_now, self)
        self.model.childrenLoaded.connect(self._children_loaded)
        self.model.loadFailed.connect(self._say)
        self.tree = QTreeView()
        self.tree.setObjectName("versionsTree")
        self.tree.setAccessibleName(self.tr("Every file and folder ever backed up"))
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(12)  # deep paths: leave room for names
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        # Fixed widths from the font, not sizing to contents (which reads every row).
        header.resizeSection(1, _text_width(self.tree, "999.9 MB"))
        self._fit_modified_column()
        self.tree.selectionModel().currentRowChanged.connect(lambda *_: self._tree_selected())

        self.history_model = HistoryModel(browser.stage_now, self)
        self.list = QTreeView()
        self.list.setObjectName("versionsList")
        self.list.setAccessibleName(self.tr("Versions of the selected file, newest first"))
        self.list.setModel(self.history_model)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setDragEnabled(True)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        # Every column visible without a scroll bar: widths from the font (a folder
        # may have thousands of backups; sizing to contents would read them all).
        list_header = self.list.header()
        list_header.setStretchLastSection(True)
        stamp_width = _text_width(self.list, fmt.stamp(_SAMPLE_TIME))
        backed_up_width = _text_width(self.list, fmt.stamp(_SAMPLE_TIME, seconds=True))
        for column, width in enumerate(
            (backed_up_width, _text_width(self.list, "999.9 MB"), stamp_width)
        ):
            list_header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            list_header.resizeSection(column, width)
        self.list.selectionModel().currentRowChanged.connect(lambda *_: self._version_selected())
        self.history_title = QLabel(self.tr("<b>Versions</b>"))
        self.preview = PreviewPane()

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(220)
        self.cancel_btn = QPushButton(self.tr("Cancel"))
        self.cancel_btn.setVisible(False)
        self.cancel_btn.clicked.connect(browser.cancel_restore)
        self.unlock_btn = QPushButton(self.tr("Unlock to browse"))
        self.unlock_btn.setVisible(False)
        if unlock is not None:
            self.unlock_btn.clicked.connect(lambda: unlock())
        self._can_unlock = unlock is not None
        self.restore_to_btn = QPushButton(self.tr("Restore to…"))
        self.restore_to_btn.setObjectName("restoreToButton")
        self.restore_to_btn.setToolTip(
            self.tr("Put the selected version directly inside a folder you choose")
        )
        self.restore_to_btn.clicked.connect(self.restore_to)
        self.restore_btn = QPushButton(self.tr("Restore"))
        self.restore_btn.setObjectName("restoreButton")
        self.restore_btn.setToolTip(self.tr("Put the selected version back where it was"))
        self.restore_btn.clicked.connect(self.restore_original)
        self.restore_btn.setDefault(True)

        self._layout()
        self._as_of: int | None = None
        self._search: SearchResult | None = None
        self._search_generation = 0
        self._searched_indexed = False
        self._history_generation = 0
        self._prefetched: History | None = None  # versions shown before the tree's row
        self._adopting = False  # taking a located path's folder rows
        self._locate_generation = 0  # the last ``select_path``: older answers are dropped
        self._preview_generation = 0
        self._entry: BrowseEntry | None = None
        self._reveal_chain: list[int] = []
        self._restore_then_show = False
        browser.readyChanged.connect(lambda _: self._ready_changed())
        browser.snapshotsChanged.connect(self._snapshots_changed)
        browser.indexedChanged.connect(lambda _: self._search_again())
        browser.restoreProgress.connect(self._restore_progress)
        browser.restoreFinished.connect(self._restore_finished)
        self._ready_changed()

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.show_deleted)
        top.addWidget(self.check_btn)
        travel = QHBoxLayout()
        travel.addWidget(QLabel(self.tr("Time travel:")))
        travel.addWidget(self.timeline, 1)
        travel.addWidget(self.timeline_label)
        travel.addWidget(self.now_btn)
        # The tree and the preview side by side, the version history below them at
        # full width: its four columns (two of them dates) need the room, and a
        # history beside the tree pushed them behind a scroll bar.
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self.tree)
        upper.addWidget(self.preview)
        upper.setStretchFactor(0, 2)
        upper.setStretchFactor(1, 1)
        upper.setSizes([510, 200])
        upper.setChildrenCollapsible(False)
        history = QWidget()
        hl = QVBoxLayout(history)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.history_title)
        hl.addWidget(self.list)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("versionsSplitter")
        split.addWidget(upper)
        split.addWidget(history)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([300, 200])
        split.setChildrenCollapsible(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.cancel_btn)
        bottom.addWidget(self.unlock_btn)
        bottom.addWidget(self.restore_to_btn)
        bottom.addWidget(self.restore_btn)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Versions")))
        layout.addLayout(top)
        layout.addLayout(travel)
        layout.addWidget(DamagedBanner(self.browser, self.check_backup, self))
        layout.addWidget(split, 1)
        layout.addLayout(bottom)

    # -- state -----------------------------------------------------------------------

    def _ready_changed(self) -> None:
        ready = self.browser.ready
        self.unlock_btn.setVisible(not ready and self._can_unlock)
        for w in (
            self.search,
            self.show_deleted,
            self.timeline,
            self.tree,
            self.list,
            self.check_btn,
        ):
            w.setEnabled(ready)
        if not ready:
            self._entry = None
            self.history_model.set_history(None)
            self.preview.clear("")
            self.model.set_view(View())
            self._say(
                self.tr("Your backup is locked.")
                if self.browser.vaults.repo
                else self.tr("Opening the backup…")
            )
        else:
            self._say("")
        self._update_buttons()

    def _snapshots_changed(self) -> None:
        snaps = self.browser.snapshots
        newest = max(len(snaps) - 1, 0)
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, newest)
        if self._as_of is None or self._as_of > newest:
            self._as_of = None
            self.timeline.setValue(newest)
        self.timeline.blockSignals(False)
        self._label_timeline()
        if snaps:
            if self._waiting_note:
                self._say("")
        elif self.browser.synced:
            self._say(
                self.tr("No backups yet: once the first backup is done, its files appear here.")
            )
            self._waiting_note = True
        else:
            self._say(self.tr("Reading the list of backups…"))
            self._waiting_note = True
        self._view_changed()

    def _label_timeline(self) -> None:
        snaps = self.browser.snapshots
        if self._as_of is None or not snaps:
            self.timeline_label.setText(
                self.tr("Now: all 1 backup")
                if len(snaps) == 1
                else self.tr("Now: all {count} backups").format(count=f"{len(snaps):,}")
            )
            self.now_btn.setEnabled(False)
        else:
            snap = snaps[self._as_of]
            self.timeline_label.setText(
                self.tr("As on {time} ({number} of {total})").format(
                    time=fmt.stamp(snap.time), number=self._as_of + 1, total=len(snaps)
                )
            )
            self.now_btn.setEnabled(True)

    def check_backup(self) -> CheckDialog:
        """Open the "Check backup" dialog (one at a time)."""
        if self.check_dialog is None:
            self.check_dialog = CheckDialog(self.browser.vaults, self)
        self.check_dialog.show()
        self.check_dialog.raise_()
        return self.check_dialog

    @property
    def search_result(self) -> SearchResult | None:
        """The search the tree shows (None: no search)."""
        return self._search

    def view(self) -> View:
        return View(self._as_of, self.show_deleted.isChecked(), self._search)

    def _fit_modified_column(self) -> None:
        """The tree's Modified column fits a date, or "Deleted <date>" while deleted
        files are shown (it was cut to "Deleted 02 Dec 20…")."""
        sample = "28 Dec 2026 23:59"
        if self.show_deleted.isChecked():
            # The tree model's own string (its context), so the translation is shared.
            sample = QCoreApplication.translate("VersionTreeModel", "Deleted {time}").format(
                time=sample
            )
        self.tree.header().resizeSection(2, _text_width(self.tree, sample))

    def _view_changed(self) -> None:
        if not self.browser.ready:
            return
        self._entry = None
        self.history_model.set_history(None)
        self.history_title.setText(self.tr("<b>Versions</b>"))
        self.preview.clear(self.tr("Select a file to see it as it was."))
        if self.search.text().strip() and self._search is None:
            self._run_search()
            return
        self.model.set_view(self.view())
        if self._search is not None:
            self.tree.expandAll()  # every row is there already
        elif self.model.canFetchMore(QModelIndex()):
            self.model.fetchMore(QModelIndex())
        self._update_buttons()

    # -- timeline ----------------------------------------------------------------------

    def _timeline_moved(self, value: int) -> None:
        self._as_of = value
        self._label_timeline()
        self._search = None
        self._view_changed()

    def show_backup(self, index: int) -> None:
        """Move the timeline to backup ``index`` (0 = oldest)."""
        if self.timeline.value() == index and self._as_of == index:
            return
        if self.timeline.value() == index:
            self._timeline_moved(index)
        else:
            self.timeline.setValue(index)

    def back_to_now(self) -> None:
        self._as_of = None
        self.timeline.blockSignals(True)
        self.timeline.setValue(self.timeline.maximum())
        self.timeline.blockSignals(False)
        self._label_timeline()
        self._search = None
        self._view_changed()

    # -- search ------------------------------------------------------------------------

    def _run_search(self) -> None:
        self._search_timer.stop()
        text = self.search.text().strip()
        self._search_generation += 1
        if not text:
            if self._search is not None:
                self._search = None
                self._say("")
                self._view_changed()
            return
        generation = self._search_generation

        def done(outcome: JobOutcome[SearchResult]) -> None:
            if generation != self._search_generation:
                return
            if not outcome.ok:
                self._say(outcome.message)
                return
            result = outcome.value
            self._search = result
            self._view_changed()
            n = len(result.matches)
            note = self.tr("; showing the first ones") if result.truncated else ""
            if not self.browser.indexed:
                note += self.tr(" (still indexing older backups…)")
            self._say(
                self.tr("1 match for “{text}”{note}.").format(text=text, note=note)
                if n == 1
                else self.tr("{count} matches for “{text}”{note}.").format(
                    count=f"{n:,}", text=text, note=note
                )
                if result.matches
                else self.tr("Nothing named like “{text}”{note}.").format(text=text, note=note)
            )

        self._searched_indexed = self.browser.indexed
        self.browser.search(text, self._as_of, self.show_deleted.isChecked(), done)

    def _search_again(self) -> None:
        """Indexing finished: a search made before it may have missed older paths."""
        if self.search.text().strip() and not self._searched_indexed:
            self._search = None
            self._run_search()

    def _children_loaded(self, node: int) -> None:
        """Open folders by themselves: search results' folders, a lone folder chain
        from the root down to the backed-up folders, and a path being revealed."""
        if self._adopting:
            return  # ``select_path`` reveals the path once every folder is in
        if self._reveal_chain:
            self._reveal_step()
            return
        parent = self.model.index_of(node)
        count = self.model.rowCount(parent)
        if self._search is not None:
            for row in range(count):
                index = self.model.index(row, 0, parent)
                entry = self.model.entry(index)
                if entry is not None and entry.is_dir and entry.node in self._search.visible:
                    self.tree.expand(index)
            return
        if count == 1:
            only = self.model.index(0, 0, parent)
            entry = self.model.entry(only)
            if entry is not None and entry.is_dir:
                self.tree.expand(only)

    # -- selecting -------------------------------------------------------------------------

    def select_path(self, path: str) -> None:
        """Select ``path`` in the tree (its folders opened) and show its versions.

        Two answers, in order: its versions first (a few milliseconds of work, shown
        at once in the merged view), then the rows of every folder on the way (the
        tree opens to it without a listing per folder)."""
        merged = self._as_of is None
        listing = (self._as_of, self.show_deleted.isChecked())
        listed = self.model.requested_nodes() if self._search is None else frozenset()
        self._locate_generation += 1
        generation = self._locate_generation

        def got_history(outcome: JobOutcome[Located | None]) -> None:
            if generation != self._locate_generation or not outcome.ok:
                return
            located = outcome.value
            if located is None:
                return
            self._leave_search()
            history = located.history
            if history is not None and not history.is_dir and self._as_of is None:
                # Its versions at once; the tree catches up (and keeps them).
                self._history_generation += 1
                self._prefetched = history
                self.history_title.setText(
                    self.tr("<b>Versions of {name}</b>").format(
                        name=_esc(os.path.basename(history.path))
                    )
                )
                self._show_history(history, None)

        def got_tree(outcome: JobOutcome[Located | None]) -> None:
            if generation != self._locate_generation:
                return
            if not outcome.ok:
                self._say(outcome.message)
                return
            located = outcome.value
            if located is None:
                self._say(self.tr("{path} was never backed up.").format(path=path))
                return
            self._leave_search()
            view = self.model.view
            if (view.as_of, view.show_deleted) == listing and view.search is None:
                self._adopting = True  # the folders on the way, from the same answer
                try:
                    for folder in located.chain[:-1]:
                        rows = located.listings.get(folder)
                        if rows is not None:
                            self.model.adopt(folder, rows, view)
                finally:
                    self._adopting = False
            self._reveal_chain = list(located.chain)
            self._reveal_step()

        if merged:
            self.browser.locate(path, got_history, with_history=True)
        self.browser.locate(path, got_tree, listing=listing, listed=listed)

    def _leave_search(self) -> None:
        """A selected path is shown in the tree, not among search results."""
        if self._search is not None or self.search.text():
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self._search = None
            self._view_changed()

    def _reveal_step(self) -> None:
        chain = self._reveal_chain
        for depth in range(1, len(chain)):
            index = self.model.index_of(chain[depth])
            if index.isValid():
                continue
            parent_node = chain[depth - 1]
            parent = self.model.index_of(parent_node)
            if self.model.is_loaded(parent_node):
                self.model.fetch_all(parent)
                if self.model.index_of(chain[depth]).isValid():
                    continue
                self._reveal_chain = []
                if not self.show_deleted.isChecked() and self._as_of is None:
                    self._say(self.tr("It was deleted: turn on “Show deleted files” to see it."))
                else:
                    self._say(
                        self.tr("It is not in the backup shown; move the timeline to see it.")
                    )
                return
            if parent.isValid():
                self.tree.expand(parent)
            if self.model.canFetchMore(parent):
                self.model.fetchMore(parent)
            return  # continue when the rows arrive
        self._reveal_chain = []
        target = self.model.index_of(chain[-1])
        self.tree.scrollTo(target)
        self.tree.selectionModel().setCurrentIndex(
            target,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def selected_entry(self) -> BrowseEntry | None:
        return self._entry

    def _tree_selected(self) -> None:
        entry = self.model.entry(self.tree.currentIndex())
        self._entry = entry
        prefetched, self._prefetched = self._prefetched, None
        if (
            entry is not None
            and prefetched is not None
            and prefetched.node == entry.node
            and self.history_model.history is prefetched
        ):
            self._update_buttons()  # its versions are shown already (``select_path``)
            return
        self.history_model.set_history(None)
        self._history_generation += 1
        self._update_buttons()
        if entry is None:
            self.preview.clear(self.tr("Select a file to see it as it was."))
            return
        self.history_title.setText(
            self.tr("<b>Versions of {name}</b>").format(name=_esc(entry.name))
        )
        generation = self._history_generation
        if entry.is_dir:
            self.preview.clear(
                self.tr(
                    "{name}: a folder. Drag it out or restore it as it was in that backup."
                ).format(name=entry.name)
            )
        else:
            self.preview.loading(entry.name)

        def done(outcome: JobOutcome[History]) -> None:
            if generation != self._history_generation:
                return
            if not outcome.ok:
                self._say(outcome.message)
                return
            self._show_history(outcome.value, entry)

        self.browser.history(entry.node, done)

    def _show_history(self, history: History, entry: BrowseEntry | None) -> None:
        """Show ``history``, the version the tree's row shows selected (else the newest)."""
        self.history_model.set_history(history)
        snap_time = None
        if entry is not None:
            snap_time = next(
                (s.time for s in self.browser.snapshots if s.id == entry.snapshot), None
            )
        row = 0
        for i, v in enumerate(self.history_model.rows):
            if v.change is not Change.DELETED and (snap_time is None or v.time <= snap_time):
                row = i
                break
        if self.history_model.rows:
            self.list.selectionModel().setCurrentIndex(
                self.history_model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def selected_version(self) -> FileVersion | None:
        return self.history_model.version(self.list.currentIndex())

    def _version_selected(self) -> None:
        self._update_buttons()
        version = self.selected_version()
        history = self.history_model.history
        self._preview_generation += 1
        if version is None or history is None or history.is_dir:
            return
        if version.change is Change.DELETED:
            self.preview.clear(
                self.tr("Deleted: no longer in the backup of {time}.").format(
                    time=fmt.stamp(version.time)
                )
            )
            return
        generation = self._preview_generation
        self.preview.loading(os.path.basename(history.path))

        def done(outcome: JobOutcome[Preview]) -> None:
            if generation != self._preview_generation:
                return
            if not outcome.ok:
                self.preview.clear(outcome.message)
                return
            preview = outcome.value
            self.preview.show_preview(preview)

        self.browser.preview(history.path, version.snapshot, version.size, version.mtime, done)

    def chosen(self) -> Chosen | None:
        """What Restore acts on: the version selected in the list, else the tree's row."""
        history = self.history_model.history
        version = self.selected_version()
        if history is not None and version is not None and version.change is not Change.DELETED:
            return history.path, version.snapshot, history.is_dir
        if self._entry is not None:
            return self._entry.path, self._entry.snapshot, self._entry.is_dir
        return None

    def _update_buttons(self) -> None:
        can = self.browser.ready and self.chosen() is not None and not self.browser.restoring
        self.restore_btn.setEnabled(can)
        self.restore_to_btn.setEnabled(can)

    # -- drop in ---------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_paths(event.mimeData().urls()) and event.source() is None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_paths(event.mimeData().urls())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.select_path(paths[0])


_SAMPLE_TIME = datetime(2026, 12, 28, 23, 59, tzinfo=UTC)  # a wide date, for widths


def _text_width(view: QWidget, sample: str) -> int:
    """A column wide enough for ``sample`` in ``view``'s font, with the cell's margins."""
    return view.fontMetrics().horizontalAdvance(sample) + 16


def _local_paths(urls: list[QUrl]) -> list[str]:
    return [u.toLocalFile() for u in urls if u.isLocalFile() and u.toLocalFile()]


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
