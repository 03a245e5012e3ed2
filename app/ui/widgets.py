"""Editors shared by the wizard and the main window: folders + exclusions, schedule."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTime, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.store.settings import Schedule, ScheduleMode


def hint(text: str) -> QLabel:
    """A secondary explanatory line in the palette's placeholder colour."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    font = label.font()
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.92))
    label.setFont(font)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return label


def heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.35)
    font.setBold(True)
    label.setFont(font)
    return label


def suggested_folders(home: Path) -> list[str]:
    """Pictures and Documents (and their localised XDG names) when they exist."""
    found: list[str] = []
    for name in ("Pictures", "Documents", "Photos", "Desktop"):
        p = home / name
        if p.is_dir() and name != "Desktop":
            found.append(str(p))
    return found


class FolderListEditor(QWidget):
    """Folders to back up (add/remove) and exclusion patterns (one per line)."""

    changed = Signal()

    def __init__(self, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home = home
        self.list = QListWidget()
        self.list.setAccessibleName(self.tr("Folders to back up"))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setMinimumHeight(110)
        add = QPushButton(self.tr("Add folder…"))
        add.clicked.connect(self._add)
        self.remove = QPushButton(self.tr("Remove"))
        self.remove.setEnabled(False)
        self.remove.clicked.connect(self._remove)
        self.list.itemSelectionChanged.connect(
            lambda: self.remove.setEnabled(bool(self.list.selectedItems()))
        )
        buttons = QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(buttons)

        self.excludes = QPlainTextEdit()
        self.excludes.setAccessibleName(self.tr("Patterns to skip, one per line"))
        self.excludes.setPlaceholderText(self.tr("**/cache"))
        self.excludes.setTabChangesFocus(True)
        self.excludes.setMaximumHeight(96)
        self.excludes.textChanged.connect(self.changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("<b>Folders to back up</b>")))
        layout.addLayout(row)
        layout.addSpacing(6)
        layout.addWidget(QLabel(self.tr("<b>Skip</b> (one pattern per line)")))
        layout.addWidget(self.excludes)
        layout.addWidget(
            hint(self.tr("Caches, temporary files and trash folders are skipped by default."))
        )

    def set_folders(self, folders: list[str] | tuple[str, ...]) -> None:
        self.list.clear()
        for f in folders:
            self._append(f)
        self.changed.emit()

    def _append(self, folder: str) -> None:
        if folder in self.folders():
            return
        item = QListWidgetItem(folder)
        item.setToolTip(folder)
        self.list.addItem(item)

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def set_excludes(self, patterns: list[str] | tuple[str, ...]) -> None:
        self.excludes.setPlainText("\n".join(patterns))

    def exclude_patterns(self) -> list[str]:
        return [line.strip() for line in self.excludes.toPlainText().splitlines() if line.strip()]

    def add_folder(self, folder: str) -> None:
        self._append(folder)
        self.changed.emit()

    def _add(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose a folder to back up"), str(self._home)
        )
        if folder:
            self.add_folder(folder)

    def _remove(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.changed.emit()


class ScheduleEditor(QWidget):
    """Manual, every hour, every N hours, or daily at a time."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = QButtonGroup(self)
        self.hourly = QRadioButton(self.tr("Every hour (recommended)"))
        self.every = QRadioButton(self.tr("Every"))
        self.daily = QRadioButton(self.tr("Every day at"))
        self.manual = QRadioButton(self.tr("Only when I press Back up now"))
        self.hours = QSpinBox()
        self.hours.setAccessibleName(self.tr("Hours between backups"))
        self.hours.setRange(2, 24)
        self.hours.setSuffix(self.tr(" hours"))
        self.time = QTimeEdit()
        self.time.setAccessibleName(self.tr("Time of the daily backup"))
        self.time.setDisplayFormat("HH:mm")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hourly)
        for radio, extra in ((self.every, self.hours), (self.daily, self.time)):
            row = QHBoxLayout()
            row.addWidget(radio)
            row.addWidget(extra)
            row.addStretch(1)
            layout.addLayout(row)
        layout.addWidget(self.manual)
        for i, radio in enumerate((self.hourly, self.every, self.daily, self.manual)):
            self.group.addButton(radio, i)
        self.group.idToggled.connect(self._toggled)
        self.hours.valueChanged.connect(lambda _: self.changed.emit())
        self.time.timeChanged.connect(lambda _: self.changed.emit())
        self.set_schedule(Schedule())

    def _toggled(self, _id: int, checked: bool) -> None:
        self.hours.setEnabled(self.every.isChecked())
        self.time.setEnabled(self.daily.isChecked())
        if checked:
            self.changed.emit()

    def set_schedule(self, schedule: Schedule) -> None:
        radio = {
            ScheduleMode.HOURLY: self.hourly,
            ScheduleMode.EVERY_N_HOURS: self.every,
            ScheduleMode.DAILY: self.daily,
            ScheduleMode.MANUAL: self.manual,
        }[schedule.mode]
        self.hours.setValue(max(2, schedule.every_hours))
        t = QTime.fromString(schedule.daily_at, "HH:mm")
        self.time.setTime(t if t.isValid() else QTime(12, 0))
        radio.setChecked(True)
        self._toggled(0, False)

    def schedule(self) -> Schedule:
        mode = [
            ScheduleMode.HOURLY,
            ScheduleMode.EVERY_N_HOURS,
            ScheduleMode.DAILY,
            ScheduleMode.MANUAL,
        ][max(0, self.group.checkedId())]
        return Schedule(
            mode=mode, every_hours=self.hours.value(), daily_at=self.time.time().toString("HH:mm")
        )


def separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line
