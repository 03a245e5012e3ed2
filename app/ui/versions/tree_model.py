"""The merged tree of every file ever backed up, as a lazy ``QAbstractItemModel``.

Rows are plain :class:`BrowseEntry` records. A folder's rows are asked of the
browser service when the view first wants them (``fetchMore``), arrive on the GUI
thread already sorted, and are inserted in batches of ``BATCH`` as the view
scrolls: a folder of 100,000 files never becomes 100,000 widgets or one long
insert. The same model shows three views: every backup merged (deleted files
optionally), one backup (the timeline), and search results (matches and their
folders only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractItemModel,
    QCoreApplication,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QFileIconProvider

from app.core.browse import ROOT_NODE, BrowseEntry, SearchResult
from app.services.browser import BrowserService
from app.services.jobs import JobOutcome
from app.ui import fmt

BATCH = 500
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex
_NO_INDEX = QModelIndex()  # the invisible root, as a default argument
Stager = Callable[[list[tuple[str, str]]], list[Path]]


@dataclass(eq=False)
class _Item:
    entry: BrowseEntry | None  # None for the invisible root
    parent: _Item | None
    row: int = 0
    children: list[_Item] = field(default_factory=list)
    buffered: list[BrowseEntry] = field(default_factory=list)  # fetched, not yet inserted
    requested: bool = False
    loaded: bool = False
    error: str = ""

    @property
    def node(self) -> int:
        return ROOT_NODE if self.entry is None else self.entry.node


class _Icons:
    """Folder and file icons, made once (QFileIconProvider is slow per call)."""

    def __init__(self) -> None:
        provider = QFileIconProvider()
        self.folder = provider.icon(QFileIconProvider.IconType.Folder)
        self.file = provider.icon(QFileIconProvider.IconType.File)


@dataclass(frozen=True, slots=True)
class View:
    """What the tree shows: all backups merged (``as_of`` None) or one backup."""

    as_of: int | None = None
    show_deleted: bool = False
    search: SearchResult | None = None


class VersionTreeModel(QAbstractItemModel):
    HEADERS = (
        QT_TRANSLATE_NOOP("VersionTreeModel", "Name"),
        QT_TRANSLATE_NOOP("VersionTreeModel", "Size"),
        QT_TRANSLATE_NOOP("VersionTreeModel", "Modified"),
    )
    childrenLoaded = Signal(int)  # node id whose rows arrived
    loadFailed = Signal(str)

    def __init__(self, browser: BrowserService, stage: Stager, parent: QObject | None = None):
        super().__init__(parent)
        self.browser = browser
        self._stage = stage
        self.view = View()
        self._root = _Item(None, None)
        self._by_node: dict[int, _Item] = {ROOT_NODE: self._root}
        self._generation = 0
        self._icons: _Icons | None = None
        self._grey = QBrush(QColor(128, 128, 128))

    # -- views -----------------------------------------------------------------------

    def set_view(self, view: View) -> None:
        """Show another view; rows are fetched again as the view asks for them."""
        self.beginResetModel()
        self.view = view
        self._generation += 1
        self._root = _Item(None, None)
        self._by_node = {ROOT_NODE: self._root}
        if view.search is not None:
            self._fill_from(view.search)
        self.endResetModel()

    def _fill_from(self, result: SearchResult) -> None:
        """Search results come with every row to show: no listing per folder."""
        stack = [self._root]
        while stack:
            item = stack.pop()
            item.requested = item.loaded = True
            for row, entry in enumerate(result.rows.get(item.node, ())):
                child = _Item(entry, item, row=row)
                item.children.append(child)
                self._by_node[entry.node] = child
                if entry.is_dir:
                    stack.append(child)
                else:
                    child.requested = child.loaded = True

    def reload(self) -> None:
        self.set_view(self.view)

    # -- structure --------------------------------------------------------------------

    def _item(self, index: AnyIndex) -> _Item:
        if not index.isValid():
            return self._root
        item = self._by_node.get(int(index.internalId()))
        return item if item is not None else self._root

    def index(self, row: int, column: int, parent: AnyIndex = _NO_INDEX) -> QModelIndex:
        item = self._item(parent)
        if 0 <= row < len(item.children) and 0 <= column < len(self.HEADERS):
            return self.createIndex(row, column, item.children[row].node)
        return QModelIndex()

    def parent(self, index: AnyIndex = _NO_INDEX) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        item = self._item(index).parent
        if item is None or item is self._root:
            return QModelIndex()
        return self.createIndex(item.row, 0, item.node)

    def index_of(self, node: int) -> QModelIndex:
        item = self._by_node.get(node)
        if item is None or item is self._root:
            return QModelIndex()
        return self.createIndex(item.row, 0, node)

    def rowCount(self, parent: AnyIndex = _NO_INDEX) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._item(parent).children)

    def columnCount(self, parent: AnyIndex = _NO_INDEX) -> int:
        return len(self.HEADERS)

    def hasChildren(self, parent: AnyIndex = _NO_INDEX) -> bool:
        item = self._item(parent)
        if item is self._root:
            return True
        if item.entry is None or not item.entry.is_dir:
            return False
        return not item.loaded or bool(item.children) or bool(item.buffered)

    def canFetchMore(self, parent: AnyIndex) -> bool:
        if not self.browser.ready:
            return False
        item = self._item(parent)
        if item is not self._root and (item.entry is None or not item.entry.is_dir):
            return False
        return not item.requested or bool(item.buffered)

    def fetchMore(self, parent: AnyIndex) -> None:
        item = self._item(parent)
        if item.buffered:
            self._insert(item, BATCH)
            return
        if item.requested:
            return
        item.requested = True
        generation = self._generation
        node = item.node
        view = self.view

        def done(outcome: JobOutcome[list[BrowseEntry]]) -> None:
            if generation != self._generation:
                return  # the view changed meanwhile
            target = self._by_node.get(node)
            if target is None:
                return
            self._arrived(target, outcome, view)

        only = view.search.visible if view.search is not None else None
        self.browser.list_children(
            node,
            view.as_of,
            view.show_deleted,
            done,
            only,
            wanted=lambda: generation == self._generation,  # an int read: thread-safe
        )

    def fetch_all(self, parent: AnyIndex) -> None:
        """Insert every fetched row now (to select one deep in a long folder)."""
        item = self._item(parent)
        if item.buffered:
            self._insert(item, len(item.buffered))

    def adopt(self, node: int, rows: list[BrowseEntry], view: View) -> bool:
        """Take folder ``node``'s rows fetched with another answer (a located path's
        folders); False when the view changed meanwhile, or the folder is not shown
        or was asked for already."""
        item = self._by_node.get(node)
        if view != self.view or item is None or item.requested:
            return False
        if item is not self._root and (item.entry is None or not item.entry.is_dir):
            return False
        item.requested = True
        self._arrived(item, rows, view)
        return True

    def requested_nodes(self) -> frozenset[int]:
        """Folders whose rows this view has or asked for (a located path need not list them)."""
        return frozenset(node for node, item in self._by_node.items() if item.requested)

    def _arrived(
        self, item: _Item, outcome: JobOutcome[list[BrowseEntry]] | list[BrowseEntry], view: View
    ) -> None:
        """A folder's rows (or the failure to list it) arrived: insert the first batch."""
        item.loaded = True
        if isinstance(outcome, JobOutcome) and not outcome.ok:
            item.error = outcome.message
            self.loadFailed.emit(outcome.message)
        else:
            rows = outcome.value if isinstance(outcome, JobOutcome) else outcome
            if view.search is not None:
                rows = [e for e in rows if e.node in view.search.visible]
            item.buffered = rows
            self._insert(item, BATCH)
        if item is not self._root:
            index = self.index_of(item.node)
            self.dataChanged.emit(index, index)  # hasChildren may have changed
        self.childrenLoaded.emit(item.node)

    def _insert(self, item: _Item, count: int) -> None:
        batch, item.buffered = item.buffered[:count], item.buffered[count:]
        if not batch:
            return
        parent = QModelIndex() if item is self._root else self.index_of(item.node)
        first = len(item.children)
        self.beginInsertRows(parent, first, first + len(batch) - 1)
        for offset, entry in enumerate(batch):
            child = _Item(entry, item, row=first + offset)
            item.children.append(child)
            self._by_node[entry.node] = child
        self.endInsertRows()

    def is_loaded(self, node: int) -> bool:
        item = self._by_node.get(node)
        return item is not None and item.loaded

    # -- data -------------------------------------------------------------------------

    def entry(self, index: AnyIndex) -> BrowseEntry | None:
        return self._item(index).entry if index.isValid() else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self.entry(index)
        if entry is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return entry.name
            if column == 1:
                return "" if entry.is_dir else fmt.size(entry.size)
            if entry.deleted_at is not None:
                return self.tr("Deleted {time}").format(time=_short(entry.deleted_at))
            return _short(entry.mtime) if entry.mtime and not entry.is_dir else ""
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            if self._icons is None:
                self._icons = _Icons()
            return self._icons.folder if entry.is_dir else self._icons.file
        if role == Qt.ItemDataRole.ForegroundRole and entry.deleted:
            return self._grey
        if role == Qt.ItemDataRole.ToolTipRole:
            if entry.deleted_at is not None:
                return self.tr("{path}\nDeleted: no longer in the backup of {time}").format(
                    path=entry.path, time=fmt.stamp(entry.deleted_at)
                )
            return entry.path
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == ENTRY_ROLE:
            return entry
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("VersionTreeModel", str(self.HEADERS[section]))
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        )

    # -- drag out ---------------------------------------------------------------------

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        """The dragged items as they were in the shown view's backup, as local files."""
        items: list[tuple[str, str]] = []
        for index in indexes:
            entry = self.entry(index)
            if (
                entry is not None
                and index.column() == 0
                and (entry.path, entry.snapshot) not in items
            ):
                items.append((entry.path, entry.snapshot))
        return files_mime(self._stage(items))


def _short(when: datetime) -> str:
    """'24 Nov 2026 14:05': the tree's narrow Modified column (tooltips say more)."""
    return fmt.local(when).strftime("%d %b %Y %H:%M")


def files_mime(paths: list[Path]) -> QMimeData:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return data
