"""Overview: state, last and next backup, vault size, live progress, and the buttons."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.core.events import Progress
from app.core.models import VaultStats
from app.services import damage
from app.services.backups import BackupService, State, Status
from app.services.jobs import JobOutcome
from app.store.history import JobRecord, JobStatus
from app.ui import fmt, icons
from app.ui.widgets import heading


class ElidedLabel(QLabel):
    """A one-line label that elides long paths in the middle instead of growing."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._full = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: object) -> None:
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        super().setText(
            metrics.elidedText(self._full, Qt.TextElideMode.ElideMiddle, max(20, self.width()))
        )


def describe_result(rec: JobRecord) -> str:
    if rec.status is JobStatus.FAILED:
        return QCoreApplication.translate("OverviewPage", "Failed: {reason}").format(
            reason=rec.message
        )
    if rec.status is JobStatus.CANCELLED:
        return QCoreApplication.translate("OverviewPage", "Cancelled")
    new = fmt.plural(
        rec.files_new,
        QCoreApplication.translate("OverviewPage", "{n} new file"),
        QCoreApplication.translate("OverviewPage", "{n} new files"),
    )
    changed = fmt.plural(
        rec.files_changed,
        QCoreApplication.translate("OverviewPage", "{n} changed file"),
        QCoreApplication.translate("OverviewPage", "{n} changed files"),
    )
    sent = QCoreApplication.translate("OverviewPage", "{size} sent").format(
        size=fmt.size(rec.bytes_uploaded)
    )
    parts = [f"{new}, {changed}", sent]
    if rec.status is JobStatus.WARNINGS:
        # The record says what was left out: skipped files, or a missing folder by name.
        skipped = fmt.plural(
            len(rec.warnings),
            QCoreApplication.translate("OverviewPage", "{n} file skipped"),
            QCoreApplication.translate("OverviewPage", "{n} files skipped"),
        )
        parts.append(rec.message.rstrip(".") or skipped)
    return "; ".join(parts)


class OverviewPage(QWidget):
    checkRequested = Signal()  # "Check backup…" beside a damaged backup

    def __init__(self, service: BackupService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.icon = QLabel()
        self.icon.setFixedSize(64, 64)
        self.headline = heading("")
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.addWidget(self.headline)
        texts.addWidget(self.detail)
        texts.addStretch(1)
        top.addLayout(texts, 1)

        self._damage_box()

        self.backup_btn = QPushButton(self.tr("Back up now"))
        self.backup_btn.setDefault(True)
        self.pause_btn = QPushButton(self.tr("Pause"))
        self.resume_btn = QPushButton(self.tr("Resume"))
        self.cancel_btn = QPushButton(self.tr("Cancel"))
        self.backup_btn.clicked.connect(service.back_up_now)
        self.pause_btn.clicked.connect(lambda: service.pause())
        self.resume_btn.clicked.connect(service.resume)
        self.cancel_btn.clicked.connect(service.cancel)
        buttons = QHBoxLayout()
        for b in (self.backup_btn, self.pause_btn, self.resume_btn, self.cancel_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)

        # live progress
        self.progress_box = QGroupBox(self.tr("Progress"))
        self.phase = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.files = QLabel("")
        self.bytes = QLabel("")
        self.current = ElidedLabel("")
        self.speed = QLabel("")
        self.eta = QLabel("")
        pform = QFormLayout()
        pform.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        pform.addRow(self.tr("Files:"), self.files)
        pform.addRow(self.tr("Data:"), self.bytes)
        pform.addRow(self.tr("Now:"), self.current)
        pform.addRow(self.tr("Speed:"), self.speed)
        pform.addRow(self.tr("Time left:"), self.eta)
        pl = QVBoxLayout(self.progress_box)
        pl.addWidget(self.phase)
        pl.addWidget(self.bar)
        pl.addLayout(pform)

        # facts
        self.facts_box = QGroupBox(self.tr("Backup"))
        self.last = QLabel("")
        self.last.setWordWrap(True)
        self.next = QLabel("")
        self.where = ElidedLabel("")
        self.vault_size = QLabel("—")
        form = QFormLayout(self.facts_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.tr("Last backup:"), self.last)
        form.addRow(self.tr("Next backup:"), self.next)
        form.addRow(self.tr("Stored in:"), self.where)
        form.addRow(self.tr("Vault size:"), self.vault_size)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.damaged_box)
        layout.addLayout(buttons)
        layout.addSpacing(4)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.facts_box)
        layout.addStretch(1)

        self._status: Status | None = None
        service.statusChanged.connect(self.show_status)
        service.progress.connect(self.show_progress)
        service.jobFinished.connect(lambda *_: self.refresh_stats())
        service.vaults.openedChanged.connect(lambda _: self.refresh_stats())
        # Relative times ("5 minutes ago") age: refresh them every 30 s.
        self._tick = QTimer(self)
        self._tick.setInterval(30_000)
        # A fresh status, not the last one: a drive plugged back in shows within 30 s.
        self._tick.timeout.connect(self._refresh)
        self._tick.start()
        self.show_status(service.status())

    def _damage_box(self) -> None:
        """Shown whenever the vault holds backups that cannot be read, whatever the
        headline says (a failed backup or a missing folder may be more urgent)."""
        self.damaged_box = QFrame()
        self.damaged_box.setObjectName("overviewDamaged")
        self.damaged_box.setFrameShape(QFrame.Shape.StyledPanel)
        icon = QLabel()
        warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        icon.setPixmap(warning.pixmap(32, 32))
        self.damaged_text = QLabel("")
        self.damaged_text.setWordWrap(True)
        self.damaged_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_damage_btn = QPushButton(self.tr("Check backup…"))
        self.check_damage_btn.setToolTip(self.tr("See which files the damage affects"))
        self.check_damage_btn.clicked.connect(self.checkRequested)
        row = QHBoxLayout(self.damaged_box)
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.damaged_text, 1)
        row.addWidget(self.check_damage_btn, 0, Qt.AlignmentFlag.AlignTop)
        self.damaged_box.setVisible(False)

    def _refresh(self) -> None:
        if self.isVisible():  # a closed window (or an app shut down) asks nothing
            self.show_status(self.service.status())

    def refresh_stats(self) -> None:
        if self.service.vaults.is_open:
            self.service.vaults.stats(self._stats)

    def _stats(self, outcome: JobOutcome[VaultStats]) -> None:
        if outcome.ok and isinstance(outcome.result, VaultStats):
            s = outcome.result
            self.vault_size.setText(
                fmt.plural(
                    s.snapshots,
                    self.tr("{size} in {n} backup"),
                    self.tr("{size} in {n} backups"),
                ).replace("{size}", fmt.size(s.stored_bytes))
            )

    def show_status(self, status: Status) -> None:
        self._status = status
        now = datetime.now(UTC)
        self.icon.setPixmap(icons.status_icon(status).pixmap(64, 64))
        self.headline.setText(status.headline)
        self.detail.setText(status.detail)
        self.damaged_box.setVisible(bool(status.damaged))
        self.damaged_text.setText(damage.describe(status.damaged))
        # The box says it all when the damage is the headline: no echo beneath it.
        echo = bool(status.damaged) and status.detail == damage.summary(status.damaged)
        self.detail.setVisible(bool(status.detail) and not echo)
        running = status.state is State.RUNNING or (
            status.state is State.PAUSED and status.progress is not None
        )
        paused = status.state is State.PAUSED
        self.backup_btn.setVisible(not running)
        self.backup_btn.setEnabled(status.state is not State.NOT_SET_UP)
        self.pause_btn.setVisible(running and not paused)
        self.resume_btn.setVisible(paused)
        self.cancel_btn.setVisible(running)
        self.progress_box.setVisible(running)
        if status.progress is not None:
            self.show_progress(status.progress)
        last = status.last_backup
        if last is None:
            self.last.setText(self.tr("Never"))
        else:
            self.last.setText(
                f"{fmt.when(last.finished, now).capitalize()} ({fmt.stamp(last.finished)})"
                f"\n{describe_result(last)}"
            )
        settings = self.service.settings
        if status.paused_until is not None:
            self.next.setText(
                self.tr("Paused until {time}").format(
                    time=f"{fmt.local(status.paused_until):%H:%M}"
                )
            )
        elif status.next_run is None:
            self.next.setText(fmt.schedule(settings.schedule))
        elif status.next_run <= now:
            self.next.setText(self.tr("Soon"))
        else:
            self.next.setText(
                f"{fmt.when(status.next_run, now).capitalize()} ({fmt.schedule(settings.schedule)})"
            )
        vault = settings.vault
        self.where.setText(vault.description or vault.repo if vault else self.tr("Not set up"))

    def show_progress(self, p: Progress) -> None:
        self.phase.setText(fmt.phase(p))
        self.bar.setValue(int(p.fraction * 1000))
        self.files.setText(fmt.files_line(p))
        self.bytes.setText(fmt.bytes_line(p))
        self.current.setText(p.current_path or "—")
        self.speed.setText(fmt.rate(p.rate_bps))
        self.eta.setText(fmt.eta(p.eta_s))
