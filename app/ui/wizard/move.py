"""Settings › Storage: back up somewhere else from now on, without losing history.

Two ways in, one wizard, the setup wizard's own pages for the place (a folder,
Dropbox, S3), the passphrase and the recovery key:

* *Change location…*: use a backup that is already there (unlock it), or copy this
  backup there object for object (same passphrase and recovery key, all history);
* *Start a new backup…*: a new vault with a new passphrase and recovery key, with
  the history copied in (new keys: the way out when the old passphrase leaked) or
  empty.

Nothing is switched until the end: the copy runs as a long job with progress and
Cancel, and only once it has committed do the settings name the new place (through
``BackupService.switch_vault``). The old backup is left as it was, and can still be
browsed (``keepsake gui --browse OLD``; the last page has a button for it).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.core.events import Progress
from app.services import notices
from app.services.backups import BackupService
from app.services.jobs import JobOutcome, Outcome
from app.services.vault import CopyReport, OpenedVault
from app.store.settings import Schedule
from app.ui import fmt, icons
from app.ui.s3_form import S3Connect
from app.ui.widgets import hint
from app.ui.wizard.base import DropboxConnect, PageId, WizardBase
from app.ui.wizard.new_vault import PassphrasePage, RecoveryPage
from app.ui.wizard.s3 import S3Page
from app.ui.wizard.unlock import UnlockPage
from app.ui.wizard.where import DropboxPage, StoragePage


class Move(Enum):
    CONNECT = "connect"  # a backup that is already at the new place
    COPY = "copy"  # this backup, object for object (same passphrase)
    NEW_WITH_HISTORY = "new_with_history"  # new keys, every backup copied in
    NEW_EMPTY = "new_empty"  # new keys, nothing copied


class ChoicePage(QWizardPage):
    """What to do at the new place; the labels depend on the way in."""

    def __init__(self, new_vault: bool) -> None:
        super().__init__()
        self.new_vault = new_vault
        group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        if new_vault:
            self.setTitle(self.tr("Start a new backup"))
            self.setSubTitle(
                self.tr(
                    "A new backup with its own passphrase and recovery key. The current "
                    "backup is left as it is, and you can still browse and restore from it."
                )
            )
            self.first = QRadioButton(self.tr("Copy the history of the current backup into it"))
            self.second = QRadioButton(self.tr("Start empty"))
            first_hint = self.tr(
                "Every earlier backup is copied under the new keys, so a passphrase that may "
                "have leaked no longer opens anything in it. This reads and writes the whole "
                "backup once."
            )
            second_hint = self.tr("The first backup into it sends all your files again.")
        else:
            self.setTitle(self.tr("Change where the backup is kept"))
            self.setSubTitle(
                self.tr("The backup you have now is left as it is until you delete it.")
            )
            self.first = QRadioButton(self.tr("Copy this backup there, with all its history"))
            self.second = QRadioButton(self.tr("Use a backup that is already there"))
            first_hint = self.tr(
                "The same passphrase and recovery key keep working. Choose an empty folder, "
                "a new Dropbox folder name or an empty bucket folder."
            )
            second_hint = self.tr(
                "For example the backup folder you copied to a new drive yourself. You type "
                "its passphrase next."
            )
        self.first.setChecked(True)
        for button, text in ((self.first, first_hint), (self.second, second_hint)):
            group.addButton(button)
            layout.addWidget(button)
            note = hint(text)
            note.setContentsMargins(24, 0, 0, 8)
            layout.addWidget(note)
        layout.addStretch(1)

    def mode(self) -> Move:
        if self.new_vault:
            return Move.NEW_WITH_HISTORY if self.first.isChecked() else Move.NEW_EMPTY
        return Move.COPY if self.first.isChecked() else Move.CONNECT

    def nextId(self) -> int:
        return PageId.STORAGE


class FinishPage(QWizardPage):
    """Copies (with progress and Cancel) what the choice asks for, then switches the
    settings to the new place; only then is Finish enabled."""

    def __init__(self, browse: Callable[[str], None] | None) -> None:
        super().__init__()
        self.setTitle(self.tr("Moving your backup"))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("moveStatus")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setAccessibleName(self.tr("Copy progress"))
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.cancel_btn = QPushButton(self.tr("Cancel copy"))
        self.cancel_btn.clicked.connect(self.cancel)
        self.retry_btn = QPushButton(self.tr("Try again"))
        self.retry_btn.clicked.connect(self.start)
        self.browse_btn = QPushButton(self.tr("Browse the old backup…"))
        self._browse = browse
        self.browse_btn.clicked.connect(self._browse_old)
        row = QHBoxLayout()
        for button in (self.cancel_btn, self.retry_btn, self.browse_btn):
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        layout.addLayout(row)
        layout.addStretch(1)
        self.busy = False
        self.copied = False  # the copy committed: Try again only switches
        self.switched = False
        self.old_repo = ""
        self.old_where = ""
        self._idle()

    def wiz(self) -> MoveWizard:
        wiz = self.wizard()
        assert isinstance(wiz, MoveWizard)
        return wiz

    def _idle(self) -> None:
        self.bar.hide()
        self.cancel_btn.hide()
        self.retry_btn.hide()
        self.browse_btn.hide()

    def initializePage(self) -> None:
        old = self.wiz().old
        if old is not None:
            self.old_repo, self.old_where = old.repo, old.description or old.repo
        if self.wiz().mode is Move.CONNECT:
            self._done_switching()  # unlocking it was the switch
            return
        self.start()

    def isComplete(self) -> bool:
        return self.switched

    def start(self) -> None:
        """Open the current backup if needed, then copy, then switch."""
        wiz = self.wiz()
        self.busy = True
        self._idle()
        self.detail.setText("")
        service = wiz.service
        if self.copied:
            self._switch()
            return
        if not service.vaults.is_open and wiz.mode is not Move.NEW_EMPTY:
            self.status.setText(self.tr("Opening the current backup…"))
            service.unlock(wiz.current_passphrase, remember=False, done=self._source_open)
            return
        self._copy()

    def _source_open(self, outcome: JobOutcome[OpenedVault]) -> None:
        if outcome.ok:
            self._copy()
        else:
            self._failed(outcome.message)

    def _copy(self) -> None:
        wiz = self.wiz()
        vaults = wiz.service.vaults
        where = wiz.where()
        started = True
        if wiz.mode is Move.COPY:
            self.status.setText(self.tr("Copying your backup to %s…") % where)
            started = vaults.mirror_to(wiz.repo(), self._copied)
        elif wiz.mode is Move.NEW_WITH_HISTORY:
            self.status.setText(self.tr("Copying every backup into the new one at %s…") % where)
            started = vaults.copy_history_to(wiz.repo(), wiz.new_passphrase(), self._copied)
        else:
            self._switch()
            return
        if not started:
            self._failed(self.tr("Another job is running. Wait until it ends, then try again."))
            return
        self.bar.setValue(0)
        self.bar.show()
        self.cancel_btn.setEnabled(True)
        self.cancel_btn.show()
        wiz.service.progress.connect(self._progress)

    def _progress(self, progress: Progress) -> None:
        self.bar.setValue(int(progress.fraction * 100))
        if progress.bytes_total:
            self.detail.setText(
                f"{fmt.size(progress.bytes_done)} of {fmt.size(progress.bytes_total)}"
            )
        elif progress.files_total:
            self.detail.setText(
                self.tr("%d of %d backups copied (%s so far)")
                % (progress.files_done, progress.files_total, fmt.size(progress.bytes_done))
            )

    def cancel(self) -> None:
        if self.busy:
            self.cancel_btn.setEnabled(False)
            self.status.setText(self.tr("Cancelling…"))
            self.wiz().service.cancel()

    def _copied(self, outcome: JobOutcome[str] | JobOutcome[CopyReport]) -> None:
        wiz = self.wiz()
        wiz.service.progress.disconnect(self._progress)
        self.cancel_btn.hide()
        if outcome.outcome is Outcome.CANCELLED:
            self._failed(self.tr("The copy was cancelled."))
            return
        if not outcome.ok:
            self._failed(outcome.message)
            return
        self.copied = True
        self.bar.setValue(100)
        result = outcome.result
        if isinstance(result, CopyReport) and result.skipped:
            names = ", ".join(w.path for w in result.skipped[:5])
            self.detail.setText(
                self.tr("Damaged in the old backup and left out: %s") % names
                + ("…" if len(result.skipped) > 5 else "")
            )
        self._switch()

    def _switch(self) -> None:
        wiz = self.wiz()
        self.status.setText(self.tr("Switching to the new place…"))
        passphrase = wiz.new_passphrase() if wiz.new_vault else wiz.current_passphrase
        wiz.service.switch_vault(wiz.repo(), passphrase, self._switched)

    def _switched(self, outcome: JobOutcome[OpenedVault]) -> None:
        if not outcome.ok:
            self._failed(outcome.message)
            return
        self._done_switching()

    def _done_switching(self) -> None:
        self.busy = False
        self.switched = True
        wiz = self.wiz()
        self.status.setText(
            self.tr(
                "Backups now go to %s. The old backup at %s was left as it was: you can "
                "still browse and restore from it, or delete it when you no longer need it."
            )
            % (wiz.where(), self.old_where)
        )
        self.browse_btn.setVisible(self._browse is not None and bool(self.old_repo))
        self.completeChanged.emit()
        wiz.closing_check()

    def _failed(self, reason: str) -> None:
        self.busy = False
        wiz = self.wiz()
        self.bar.hide()
        self.cancel_btn.hide()
        kept = self.tr("Nothing was switched: backups still go to %s.") % self.old_where
        leftover = ""
        if self.copied:
            leftover = self.tr(" Everything was copied to %s: Try again to switch.") % wiz.where()
        elif wiz.mode is Move.COPY:
            leftover = self.tr(" Try again to finish the copy, or delete what was copied.")
        elif wiz.mode is Move.NEW_WITH_HISTORY:
            leftover = (
                self.tr(
                    " The new backup at %s holds what was copied so far and is not used; "
                    "delete it, or start again with another place."
                )
                % wiz.where()
            )
        self.status.setText(f"{reason} {kept}{leftover}")
        # A copy into new keys is not resumed (its backups would be there twice).
        self.retry_btn.setVisible(self.copied or wiz.mode is not Move.NEW_WITH_HISTORY)
        wiz.closing_check()

    def _browse_old(self) -> None:
        if self._browse is not None and self.old_repo:
            self._browse(self.old_repo)

    def nextId(self) -> int:
        return -1


class MoveWizard(WizardBase):
    """Settings › Storage's *Change location…* (``new_vault=False``) and *Start a new
    backup…* (``new_vault=True``). ``current_passphrase`` opens the current backup
    (checked by the caller); a copy made as is keeps it."""

    def __init__(
        self,
        service: BackupService,
        *,
        home: Path,
        new_vault: bool,
        current_passphrase: str,
        dropbox: DropboxConnect | None = None,
        s3: S3Connect | None = None,
        browse: Callable[[str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(service, parent)
        self.new_vault = new_vault
        self.current_passphrase = current_passphrase
        self.setWindowTitle(self.tr("Start a new backup") if new_vault else self.tr("Move backup"))
        self.setWindowIcon(icons.app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, icons.app_icon().pixmap(48, 48))
        self.setMinimumSize(640, 520)
        self.choice_page = ChoicePage(new_vault)
        self.storage_page = StoragePage(home, dropbox is not None, s3 is not None)
        self.dropbox_page = DropboxPage(dropbox)
        self.s3_page = S3Page(s3)
        self.passphrase_page = PassphrasePage()
        self.passphrase_page.remember.hide()  # Settings keeps its own choice
        self.passphrase_page.remember_hint.hide()
        self.recovery_page = RecoveryPage()
        self.unlock_page = UnlockPage()
        self.unlock_page.use_key.hide()  # scheduled backups need the passphrase
        self.unlock_page.remember.hide()
        self.finish_page = FinishPage(browse)
        for pid, page in (
            (PageId.MOVE_CHOICE, self.choice_page),
            (PageId.STORAGE, self.storage_page),
            (PageId.DROPBOX, self.dropbox_page),
            (PageId.S3, self.s3_page),
            (PageId.PASSPHRASE, self.passphrase_page),
            (PageId.RECOVERY, self.recovery_page),
            (PageId.UNLOCK, self.unlock_page),
            (PageId.MOVE_FINISH, self.finish_page),
        ):
            self.setPage(pid, page)
        self.setStartId(PageId.MOVE_CHOICE)
        if not service.can_remember():
            self.storage_page.keyring_missing()
            self.passphrase_page.keyring_missing(notices.no_keyring())
        self.opened: OpenedVault | None = None
        self.old = service.settings.vault  # left as it is; named at the end
        self._close_when_idle = False

    @property
    def mode(self) -> Move:
        return self.choice_page.mode()

    @property
    def restoring(self) -> bool:
        """The shared pages look for an existing backup only when connecting one."""
        return self.mode is Move.CONNECT

    def repo(self) -> str:
        if self.storage_page.s3.isChecked():
            return self.s3_page.repo()
        return self.storage_page.repo()

    def where(self) -> str:
        return self.service.vaults.describe(self.repo())

    def new_passphrase(self) -> str:
        return self.passphrase_page.fields.passphrase()

    def nextId(self) -> int:
        """The shared pages' own order, with this wizard's ending: no passphrase page
        for a copy made as is, and the finish page instead of folders and schedule."""
        following = super().nextId()
        if following == PageId.PASSPHRASE and not self.new_vault:
            return PageId.MOVE_FINISH
        if following == PageId.FOLDERS:
            return PageId.MOVE_FINISH
        return following

    def create_vault(
        self, passphrase: str, done: Callable[[JobOutcome[OpenedVault]], None]
    ) -> None:
        """A new vault beside the open one (which the copy reads from)."""
        like_current = self.mode is Move.NEW_WITH_HISTORY
        self.service.vaults.create_new(self.repo(), passphrase, like_current, done)

    def open_vault(
        self,
        secret: str,
        recovery_key: bool,
        done: Callable[[JobOutcome[OpenedVault]], None],
    ) -> None:
        """Connecting a backup that is there: unlocking it is the switch (the
        settings change only if it opened)."""
        self.service.switch_vault(self.repo(), secret, done)

    def vault_found_problem(self) -> str:
        if self.new_vault:
            return self.tr(
                "This folder already holds a Keepsake backup. Choose an empty or new folder "
                "for the new backup."
            )
        return self.tr(
            "This folder already holds a Keepsake backup. To use it, go Back and choose "
            "“Use a backup that is already there”; or choose another folder."
        )

    def vault_opened(self, opened: OpenedVault) -> None:
        self.opened = opened

    def show_recovery_key(self, opened: OpenedVault) -> None:
        self.recovery_page.opened = opened

    def chosen_folders(self) -> list[str]:
        return list(self.service.settings.folders)

    def chosen_schedule(self) -> Schedule:
        return self.service.settings.schedule

    def reject(self) -> None:
        """Cancel while copying cancels the copy first; the wizard closes once the
        job has ended, so nothing is left half done behind a closed window."""
        if self.finish_page.busy:
            self._close_when_idle = True
            self.finish_page.cancel()
            return
        super().reject()

    def closing_check(self) -> None:
        if self._close_when_idle:
            self._close_when_idle = False
            super().reject()
