"""Settings: schedule, storage, bandwidth, retention, login, passphrase. Changes save
as they are made (there is no Apply button to forget)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
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

from app.services import notices
from app.services.backups import BackupService
from app.services.jobs import JobOutcome
from app.services.vault import OpenedVault
from app.store.settings import Retention, Settings
from app.ui.dialogs import ChangePassphraseDialog, UnlockDialog
from app.ui.s3_form import S3Connect, S3Dialog
from app.ui.widgets import ScheduleEditor, heading, hint
from app.ui.wizard.base import DropboxConnect
from app.ui.wizard.move import MoveWizard


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
        self.bandwidth = _spin(0, 1_000_000, " KB/s", self.tr("Unlimited"))
        self.bandwidth.setSingleStep(100)
        storage_box = QGroupBox(self.tr("Storage"))
        sform = QFormLayout(storage_box)
        self.move_btn = QPushButton(self.tr("Change location…"))
        self.move_btn.clicked.connect(self.change_location)
        self.new_btn = QPushButton(self.tr("Start a new backup…"))
        self.new_btn.clicked.connect(self.start_new_backup)
        move_row = QHBoxLayout()
        move_row.addWidget(self.move_btn)
        move_row.addWidget(self.new_btn)
        move_row.addStretch(1)
        sform.addRow(self.tr("Backup is stored in:"), self.where)
        sform.addRow("", move_row)
        sform.addRow(
            hint(
                self.tr(
                    "Change location: use a backup that is already in another folder, in "
                    "Dropbox or on S3, or copy this one there with all its history. Start a "
                    "new backup: a new passphrase and recovery key, with the history copied "
                    "in or empty. The old backup is always left as it was."
                )
            )
        )
        # Set by the app: what moving to another place needs (app.ui.wizard.move).
        self.home = Path.home()
        self.dropbox: DropboxConnect | None = None
        self.browse_other: Callable[[str], None] | None = None  # keepsake gui --browse
        self.move_wizard: MoveWizard | None = None
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
            self.where.setText(
                (vault.description or vault.repo) if vault else self.tr("Not set up")
            )
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
                self.remember_hint.setText(notices.no_keyring())
            self.change.setEnabled(vault is not None)
            self.move_btn.setEnabled(vault is not None)
            self.new_btn.setEnabled(vault is not None)
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
                self.message.setText(notices.no_keyring())  # the keyring refused it
                self.load(self.service.settings)
            elif outcome.ok:
                self.service.update_settings(self.service.settings.with_(remember_passphrase=True))
                self.message.setText(self.tr("The passphrase is remembered in the system keyring."))
            else:
                self.message.setText(outcome.message)
                self.load(self.service.settings)

        self.service.unlock(dialog.passphrase(), remember=True, done=done)

    def _passphrase(self) -> str:
        remembered = self.service.remembered_passphrase()
        if remembered:
            return remembered
        vault = self.service.settings.vault
        dialog = UnlockDialog(vault.description or vault.repo if vault else "", parent=self)
        dialog.remember.hide()
        return dialog.passphrase() if dialog.exec() else ""

    def change_location(self) -> None:
        """Back up into a backup that is already elsewhere, or copy this one there
        (history and all) and back up there from now on."""
        self._move(new_vault=False)

    def start_new_backup(self) -> None:
        """A new backup (new passphrase and recovery key), with or without history."""
        self._move(new_vault=True)

    def _move(self, new_vault: bool) -> None:
        """Check the current passphrase (the copy reads the current backup, and a copy
        made as is keeps it), then open the wizard."""
        if self.service.settings.vault is None:
            return
        if self.service.runner.busy:
            self.message.setText(self.tr("Wait until the running job ends, then try again."))
            return
        remembered = self.service.remembered_passphrase()
        if remembered and self.service.vaults.is_open:
            self.show_move_wizard(new_vault, remembered)
            return
        passphrase = self._passphrase()
        if not passphrase:
            return
        self.message.setText(self.tr("Opening the current backup…"))

        def opened(outcome: JobOutcome[OpenedVault]) -> None:
            if not outcome.ok:
                self.message.setText(outcome.message)
                return
            self.message.setText("")
            self.show_move_wizard(new_vault, passphrase)

        self.service.unlock(passphrase, remember=False, done=opened)

    def show_move_wizard(self, new_vault: bool, passphrase: str) -> MoveWizard:
        wiz = MoveWizard(
            self.service,
            home=self.home,
            new_vault=new_vault,
            current_passphrase=passphrase,
            dropbox=self.dropbox,
            s3=self.s3,
            browse=self.browse_other,
            parent=self,
        )
        wiz.finished.connect(lambda _result: self._moved(wiz))
        self.move_wizard = wiz
        wiz.show()
        return wiz

    def _moved(self, wiz: MoveWizard) -> None:
        if wiz.finish_page.switched:
            self.message.setText(wiz.finish_page.status.text())
        if self.move_wizard is wiz:
            self.move_wizard = None
        wiz.deleteLater()

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
                    "the old passphrase. If the old one may have leaked, press Start a new "
                    "backup… and copy the history into it: that moves everything to new keys "
                    "(see 'Changing the passphrase' in the user guide)."
                )
            )

        self.service.vaults.change_passphrase(new, done)
