"""Settings: schedule, storage, bandwidth, retention, login, passphrase. Changes save
as they are made (there is no Apply button to forget)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.backups import NO_KEYRING_MESSAGE, BackupService
from app.services.jobs import JobOutcome
from app.services.locations import check_writable, find_vault_in
from app.services.vault import OpenedVault
from app.store.settings import Retention, Settings
from app.ui.dialogs import ChangePassphraseDialog, UnlockDialog
from app.ui.s3_form import S3Connect, S3Dialog
from app.ui.widgets import ScheduleEditor, heading, hint


def _spin(lo: int, hi: int, suffix: str, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setMinimumWidth(150)
    box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    box.setRange(lo, hi)
    box.setSuffix(suffix)
    if special:
        box.setSpecialValueText(special)
    return box


class SettingsPage(QWidget):
    def __init__(self, service: BackupService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._loading = False
        # Replaced in tests; returns "" when the user cancels.
        self.choose_folder: Callable[[], str] = self._ask_folder

        # schedule
        self.schedule = ScheduleEditor()
        sched_box = QGroupBox(self.tr("Schedule"))
        sched_layout = QVBoxLayout(sched_box)
        sched_layout.addWidget(self.schedule)
        self.stale_days = _spin(1, 365, " days")
        self.stale_days.setAccessibleName(self.tr("Warn after days without a backup"))
        stale_row = QHBoxLayout()
        stale_row.addWidget(QLabel(self.tr("Warn me when no backup succeeded for")))
        stale_row.addWidget(self.stale_days)
        stale_row.addStretch(1)
        sched_layout.addLayout(stale_row)

        # storage
        self.where = QLabel("")
        self.where.setWordWrap(True)
        self.bandwidth = _spin(0, 1_000_000, " KB/s", "Unlimited")
        self.bandwidth.setSingleStep(100)
        storage_box = QGroupBox(self.tr("Storage"))
        sform = QFormLayout(storage_box)
        self.move_btn = QPushButton(self.tr("Change location…"))
        self.move_btn.clicked.connect(self.change_location)
        where_row = QHBoxLayout()
        where_row.addWidget(self.where, 1)
        where_row.addWidget(self.move_btn)
        sform.addRow(self.tr("Backup is stored in:"), where_row)
        sform.addRow(
            hint(
                self.tr(
                    "Pick a folder that holds a Keepsake backup to use it (a backup folder "
                    "you moved to a new drive, say), or an empty folder to copy this "
                    "backup there with all its history."
                )
            )
        )
        # S3 keys or endpoint changed at the provider: test and keep new ones here.
        self.s3: S3Connect | None = None  # set by the app when S3 support is there
        self.s3_button = QPushButton(self.tr("S3 connection…"))
        self.s3_button.clicked.connect(self._s3_connection)
        self.s3_button.hide()
        sform.addRow("", self.s3_button)
        sform.addRow(self.tr("Upload speed limit:"), self.bandwidth)

        # retention
        self.keep_all = _spin(1, 24 * 14, " hours")
        self.keep_daily = _spin(0, 3650, " days")
        self.keep_weekly = _spin(0, 520, " weeks")
        self.keep_monthly = _spin(0, 1200, " months", "forever")
        ret_box = QGroupBox(self.tr("Old backups"))
        rform = QFormLayout(ret_box)
        rform.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        rform.addRow(self.tr("Keep every backup for:"), self.keep_all)
        rform.addRow(self.tr("Then one a day for:"), self.keep_daily)
        rform.addRow(self.tr("Then one a week for:"), self.keep_weekly)
        rform.addRow(self.tr("Then one a month for:"), self.keep_monthly)
        rform.addRow(hint(self.tr("Older backups are thinned out once a day, after a backup.")))

        # this computer
        self.login = QCheckBox(self.tr("Start Keepsake when I log in"))
        self.remember = QCheckBox(self.tr("Remember the passphrase on this computer"))
        self.change = QPushButton(self.tr("Change passphrase…"))
        self.change.clicked.connect(self._change_passphrase)
        pc_box = QGroupBox(self.tr("This computer"))
        pl = QVBoxLayout(pc_box)
        pl.addWidget(self.login)
        pl.addWidget(self.remember)
        self.remember_hint = hint(
            self.tr("Without it, Keepsake asks for the passphrase before each scheduled backup.")
        )
        pl.addWidget(self.remember_hint)
        row = QHBoxLayout()
        row.addWidget(self.change)
        row.addStretch(1)
        pl.addLayout(row)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addWidget(heading(self.tr("Settings")))
        for box in (sched_box, storage_box, ret_box, pc_box):
            layout.addWidget(box)
        layout.addWidget(self.message)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setAccessibleName(self.tr("Settings"))
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.schedule.changed.connect(self._save)
        for spin in (
            self.bandwidth,
            self.stale_days,
            self.keep_all,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
        ):
            spin.valueChanged.connect(lambda _: self._save())
        self.login.toggled.connect(self._login)
        self.remember.toggled.connect(self._remember)
        service.settingsChanged.connect(self.load)
        self.load(service.settings)

    def load(self, s: Settings) -> None:
        self._loading = True
        try:
            self.schedule.set_schedule(s.schedule)
            vault = s.vault
            self.where.setText((vault.description or vault.repo) if vault else "Not set up")
            self.s3_button.setVisible(vault is not None and vault.repo.startswith("s3:"))
            self.bandwidth.setValue(s.bandwidth_limit_kbps)
            self.stale_days.setValue(s.stale_after_days)
            self.keep_all.setValue(s.retention.keep_all_hours)
            self.keep_daily.setValue(s.retention.keep_daily_days)
            self.keep_weekly.setValue(s.retention.keep_weekly_weeks)
            self.keep_monthly.setValue(s.retention.keep_monthly_months or 0)
            self.login.setChecked(s.start_at_login)
            can_remember = self.service.can_remember()
            self.remember.setEnabled(can_remember)
            self.remember.setChecked(s.remember_passphrase and can_remember)
            if not can_remember:
                self.remember_hint.setText(NO_KEYRING_MESSAGE)
            self.change.setEnabled(vault is not None)
        finally:
            self._loading = False

    def _save(self) -> None:
        if self._loading:
            return
        monthly = self.keep_monthly.value()
        self.service.update_settings(
            self.service.settings.with_(
                schedule=self.schedule.schedule(),
                bandwidth_limit_kbps=self.bandwidth.value(),
                stale_after_days=self.stale_days.value(),
                retention=Retention(
                    keep_all_hours=self.keep_all.value(),
                    keep_daily_days=self.keep_daily.value(),
                    keep_weekly_weeks=self.keep_weekly.value(),
                    keep_monthly_months=monthly or None,
                ),
            )
        )

    def _s3_connection(self) -> None:
        vault = self.service.settings.vault
        if vault is None:
            return
        S3Dialog(self.s3, vault.repo, self.service.settings.s3_endpoint, parent=self).exec()

    def _login(self, on: bool) -> None:
        if self._loading:
            return
        problem = self.service.set_start_at_login(on)
        self.message.setText(problem)

    def _remember(self, on: bool) -> None:
        if self._loading:
            return
        vault = self.service.settings.vault
        if vault is None:
            return
        if not on:
            self.message.setText(self.service.remember_passphrase(vault.repo, None))
            self.service.update_settings(self.service.settings.with_(remember_passphrase=False))
            return
        dialog = UnlockDialog(vault.description or vault.repo, parent=self)
        dialog.remember.hide()
        if not dialog.exec():
            self._loading = True
            self.remember.setChecked(False)
            self._loading = False
            return

        def done(outcome: JobOutcome[OpenedVault]) -> None:
            if outcome.ok and not self.service.remembered_passphrase():
                self.message.setText(NO_KEYRING_MESSAGE)  # the keyring refused it
                self.load(self.service.settings)
            elif outcome.ok:
                self.service.update_settings(self.service.settings.with_(remember_passphrase=True))
                self.message.setText(self.tr("The passphrase is remembered in the system keyring."))
            else:
                self.message.setText(outcome.message)
                self.load(self.service.settings)

        self.service.unlock(dialog.passphrase(), remember=True, done=done)

    def _ask_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self, self.tr("Choose the new place"))

    def _passphrase(self) -> str:
        remembered = self.service.remembered_passphrase()
        if remembered:
            return remembered
        vault = self.service.settings.vault
        dialog = UnlockDialog(vault.description or vault.repo if vault else "", parent=self)
        dialog.remember.hide()
        return dialog.passphrase() if dialog.exec() else ""

    def change_location(self) -> None:
        """Connect a backup found in the chosen folder, or copy this one (history and
        all) into it when it is empty; then back up there from now on."""
        vault = self.service.settings.vault
        if vault is None:
            return
        if self.service.runner.busy:
            self.message.setText(self.tr("Wait until the running job ends, then try again."))
            return
        folder = self.choose_folder()
        if not folder:
            return
        target = Path(folder)
        found = find_vault_in(target)
        passphrase = self._passphrase()
        if not passphrase:
            return
        self.move_btn.setEnabled(False)
        if found is not None:
            self.message.setText(self.tr("Opening the backup in %s…") % found)
            self.service.switch_vault(str(found), passphrase, self._switched)
            return
        if not Path(vault.repo).expanduser().is_dir():
            self.move_btn.setEnabled(True)
            self.message.setText(
                self.tr("Only a backup kept in a folder can be copied to a new place from here.")
            )
            return
        empty = target.is_dir() and not any(target.iterdir())
        dest = target if empty else target / "Keepsake Backup"
        check = check_writable(dest)
        if not check.ok:
            self.move_btn.setEnabled(True)
            self.message.setText(check.problem)
            return
        self.message.setText(self.tr("Copying your backup to %s… this can take a while.") % dest)

        def copied(outcome: JobOutcome[str]) -> None:
            if not outcome.ok:
                self.move_btn.setEnabled(True)
                self.message.setText(outcome.message)
                return
            self.service.switch_vault(outcome.value, passphrase, self._switched)

        self.service.vaults.copy_local(vault.repo, str(dest), copied)

    def _switched(self, outcome: JobOutcome[OpenedVault]) -> None:
        self.move_btn.setEnabled(True)
        if not outcome.ok:
            self.message.setText(outcome.message)
            return
        where = self.service.settings.vault
        self.message.setText(
            self.tr("Backups now go to %s. The old place was left as it was.")
            % (where.description if where else "")
        )

    def _change_passphrase(self) -> None:
        if not self.service.vaults.is_open:
            self.service.ensure_open(self._change_passphrase)
            return
        dialog = ChangePassphraseDialog(self)
        if not dialog.exec():
            return
        new = dialog.passphrase()

        def done(outcome: JobOutcome[None]) -> None:
            if not outcome.ok:
                QMessageBox.warning(self, self.tr("Passphrase not changed"), outcome.message)
                return
            vault = self.service.settings.vault
            if vault is not None and self.service.settings.remember_passphrase:
                self.service.remember_passphrase(vault.repo, new)
            self.message.setText(
                self.tr(
                    "Passphrase changed. Use the new one on your other computers. The backup's "
                    "keys are unchanged, so a kept copy of the old key file still opens it with "
                    "the old passphrase: see 'Changing the passphrase' in the user guide."
                )
            )

        self.service.vaults.change_passphrase(new, done)
