"""The "Check backup" action: the engine's check of the vault, with a progress bar, the result in
plain words and the files a damage affects (read-data optional: slower, thorough)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.events import CheckResult, Progress
from app.services.jobs import JobKind, JobOutcome, Outcome
from app.services.vault import VaultService


class CheckDialog(QDialog):
    """Runs one check as the vault's long job; Cancel stops it."""

    def __init__(self, vaults: VaultService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checkDialog")
        self.setWindowTitle(self.tr("Check backup"))
        self.vaults = vaults
        self.job: int | None = None
        self.check_result: CheckResult | None = None
        intro = QLabel(
            self.tr(
                "Keepsake reads the backup's lists of files and checks that every piece they "
                "name is there. Reading all the data too proves every byte can be restored, "
                "but downloads the whole backup."
            )
        )
        intro.setWordWrap(True)
        self.read_data = QCheckBox(self.tr("Also read all the data (slower)"))
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        self.start_btn = QPushButton(self.tr("Start check"))
        self.start_btn.clicked.connect(self.start)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.addButton(self.start_btn, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (intro, self.read_data, self.progress, self.summary, self.details):
            layout.addWidget(w)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)
        vaults.runner.jobProgress.connect(self._progress)
        vaults.runner.jobFinished.connect(self._finished)

    def start(self) -> None:
        self.job = self.vaults.check(read_data=self.read_data.isChecked())
        if self.job is None:
            self.summary.setText(
                self.tr("Another job (a backup?) is running; try again when it ends.")
            )
            return
        self.check_result = None
        self.start_btn.setEnabled(False)
        self.read_data.setEnabled(False)
        self.details.setVisible(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.summary.setText(self.tr("Checking…"))

    def _progress(self, progress: Progress) -> None:
        if self.job is None or self.vaults.runner.current_kind != JobKind.CHECK:
            return
        if progress.files_total or progress.bytes_total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(progress.fraction * 1000))

    def _finished(self, outcome: JobOutcome[object]) -> None:
        if outcome.kind is not JobKind.CHECK or outcome.job_id != self.job:
            return
        self.job = None
        self.progress.setVisible(False)
        self.start_btn.setEnabled(True)
        self.read_data.setEnabled(True)
        if outcome.outcome is Outcome.CANCELLED:
            self.summary.setText(self.tr("The check was stopped."))
            return
        if not outcome.ok or not isinstance(outcome.result, CheckResult):
            self.summary.setText(
                self.tr("The check could not run: {reason}").format(reason=outcome.message)
            )
            return
        result = outcome.result
        self.check_result = result
        checked = f"{result.objects_checked:,}"
        if result.ok:
            self.summary.setText(
                self.tr(
                    "Your backup is healthy: nothing damaged (objects checked: {count})."
                ).format(count=checked)
            )
            return
        affected = (
            self.tr(
                "Files that cannot be restored as backed up: {count}; the next backup "
                "stores them again if they are still here."
            ).format(count=f"{len(result.affected_files):,}")
            if result.affected_files
            else self.tr("No file is affected.")
        )
        self.summary.setText(
            self.tr("Damage found. Problems: {problems} (objects checked: {count}).").format(
                problems=f"{len(result.problems):,}", count=checked
            )
            + " "
            + affected
        )
        lines = [*result.problems]
        if result.affected_files:
            lines += ["", self.tr("Affected files:"), *result.affected_files]
        self.details.setPlainText("\n".join(lines))
        self.details.setVisible(True)

    def reject(self) -> None:
        if self.job is not None:
            self.vaults.runner.cancel()
        super().reject()
