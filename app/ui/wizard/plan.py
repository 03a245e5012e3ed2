"""What and when: the folders to back up, the schedule, and the summary before Finish."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QVBoxLayout,
    QWizardPage,
)

from app.store.settings import DEFAULT_EXCLUDES
from app.ui import fmt
from app.ui.widgets import FolderListEditor, ScheduleEditor, suggested_folders
from app.ui.wizard.base import PageId, WizardBase


class FoldersPage(QWizardPage):
    def __init__(self, home: Path) -> None:
        super().__init__()
        self.setTitle(self.tr("What should Keepsake back up?"))
        self.setSubTitle(
            self.tr("Pictures and Documents are a good start. You can change this later.")
        )
        self.editor = FolderListEditor(home)
        self.editor.set_folders(suggested_folders(home))
        self.editor.set_excludes(DEFAULT_EXCLUDES)
        self.editor.changed.connect(self.completeChanged)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor)

    def isComplete(self) -> bool:
        return bool(self.editor.folders())

    def nextId(self) -> int:
        return PageId.SCHEDULE


class SchedulePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("How often?"))
        self.setSubTitle(
            self.tr(
                "Backups run in the background and only send what changed. If the computer is "
                "off or asleep at the time, the backup runs soon after it wakes up."
            )
        )
        self.editor = ScheduleEditor()
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor)
        layout.addStretch(1)

    def nextId(self) -> int:
        return PageId.DONE


class DonePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("All set"))
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.restore_all = QCheckBox(self.tr("Restore all files from the latest backup now"))
        self.restore_all.setChecked(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addSpacing(8)
        layout.addWidget(self.restore_all)
        layout.addStretch(1)

    def initializePage(self) -> None:
        wiz = self.wizard()
        assert isinstance(wiz, WizardBase)
        folders = "".join(f"<li>{f}</li>" for f in wiz.chosen_folders())
        sched = fmt.schedule(wiz.chosen_schedule())
        if wiz.restoring:
            self.setSubTitle(self.tr("Your backup is unlocked on this computer."))
            text = self.tr(
                "<p>Backup: <b>{where}</b></p>"
                "<p>From now on Keepsake backs up:</p><ul>{folders}</ul>"
                "<p>Schedule: {schedule}.</p>"
                "<p>Restored files go back to their original places; files already there "
                "are replaced by the backed-up version. To pick single files instead, "
                "clear the box below and use <b>Versions</b>.</p>"
            ).format(where=wiz.where(), folders=folders, schedule=sched)
        else:
            self.setSubTitle(self.tr("Press Finish to start your first backup."))
            text = self.tr(
                "<p>Backup: <b>{where}</b></p><p>Folders:</p><ul>{folders}</ul>"
                "<p>Schedule: {schedule}.</p>"
                "<p>The first backup copies everything and can take a while; Keepsake "
                "works in the background and you can close the window.</p>"
            ).format(where=wiz.where(), folders=folders, schedule=sched)
        self.summary.setText(text)
        self.restore_all.setVisible(wiz.restoring)

    def nextId(self) -> int:
        return -1  # the last page, whatever ids come after DONE (QWizard's default)
