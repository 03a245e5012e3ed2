"""The first-run wizard itself: its pages in order, and what Finish saves and starts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QMessageBox,
    QWidget,
    QWizard,
)

from app.core.models import SnapshotInfo
from app.services import notices
from app.services.backups import BackupService
from app.services.jobs import JobOutcome
from app.services.vault import OpenedVault
from app.store.settings import Schedule, VaultRef
from app.ui import icons
from app.ui.s3_form import S3Connect
from app.ui.wizard.base import DropboxConnect, PageId, WizardBase
from app.ui.wizard.new_vault import PassphrasePage, RecoveryPage
from app.ui.wizard.plan import DonePage, FoldersPage, SchedulePage
from app.ui.wizard.s3 import S3Page
from app.ui.wizard.unlock import UnlockPage
from app.ui.wizard.where import DropboxPage, StoragePage, WelcomePage


class SetupWizard(WizardBase):
    """Emits :attr:`completed` after settings are saved and the first job started."""

    completed = Signal()

    def __init__(
        self,
        service: BackupService,
        *,
        home: Path,
        dropbox: DropboxConnect | None = None,
        s3: S3Connect | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(service, parent)
        self.setWindowTitle(self.tr("Set up Keepsake"))
        self.setWindowIcon(icons.app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, icons.app_icon().pixmap(48, 48))
        self.setMinimumSize(640, 520)
        self.welcome_page = WelcomePage()
        self.storage_page = StoragePage(home, dropbox is not None, s3 is not None)
        self.dropbox_page = DropboxPage(dropbox)
        self.s3_page = S3Page(s3)
        self.passphrase_page = PassphrasePage()
        self.recovery_page = RecoveryPage()
        self.unlock_page = UnlockPage()
        self.folders_page = FoldersPage(home)
        self.schedule_page = SchedulePage()
        self.done_page = DonePage()
        for pid, page in (
            (PageId.WELCOME, self.welcome_page),
            (PageId.STORAGE, self.storage_page),
            (PageId.DROPBOX, self.dropbox_page),
            (PageId.PASSPHRASE, self.passphrase_page),
            (PageId.RECOVERY, self.recovery_page),
            (PageId.UNLOCK, self.unlock_page),
            (PageId.FOLDERS, self.folders_page),
            (PageId.SCHEDULE, self.schedule_page),
            (PageId.DONE, self.done_page),
            (PageId.S3, self.s3_page),
        ):
            self.setPage(pid, page)
        self.setStartId(PageId.WELCOME)
        if not service.can_remember():
            self.storage_page.keyring_missing()
            self.passphrase_page.keyring_missing(notices.no_keyring())
            self.unlock_page.keyring_missing(notices.no_keyring())
        self.opened: OpenedVault | None = None
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("Finish"))

    @property
    def restoring(self) -> bool:
        return self.welcome_page.restore.isChecked()

    def repo(self) -> str:
        if self.storage_page.s3.isChecked():
            return self.s3_page.repo()
        return self.storage_page.repo()

    def where(self) -> str:
        return self.service.vaults.describe(self.repo())

    def show_recovery_key(self, opened: OpenedVault) -> None:
        self.recovery_page.opened = opened

    def chosen_folders(self) -> list[str]:
        return list(self.folders_page.editor.folders())

    def chosen_schedule(self) -> Schedule:
        return self.schedule_page.editor.schedule()

    def vault_opened(self, opened: OpenedVault) -> None:
        self.opened = opened
        if self.restoring:
            # Back up the same folders as before, when the latest snapshot says which.
            self.service.vaults.snapshots(self._prefill_folders)

    def _prefill_folders(self, outcome: JobOutcome[list[SnapshotInfo]]) -> None:
        if outcome.ok and outcome.value:
            latest = outcome.value[-1]
            self.folders_page.editor.set_folders(list(latest.paths))

    def accept(self) -> None:
        opened = self.opened
        if opened is None:
            return
        service = self.service
        repo = self.repo()
        remember_page = self.unlock_page if self.restoring else self.passphrase_page
        passphrase = (
            self.unlock_page.secret.text()
            if self.restoring and self.unlock_page.use_pass.isChecked()
            else ("" if self.restoring else self.passphrase_page.fields.passphrase())
        )
        remember = (
            remember_page.remember.isChecked() and bool(passphrase) and service.can_remember()
        )
        settings = service.settings.with_(
            vault=VaultRef(repo=repo, vault_id=opened.vault_id, description=self.where()),
            folders=tuple(self.folders_page.editor.folders()),
            excludes=tuple(self.folders_page.editor.exclude_patterns()),
            schedule=self.schedule_page.editor.schedule(),
            remember_passphrase=remember,
        )
        problem = service.remember_passphrase(repo, passphrase if remember else None)
        if problem:
            QMessageBox.warning(self, self.tr("Passphrase not remembered"), problem)
            settings = settings.with_(remember_passphrase=False)
        service.update_settings(settings)
        if self.restoring and self.done_page.restore_all.isChecked():
            service.vaults.restore("latest", "/")
        elif not self.restoring:
            service.back_up_now()
        super().accept()
        self.completed.emit()
