"""The selected file's distinct versions, newest first (or a folder's backups)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from app.core.browse import History
from app.core.models import Change, FileVersion
from app.ui import fmt
from app.ui.versions.tree_model import files_mime

AnyIndex = QModelIndex | QPersistentModelIndex
_NO_INDEX = QModelIndex()  # the invisible root, as a default argument
Stager = Callable[[list[tuple[str, str]]], list[Path]]

# Translated where shown (QT_TRANSLATE_NOOP marks them for lupdate).
CHANGE_WORDS = {
    Change.ADDED: QT_TRANSLATE_NOOP("HistoryModel", "Added"),
    Change.CHANGED: QT_TRANSLATE_NOOP("HistoryModel", "Changed"),
    Change.UNCHANGED: QT_TRANSLATE_NOOP("HistoryModel", "Unchanged"),
    Change.DELETED: QT_TRANSLATE_NOOP("HistoryModel", "Deleted"),
}


class HistoryModel(QAbstractTableModel):
    HEADERS = (
        QT_TRANSLATE_NOOP("HistoryModel", "Backed up"),
        QT_TRANSLATE_NOOP("HistoryModel", "Size"),
        QT_TRANSLATE_NOOP("HistoryModel", "Modified"),
        QT_TRANSLATE_NOOP("HistoryModel", "What changed"),
    )

    def __init__(self, stage: Stager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stage = stage
        self.history: History | None = None
        self.rows: list[FileVersion] = []
        self._grey = QBrush(QColor(128, 128, 128))
        self._same_minute: set[str] = set()  # backup times shown with their seconds

    def set_history(self, history: History | None) -> None:
        self.beginResetModel()
        self.history = history
        self.rows = history.versions if history is not None else []
        # Two backups made in the same minute would read alike: those show seconds.
        counts = Counter(fmt.stamp(v.time) for v in self.rows)
        self._same_minute = {minute for minute, n in counts.items() if n > 1}
        self.endResetModel()

    def backed_up(self, v: FileVersion) -> str:
        text = fmt.stamp(v.time)
        return fmt.stamp(v.time, seconds=True) if text in self._same_minute else text

    def version(self, index: AnyIndex) -> FileVersion | None:
        if index.isValid() and 0 <= index.row() < len(self.rows):
            return self.rows[index.row()]
        return None

    def rowCount(self, parent: AnyIndex = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        v = self.version(index)
        if v is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return self.backed_up(v)
            if v.change is Change.DELETED:
                return "" if column < 3 else self.tr("Deleted")
            if column == 1:
                return "" if self.history and self.history.is_dir else fmt.size(v.size)
            if column == 2:
                return (
                    fmt.stamp(v.mtime)
                    if v.mtime and not (self.history and self.history.is_dir)
                    else ""
                )
            return QCoreApplication.translate("HistoryModel", str(CHANGE_WORDS[v.change]))
        if role == Qt.ItemDataRole.ForegroundRole and v.change is Change.DELETED:
            return self._grey
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tr("Backup {id} of {time}").format(
                id=v.snapshot[:8], time=fmt.stamp(v.time, seconds=True)
            )
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("HistoryModel", str(self.HEADERS[section]))
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        v = self.version(index)
        if v is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if v.change is not Change.DELETED:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        return flags

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        """The chosen versions' bytes, under the file's own name (a folder's: its files)."""
        if self.history is None:
            return files_mime([])
        items: list[tuple[str, str]] = []
        for index in indexes:
            v = self.version(index)
            if v is not None and v.change is not Change.DELETED:
                item = (self.history.path, v.snapshot)
                if item not in items:
                    items.append(item)
        return files_mime(self._stage(items))
