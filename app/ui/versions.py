"""Versions: the list of backups and the files in each, with Restore.

A simple browser for now; the full version browser replaces this page later, so it
talks only to :class:`VaultService` and :class:`BackupService` (unlock, restore).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QStyle,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.core.models import Entry, EntryType, SnapshotInfo
from app.services.backups import BackupService
from app.services.jobs import JobKind, JobOutcome
from app.ui import fmt
from app.ui.widgets import heading, hint

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
LOADED_ROLE = Qt.ItemDataRole.UserRole + 2
TYPE_ROLE = Qt.ItemDataRole.UserRole + 3


class VersionsPage(QWidget):
    def __init__(self, service: BackupService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.vaults = service.vaults
        self.snapshots = QListWidget()
        self.snapshots.setMinimumWidth(220)
        self.snapshots.setSpacing(3)
        self.snapshots.currentItemChanged.connect(lambda *_: self._load_tree())
        self.model = QStandardItemModel(0, 3, self)
        self.model.setHorizontalHeaderLabels(["Name", "Size", "Modified"])
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.expanded.connect(self._expand)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.tree.selectionModel().selectionChanged.connect(lambda *_: self._selection())

        self.restore_btn = QPushButton("Restore…")
        self.restore_btn.setEnabled(False)
        menu = QMenu(self.restore_btn)
        self.restore_original = menu.addAction("To the original place")
        self.restore_folder = menu.addAction("To another folder…")
        self.save_copy = menu.addAction("Save a copy of this file as…")
        self.restore_original.triggered.connect(lambda: self._restore(original=True))
        self.restore_folder.triggered.connect(lambda: self._restore(original=False))
        self.save_copy.triggered.connect(self._save_copy)
        self.restore_btn.setMenu(menu)
        self.unlock_btn = QPushButton("Unlock to browse")
        self.unlock_btn.clicked.connect(lambda: self.service.ensure_open(self.reload))
        self.status = QLabel("")
        self.status.setWordWrap(True)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Backups</b>"))
        ll.addWidget(self.snapshots)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QLabel("<b>Files</b>"))
        rl.addWidget(self.tree)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.unlock_btn)
        buttons.addWidget(self.restore_btn)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Versions"))
        layout.addWidget(hint("Pick a backup on the left, then the files or folders to get back."))
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self._snapshots: list[SnapshotInfo] = []
        self._generation = 0
        self.tree_snapshot = ""  # the snapshot whose files the tree shows
        self.vaults.openedChanged.connect(lambda _: self.reload())
        service.jobFinished.connect(self._job_finished)
        self.reload()

    # -- loading ---------------------------------------------------------------------

    def reload(self) -> None:
        self.unlock_btn.setVisible(not self.vaults.is_open)
        if not self.vaults.is_open:
            self.snapshots.clear()
            self.model.removeRows(0, self.model.rowCount())
            self.status.setText("Your backup is locked.")
            return
        self.status.setText("")
        self.vaults.snapshots(self._got_snapshots)

    def _job_finished(self, outcome: JobOutcome[object], _record: object) -> None:
        if outcome.kind is JobKind.BACKUP:
            self.reload()
        elif outcome.kind is JobKind.RESTORE:
            self.status.setText(
                "Restore finished." if outcome.ok else f"Restore failed: {outcome.message}"
            )

    def _got_snapshots(self, outcome: JobOutcome[list[SnapshotInfo]]) -> None:
        if not outcome.ok:
            self.status.setText(outcome.message)
            return
        # Follow new backups when the newest one was shown; else keep the choice.
        current = self.current_snapshot() if self.snapshots.currentRow() > 0 else None
        self._snapshots = list(reversed(outcome.value))  # newest first
        self.snapshots.blockSignals(True)
        self.snapshots.clear()
        select = 0
        for i, snap in enumerate(self._snapshots):
            item = QListWidgetItem(
                f"{fmt.stamp(snap.time)}\n{fmt.count(snap.files, 'file')}, {fmt.size(snap.bytes)}"
            )
            item.setData(Qt.ItemDataRole.UserRole, snap.id)
            item.setToolTip(f"{snap.short_id} from {snap.hostname}")
            self.snapshots.addItem(item)
            if current is not None and snap.id == current.id:
                select = i
        if self._snapshots:
            self.snapshots.setCurrentRow(select)
        self.snapshots.blockSignals(False)
        if not self._snapshots:
            self.status.setText("No backups yet.")
        shown = self.current_snapshot()
        if shown is None or shown.id != self.tree_snapshot:
            self._load_tree()

    def current_snapshot(self) -> SnapshotInfo | None:
        row = self.snapshots.currentRow()
        if 0 <= row < len(self._snapshots):
            return self._snapshots[row]
        return None

    def _load_tree(self) -> None:
        self._generation += 1
        self.model.removeRows(0, self.model.rowCount())
        snap = self.current_snapshot()
        self.tree_snapshot = snap.id if snap else ""
        if snap is None:
            return
        for path in snap.paths:
            name = path.rstrip("/").rsplit("/", 1)[-1] or path
            item = self._row(self.model.invisibleRootItem(), name, path, EntryType.DIR, None)
            item.setToolTip(path)

    def _row(
        self,
        parent: QStandardItem,
        name: str,
        path: str,
        kind: EntryType,
        entry: Entry | None,
    ) -> QStandardItem:
        style = self.style()
        icon = style.standardIcon(
            QStyle.StandardPixmap.SP_DirIcon
            if kind is EntryType.DIR
            else QStyle.StandardPixmap.SP_FileIcon
        )
        item = QStandardItem(icon, name)
        item.setData(path, PATH_ROLE)
        item.setData(kind.value, TYPE_ROLE)
        size = QStandardItem(fmt.size(entry.size) if entry and kind is EntryType.FILE else "")
        mtime = QStandardItem(fmt.stamp(entry.mtime) if entry else "")
        size.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        parent.appendRow([item, size, mtime])
        if kind is EntryType.DIR:
            item.setData(False, LOADED_ROLE)
            item.appendRow([QStandardItem("Loading…"), QStandardItem(), QStandardItem()])
        return item

    def _expand(self, index: QModelIndex) -> None:
        item = self.model.itemFromIndex(index.siblingAtColumn(0))
        if item is None or item.data(LOADED_ROLE):
            return
        snap = self.current_snapshot()
        if snap is None:
            return
        item.setData(True, LOADED_ROLE)
        path = str(item.data(PATH_ROLE))
        # The tree may be rebuilt before the answer comes: hold a persistent index,
        # not the item, and drop the answer if it no longer belongs.
        target = QPersistentModelIndex(item.index())
        generation = self._generation

        def done(outcome: JobOutcome[list[Entry]]) -> None:
            if generation != self._generation or not target.isValid():
                return
            parent = self.model.itemFromIndex(self.model.index(target.row(), 0, target.parent()))
            if parent is not None:
                self._fill(parent, outcome)

        self.vaults.list_dir(snap.id, path, done)

    def _fill(self, item: QStandardItem, outcome: JobOutcome[list[Entry]]) -> None:
        item.removeRows(0, item.rowCount())
        if not outcome.ok:
            item.appendRow(QStandardItem(outcome.message))
            return
        entries: list[Entry] = sorted(
            outcome.value, key=lambda e: (e.type is not EntryType.DIR, e.name.lower())
        )
        for e in entries:
            self._row(item, e.name, e.path, e.type, e)

    # -- restoring -------------------------------------------------------------------

    def selected_paths(self) -> list[tuple[str, str]]:
        out = []
        for index in self.tree.selectionModel().selectedRows(0):
            item = self.model.itemFromIndex(index)
            if item is not None and item.data(PATH_ROLE):
                out.append((str(item.data(PATH_ROLE)), str(item.data(TYPE_ROLE))))
        return out

    def _selection(self) -> None:
        sel = self.selected_paths()
        self.restore_btn.setEnabled(bool(sel))
        self.save_copy.setEnabled(len(sel) == 1 and sel[0][1] == EntryType.FILE.value)

    def _restore(self, original: bool) -> None:
        snap = self.current_snapshot()
        paths = [p for p, _ in self.selected_paths()]
        if snap is None or not paths:
            return
        target = "/"
        if not original:
            target = QFileDialog.getExistingDirectory(self, "Restore into which folder?")
            if not target:
                return
        if self.vaults.restore(snap.id, target, paths) is None:
            self.status.setText("Another job is running; try again when it has finished.")
        else:
            where = "their original places" if original else target
            self.status.setText(f"Restoring {fmt.count(len(paths), 'item')} to {where}…")

    def _save_copy(self) -> None:
        snap = self.current_snapshot()
        sel = self.selected_paths()
        if snap is None or len(sel) != 1:
            return
        path = sel[0][0]
        dest, _ = QFileDialog.getSaveFileName(self, "Save a copy as", path.rsplit("/", 1)[-1])
        if dest:
            self.vaults.restore_file(snap.id, path, dest, self._copied)

    def _copied(self, outcome: JobOutcome[str]) -> None:
        self.status.setText(
            f"Saved {outcome.result}." if outcome.ok else f"Could not restore: {outcome.message}"
        )
