"""Activity log: past runs, newest first, with the files each one skipped."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.services.backups import BackupService, State
from app.store.history import JobRecord, JobStatus
from app.ui import fmt, icons
from app.ui.overview import describe_result
from app.ui.widgets import heading

STATUS_ICON = {
    JobStatus.OK: State.UP_TO_DATE,
    JobStatus.WARNINGS: State.WARNING,
    JobStatus.FAILED: State.ERROR,
    JobStatus.CANCELLED: State.PAUSED,
}


class ActivityPage(QWidget):
    def __init__(self, service: BackupService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tree = QTreeWidget()
        self.tree.setAccessibleName(self.tr("Backups and restores"))
        self.tree.setHeaderLabels(
            [self.tr("When"), self.tr("What"), self.tr("Took"), self.tr("Result")]
        )
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for col in (0, 1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Activity")))
        layout.addWidget(self.tree, 1)
        service.jobFinished.connect(lambda *_: self.reload())
        self.reload()

    def reload(self) -> None:
        self.tree.clear()
        for rec in self.service.history.recent(200):
            self.tree.addTopLevelItem(self._item(rec))

    def _kind(self, kind: str) -> str:
        texts = {
            "backup": self.tr("Backup"),
            "restore": self.tr("Restore"),
            "check": self.tr("Check"),
            "forget": self.tr("Clean-up"),
        }
        return texts.get(kind, kind.title())

    def _item(self, rec: JobRecord) -> QTreeWidgetItem:
        item = QTreeWidgetItem(
            [
                fmt.stamp(rec.finished),
                self._kind(rec.kind),
                fmt.duration(rec.duration_s),
                describe_result(rec) if rec.kind == "backup" else (rec.message or self.tr("Done")),
            ]
        )
        item.setIcon(0, icons.state_icon(STATUS_ICON[rec.status]))
        item.setToolTip(3, rec.message or item.text(3))
        for w in rec.warnings:
            child = QTreeWidgetItem(["", "", "", f"{w.path}: {w.message}"])
            child.setToolTip(3, f"{w.path}\n{w.message}")
            item.addChild(child)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        return item
