"""Folders: what to back up and what to skip; changes apply from the next backup."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.services.backups import BackupService
from app.store.settings import Settings
from app.ui.widgets import FolderListEditor, heading, hint


class FoldersPage(QWidget):
    def __init__(self, service: BackupService, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.editor = FolderListEditor(home)
        self.save = QPushButton("Save changes")
        self.revert = QPushButton("Undo changes")
        self.state = QLabel("")
        self.save.clicked.connect(self._save)
        self.revert.clicked.connect(lambda: self.load(service.settings))
        self.editor.changed.connect(self._dirty)
        buttons = QHBoxLayout()
        buttons.addWidget(self.state, 1)
        buttons.addWidget(self.revert)
        buttons.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Folders"))
        layout.addWidget(
            hint("Changes apply from the next backup. Earlier backups keep what they had.")
        )
        layout.addWidget(self.editor, 1)
        layout.addLayout(buttons)
        service.settingsChanged.connect(self.load)
        self.load(service.settings)

    def load(self, settings: Settings) -> None:
        self.editor.set_folders(settings.folders)
        self.editor.set_excludes(settings.excludes)
        self._dirty()

    def _dirty(self) -> None:
        s = self.service.settings
        dirty = tuple(self.editor.folders()) != s.folders or tuple(
            self.editor.exclude_patterns()
        ) != tuple(s.excludes)
        self.save.setEnabled(dirty and bool(self.editor.folders()))
        self.revert.setEnabled(dirty)
        self.state.setText("" if dirty or not s.folders else "")
        if dirty and not self.editor.folders():
            self.state.setText("Choose at least one folder.")

    def _save(self) -> None:
        self.service.update_settings(
            self.service.settings.with_(
                folders=tuple(self.editor.folders()),
                excludes=tuple(self.editor.exclude_patterns()),
            )
        )
