"""Folders: what to back up and what to skip; changes apply from the next backup.

A chosen folder that is not there (renamed, deleted, on an unplugged drive) is
marked in the list and gets a row of its own with "Locate…" (pick where it is
now) and "Remove" (stop backing it up), both saved at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.services.backups import BackupService
from app.store.settings import Settings
from app.ui.widgets import FolderListEditor, heading, hint

MISSING_ROLE = Qt.ItemDataRole.UserRole + 1


class MissingFolderRow(QWidget):
    """ "Pictures is missing" with Locate… and Remove."""

    def __init__(self, folder: str, page: FoldersPage) -> None:
        super().__init__()
        self.folder = folder
        icon = QLabel()
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(20, 20)
        )
        name = Path(folder).name or folder
        self.label = QLabel(
            self.tr("<b>{name}</b> is missing ({folder})").format(name=name, folder=folder)
        )
        self.label.setWordWrap(True)
        self.locate = QPushButton(self.tr("Locate…"))
        self.locate.setAccessibleName(self.tr("Locate {name}").format(name=name))
        self.remove = QPushButton(self.tr("Remove"))
        self.remove.setAccessibleName(self.tr("Stop backing up {name}").format(name=name))
        self.locate.clicked.connect(lambda: page.locate(folder))
        self.remove.clicked.connect(lambda: page.remove_missing(folder))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(icon)
        row.addWidget(self.label, 1)
        row.addWidget(self.locate)
        row.addWidget(self.remove)


class FoldersPage(QWidget):
    def __init__(self, service: BackupService, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.home = home
        # Replaced in tests; returns "" when the user cancels.
        self.choose_folder: Callable[[str], str] = self._ask_folder
        self.editor = FolderListEditor(home)
        self.save = QPushButton(self.tr("Save changes"))
        self.revert = QPushButton(self.tr("Undo changes"))
        self.state = QLabel("")
        self.save.clicked.connect(self._save)
        self.revert.clicked.connect(lambda: self.load(service.settings))
        self.editor.changed.connect(self._dirty)
        buttons = QHBoxLayout()
        buttons.addWidget(self.state, 1)
        buttons.addWidget(self.revert)
        buttons.addWidget(self.save)
        self.missing_box = QVBoxLayout()
        self.missing_rows: list[MissingFolderRow] = []
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Folders")))
        layout.addWidget(
            hint(self.tr("Changes apply from the next backup. Earlier backups keep what they had."))
        )
        layout.addLayout(self.missing_box)
        layout.addWidget(self.editor, 1)
        layout.addLayout(buttons)
        service.settingsChanged.connect(self.load)
        service.statusChanged.connect(lambda _: self.mark_missing())
        self.load(service.settings)

    def load(self, settings: Settings) -> None:
        self.editor.set_folders(settings.folders)
        self.editor.set_excludes(settings.excludes)
        self._dirty()
        self.mark_missing()

    def mark_missing(self) -> None:
        """Mark the list's missing folders and show one row of actions for each."""
        missing = self.service.missing_folders()
        if [r.folder for r in self.missing_rows] != missing:
            for row in self.missing_rows:
                self.missing_box.removeWidget(row)
                row.deleteLater()
            self.missing_rows = [MissingFolderRow(f, self) for f in missing]
            for row in self.missing_rows:
                self.missing_box.addWidget(row)
        style = self.style()
        warn = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        folder_icon = style.standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        dim = QBrush(self.palette().color(QPalette.ColorRole.PlaceholderText))
        normal = QBrush(self.palette().color(QPalette.ColorRole.Text))
        for i in range(self.editor.list.count()):
            item = self.editor.list.item(i)
            gone = item.text() in missing
            item.setData(MISSING_ROLE, gone)
            item.setIcon(warn if gone else folder_icon)
            item.setForeground(dim if gone else normal)
            item.setToolTip(f"{item.text()} (missing)" if gone else item.text())

    def is_marked_missing(self, folder: str) -> bool:
        for i in range(self.editor.list.count()):
            item = self.editor.list.item(i)
            if item.text() == folder:
                return bool(item.data(MISSING_ROLE))
        return False

    def _ask_folder(self, folder: str) -> str:
        start = Path(folder).parent
        return QFileDialog.getExistingDirectory(
            self,
            self.tr("Where is {name} now?").format(name=Path(folder).name),
            str(start if start.is_dir() else self.home),
        )

    def locate(self, folder: str) -> None:
        """Back up the folder from where it is now (saved at once)."""
        new = self.choose_folder(folder)
        if not new:
            return
        folders = tuple(new if f == folder else f for f in self.service.settings.folders)
        folders = tuple(dict.fromkeys(folders))  # picked one already in the list
        self.service.update_settings(self.service.settings.with_(folders=folders))
        self.state.setText(
            self.tr("{name} will be backed up from {path}.").format(name=Path(new).name, path=new)
        )

    def remove_missing(self, folder: str) -> None:
        """Stop backing up a folder that is gone (earlier backups keep it)."""
        folders = tuple(f for f in self.service.settings.folders if f != folder)
        if not folders:
            self.state.setText(self.tr("Choose at least one folder."))
            return
        self.service.update_settings(self.service.settings.with_(folders=folders))
        self.state.setText(self.tr("{name} is no longer backed up.").format(name=Path(folder).name))

    def _dirty(self) -> None:
        s = self.service.settings
        dirty = tuple(self.editor.folders()) != s.folders or tuple(
            self.editor.exclude_patterns()
        ) != tuple(s.excludes)
        self.save.setEnabled(dirty and bool(self.editor.folders()))
        self.revert.setEnabled(dirty)
        self.state.setText("")
        if dirty and not self.editor.folders():
            self.state.setText(self.tr("Choose at least one folder."))

    def _save(self) -> None:
        self.service.update_settings(
            self.service.settings.with_(
                folders=tuple(self.editor.folders()),
                excludes=tuple(self.editor.exclude_patterns()),
            )
        )
