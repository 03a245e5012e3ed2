"""The first-run wizard: new backup (storage, passphrase, recovery key, folders,
schedule) or "Restore from an existing backup" on a new computer.

Slow steps (creating or opening a vault runs the key derivation) go through the
services and finish asynchronously; pages stay responsive and show what is happening.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.core.models import SnapshotInfo
from app.services.backups import NO_KEYRING_MESSAGE, BackupService
from app.services.jobs import JobOutcome
from app.services.locations import MIN_FREE_BYTES, check_writable, find_vault_in, holds_vault
from app.services.vault import OpenedVault
from app.store.settings import DEFAULT_EXCLUDES, VaultRef
from app.ui import icons
from app.ui.dialogs import NewPassphraseFields
from app.ui.recovery_kit import write_recovery_kit
from app.ui.widgets import FolderListEditor, ScheduleEditor, hint, suggested_folders

log = logging.getLogger(__name__)


class DropboxConnect(Protocol):
    """What the Dropbox page needs (``app.services.dropbox.DropboxConnector``)."""

    def start(self) -> str: ...

    def finish(self, code: str, done: Callable[[JobOutcome[str]], None]) -> None: ...


class PageId(IntEnum):
    WELCOME = 0
    STORAGE = 1
    DROPBOX = 2
    PASSPHRASE = 3
    RECOVERY = 4
    UNLOCK = 5
    FOLDERS = 6
    SCHEDULE = 7
    DONE = 8


def _busy_bar() -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setMaximumHeight(8)
    bar.hide()
    return bar


class WelcomePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Welcome to Keepsake")
        self.setSubTitle(
            "Keepsake keeps encrypted copies of your photos and documents, so a broken "
            "or stolen computer never takes them with it."
        )
        self.new = QRadioButton("Back up this computer")
        self.restore = QRadioButton("Restore from an existing backup")
        self.new.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.new)
        group.addButton(self.restore)
        layout = QVBoxLayout(self)
        layout.addWidget(self.new)
        layout.addWidget(hint("Set up a new, encrypted backup. This takes about two minutes."))
        layout.addSpacing(10)
        layout.addWidget(self.restore)
        layout.addWidget(
            hint(
                "For a new computer: open a backup made earlier with Keepsake, using its "
                "passphrase or recovery key, and get your files back."
            )
        )
        layout.addStretch(1)

    def nextId(self) -> int:
        return PageId.STORAGE


class StoragePage(QWizardPage):
    def __init__(self, home: Path, dropbox_available: bool) -> None:
        super().__init__()
        self.setTitle("Where should the backup live?")
        self.setSubTitle("Everything is encrypted on this computer before it is stored.")
        self.local = QRadioButton("A folder or external drive")
        self.dropbox = QRadioButton("Dropbox")
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.dropbox)
        self.local.setChecked(True)
        self.path = QLineEdit(str(home / "Keepsake Backup"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.dropbox_name = QLineEdit("Keepsake")
        layout = QVBoxLayout(self)
        layout.addWidget(self.local)
        row = QHBoxLayout()
        row.setContentsMargins(24, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        local_hint = hint(
            "Best on an external drive or a network share: a backup on the same disk "
            "does not survive that disk failing."
        )
        local_hint.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(local_hint)
        layout.addSpacing(10)
        layout.addWidget(self.dropbox)
        drow = QHBoxLayout()
        drow.setContentsMargins(24, 0, 0, 0)
        drow.addWidget(QLabel("Folder name in Dropbox:"))
        drow.addWidget(self.dropbox_name, 1)
        layout.addLayout(drow)
        dhint = hint(
            "Keepsake only sees its own folder in your Dropbox (Apps/Keepsake)."
            if dropbox_available
            else "Dropbox support is not available in this build."
        )
        dhint.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(dhint)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setObjectName("storageProblem")
        self.problem.hide()
        layout.addSpacing(6)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        self.min_free = MIN_FREE_BYTES
        self.dropbox.setEnabled(dropbox_available)
        self.dropbox_name.setEnabled(False)
        self.dropbox.toggled.connect(self._toggled)
        self.path.textChanged.connect(self.completeChanged)
        self.path.textChanged.connect(lambda _: self.problem.hide())
        self.dropbox_name.textChanged.connect(self.completeChanged)
        self.browse = browse

    def _toggled(self, dropbox: bool) -> None:
        self.dropbox_name.setEnabled(dropbox)
        self.path.setEnabled(not dropbox)
        self.browse.setEnabled(not dropbox)
        self.completeChanged.emit()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose where to keep the backup")
        if folder:
            self.path.setText(folder)

    def repo(self) -> str:
        if self.dropbox.isChecked():
            return f"dropbox:{self.dropbox_name.text().strip()}"
        return str(Path(self.path.text().strip()).expanduser())

    def isComplete(self) -> bool:
        if self.dropbox.isChecked():
            return bool(self.dropbox_name.text().strip())
        return bool(self.path.text().strip())

    def show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def validatePage(self) -> bool:
        """Check the folder here, where it can still be changed: a read-only or full
        drive found only after "Create backup" was a dead end."""
        if self.dropbox.isChecked():
            return True
        wiz = self.wizard()
        path = Path(self.repo())
        if isinstance(wiz, SetupWizard) and wiz.restoring:
            # A drive's root picked instead of the backup folder on it: use the one inside.
            found = find_vault_in(path) if path.is_dir() else None
            if found is not None and found != path:
                self.path.setText(str(found))
            elif found is None and not path.exists():
                self.show_problem(f"{path} does not exist. Is the drive connected?")
                return False
            return True
        if holds_vault(path):
            self.show_problem(
                "This folder already holds a Keepsake backup. To use it, go Back and choose "
                "“Restore from an existing backup”; or choose another folder."
            )
            return False
        check = check_writable(path, self.min_free)
        if not check.ok:
            self.show_problem(check.problem)
            return False
        self.show_problem("")
        return True

    def nextId(self) -> int:
        wiz = self.wizard()
        restoring = isinstance(wiz, SetupWizard) and wiz.restoring
        if self.dropbox.isChecked():
            return PageId.DROPBOX
        return PageId.UNLOCK if restoring else PageId.PASSPHRASE


class DropboxPage(QWizardPage):
    def __init__(self, connector: DropboxConnect | None) -> None:
        super().__init__()
        self.connector = connector
        self.setTitle("Connect your Dropbox")
        self.setSubTitle(
            "Allow Keepsake to use its own folder in your Dropbox, then paste the code "
            "Dropbox shows you."
        )
        self.open = QPushButton("Open Dropbox in my browser")
        self.open.clicked.connect(self._open)
        self.code = QLineEdit()
        self.code.setPlaceholderText("Paste the code here")
        self.connect_btn = QPushButton("Connect")
        self.connect_btn.clicked.connect(self._connect)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.bar = _busy_bar()
        self.connected = False
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("1. Sign in to Dropbox and press Allow:"))
        layout.addWidget(self.open, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addSpacing(8)
        layout.addWidget(QLabel("2. Paste the code Dropbox gives you:"))
        row = QHBoxLayout()
        row.addWidget(self.code, 1)
        row.addWidget(self.connect_btn)
        layout.addLayout(row)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def _open(self) -> None:
        if self.connector is None:
            return
        try:
            url = self.connector.start()
        except Exception as exc:  # the SDK's errors vary; say it plainly
            self.status.setText(f"Could not start the Dropbox sign-in: {exc}")
            return
        QDesktopServices.openUrl(QUrl(url))
        self.status.setText("Your browser opened Dropbox. Come back here with the code.")

    def _connect(self) -> None:
        if self.connector is None or not self.code.text().strip():
            return
        self.bar.show()
        self.connect_btn.setEnabled(False)
        self.connector.finish(self.code.text().strip(), self._finished)

    def _finished(self, outcome: JobOutcome[str]) -> None:
        self.bar.hide()
        self.connect_btn.setEnabled(True)
        self.connected = outcome.ok
        self.status.setText(
            "Connected to Dropbox." if outcome.ok else f"Could not connect: {outcome.message}"
        )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.connected

    def nextId(self) -> int:
        wiz = self.wizard()
        restoring = isinstance(wiz, SetupWizard) and wiz.restoring
        return PageId.UNLOCK if restoring else PageId.PASSPHRASE


class PassphrasePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Choose a passphrase")
        self.setSubTitle(
            "Your backup is encrypted with it. Keepsake never sees it and cannot reset it: "
            "a few random words you can remember work well."
        )
        # Leaving this page creates the vault. It becomes a commit page (no way back)
        # only once that worked: after a failure, Back still leads to another place.
        self.setButtonText(QWizard.WizardButton.NextButton, "Create backup")
        self.setButtonText(QWizard.WizardButton.CommitButton, "Next")
        self.fields = NewPassphraseFields()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("createStatus")
        self.bar = _busy_bar()
        self.creating = False
        self.opened: OpenedVault | None = None
        self.remember = QCheckBox("Remember on this computer (so backups run on their own)")
        self.remember.setChecked(True)
        self.remember_hint = hint(
            "It is kept in the system keyring, never in a file. You can change this later."
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.fields)
        layout.addSpacing(6)
        layout.addWidget(self.remember)
        layout.addWidget(self.remember_hint)
        layout.addSpacing(6)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.fields.first.textChanged.connect(self.completeChanged)
        self.fields.second.textChanged.connect(self.completeChanged)

    def isComplete(self) -> bool:
        return self.opened is not None or (self.fields.valid() and not self.creating)

    def validatePage(self) -> bool:
        """Create the vault; the wizard moves on when that finished (see _created)."""
        if self.opened is not None:
            return True
        if self.creating:
            return False
        wiz = self.wizard()
        assert isinstance(wiz, SetupWizard)
        self.creating = True
        self.fields.setEnabled(False)
        self.status.setText("Creating your encrypted backup…")
        self.bar.show()
        self.completeChanged.emit()
        wiz.service.vaults.create(wiz.storage_page.repo(), self.fields.passphrase(), self._created)
        return False

    def _created(self, outcome: JobOutcome[OpenedVault]) -> None:
        self.creating = False
        self.bar.hide()
        self.fields.setEnabled(True)
        if not outcome.ok:
            self.status.setText(
                f"Could not create the backup: {outcome.message} "
                "Go Back to choose another place, or press Create backup to try again."
            )
            self.completeChanged.emit()
            return
        self.opened = outcome.value
        self.status.setText("")
        self.setCommitPage(True)  # the vault exists: no going back to change its passphrase
        self.fields.setEnabled(False)
        wiz = self.wizard()
        assert isinstance(wiz, SetupWizard)
        if self.opened is not None:
            wiz.vault_opened(self.opened)
            wiz.recovery_page.opened = self.opened
        self.completeChanged.emit()
        wiz.next()

    def failed(self) -> bool:
        """The last attempt to create the vault failed (its reason is in ``status``)."""
        return not self.creating and self.status.text().startswith("Could not")

    def keyring_missing(self, message: str) -> None:
        """No secure keyring: do not offer (or claim) to remember the passphrase."""
        self.remember.setChecked(False)
        self.remember.setEnabled(False)
        self.remember_hint.setText(message)

    def nextId(self) -> int:
        return PageId.RECOVERY


class RecoveryPage(QWizardPage):
    """Shows the recovery key of the vault the passphrase page just created, once."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Your recovery key")
        self.setSubTitle(
            "If you forget your passphrase, this key is the only other way into your "
            "backup. It is shown only now: save or print it."
        )
        self.status = QLabel("Your backup is ready. Here is your recovery key:")
        self.status.setWordWrap(True)
        self.key = QLabel("")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(mono.pointSizeF() * 1.25)
        self.key.setFont(mono)
        self.key.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.key.setAccessibleName("Recovery key")
        self.key.setWordWrap(True)
        self.key.setFrameShape(QLabel.Shape.StyledPanel)
        self.key.setMargin(10)
        self.save_btn = QPushButton("Save to file…")
        self.copy_btn = QPushButton("Copy")
        self.print_btn = QPushButton("Print…")
        self.kit_btn = QPushButton("Save recovery kit (PDF)…")
        self.save_btn.clicked.connect(self._save)
        self.copy_btn.clicked.connect(self._copy)
        self.print_btn.clicked.connect(self._print)
        self.kit_btn.clicked.connect(self._kit)
        self.buttons = QWidget()
        row = QHBoxLayout(self.buttons)
        row.setContentsMargins(0, 0, 0, 0)
        for b in (self.kit_btn, self.save_btn, self.copy_btn, self.print_btn):
            row.addWidget(b)
        row.addStretch(1)
        self.confirm = QCheckBox("I have saved my recovery key somewhere safe")
        self.confirm.toggled.connect(self.completeChanged)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.key)
        layout.addWidget(self.buttons)
        layout.addSpacing(6)
        layout.addWidget(self.confirm)
        layout.addStretch(1)
        self.opened: OpenedVault | None = None

    def wiz(self) -> SetupWizard:
        wiz = self.wizard()
        assert isinstance(wiz, SetupWizard)
        return wiz

    def initializePage(self) -> None:
        self.key.setText(self.recovery_key())

    def recovery_key(self) -> str:
        return self.opened.recovery_key if self.opened else ""

    def isComplete(self) -> bool:
        return self.opened is not None and self.confirm.isChecked()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.recovery_key())
        self.status.setText("Copied. Paste it into a password manager or a note you keep safe.")

    def _save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save recovery key", str(Path.home() / "Keepsake recovery key.txt")
        )
        if path:
            Path(path).write_text(
                f"Keepsake recovery key\n\n{self.recovery_key()}\n\nBackup: {self.wiz().where()}\n",
                encoding="utf-8",
            )
            self.status.setText(f"Saved to {path}. Keep a copy away from this computer.")

    def _kit(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save emergency recovery kit",
            str(Path.home() / "Keepsake recovery kit.pdf"),
            "PDF (*.pdf)",
        )
        if path:
            self.save_kit(path)

    def save_kit(self, path: str) -> None:
        opened = self.opened
        if opened is None:
            return
        try:
            write_recovery_kit(
                path,
                recovery_key=opened.recovery_key,
                where=self.wiz().where(),
                vault_id=opened.vault_id,
            )
        except OSError as exc:
            self.status.setText(f"Could not save the kit: {exc}")
            return
        self.status.setText(f"Recovery kit saved to {path}. Print it and keep it safe.")

    def _print(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter()
        if QPrintDialog(printer, self).exec():
            from PySide6.QtGui import QTextDocument

            doc = QTextDocument()
            doc.setPlainText(
                f"Keepsake recovery key\n\n{self.recovery_key()}\n\nBackup: {self.wiz().where()}"
            )
            doc.print_(printer)

    def nextId(self) -> int:
        return PageId.FOLDERS


class UnlockPage(QWizardPage):
    """Open an existing vault with its passphrase or the recovery key."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Unlock your backup")
        self.setSubTitle("Type the passphrase you chose when you set up Keepsake.")
        self.use_pass = QRadioButton("Passphrase")
        self.use_key = QRadioButton("Recovery key (from your recovery kit)")
        self.use_pass.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.use_pass)
        group.addButton(self.use_key)
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember the passphrase on this computer")
        self.remember.setChecked(True)
        self.remember_hint = hint("")
        self.remember_hint.hide()
        self.can_remember = True
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.bar = _busy_bar()
        layout = QVBoxLayout(self)
        layout.addWidget(self.use_pass)
        layout.addWidget(self.use_key)
        layout.addWidget(self.secret)
        layout.addWidget(self.remember)
        layout.addWidget(self.remember_hint)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.use_key.toggled.connect(self._mode)
        self.secret.textChanged.connect(self.completeChanged)
        self.opened: OpenedVault | None = None
        self.opening = False

    def keyring_missing(self, message: str) -> None:
        """No secure keyring: do not offer (or claim) to remember the passphrase."""
        self.can_remember = False
        self.remember.setChecked(False)
        self.remember.setEnabled(False)
        self.remember_hint.setText(message)
        self.remember_hint.show()

    def _mode(self, key: bool) -> None:
        self.secret.setEchoMode(QLineEdit.EchoMode.Normal if key else QLineEdit.EchoMode.Password)
        self.remember.setEnabled(not key and self.can_remember)
        self.opened = None

    def isComplete(self) -> bool:
        return bool(self.secret.text().strip()) and not self.opening

    def validatePage(self) -> bool:
        if self.opened is not None:
            return True
        wiz = self.wizard()
        assert isinstance(wiz, SetupWizard)
        secret = self.secret.text().strip()
        self.opening = True
        self.completeChanged.emit()
        self.bar.show()
        self.status.setText("Opening your backup… this takes a few seconds.")
        if self.use_key.isChecked():
            wiz.service.vaults.open(wiz.storage_page.repo(), recovery_key=secret, done=self._done)
        else:
            wiz.service.vaults.open(wiz.storage_page.repo(), passphrase=secret, done=self._done)
        return False

    def _done(self, outcome: JobOutcome[OpenedVault]) -> None:
        self.opening = False
        self.bar.hide()
        self.completeChanged.emit()
        if not outcome.ok:
            self.status.setText(outcome.message)
            return
        self.opened = outcome.value
        wiz = self.wizard()
        assert isinstance(wiz, SetupWizard)
        if self.opened is not None:
            wiz.vault_opened(self.opened)
        self.status.setText("Unlocked.")
        wiz.next()

    def nextId(self) -> int:
        return PageId.FOLDERS


class FoldersPage(QWizardPage):
    def __init__(self, home: Path) -> None:
        super().__init__()
        self.setTitle("What should Keepsake back up?")
        self.setSubTitle("Pictures and Documents are a good start. You can change this later.")
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
        self.setTitle("How often?")
        self.setSubTitle(
            "Backups run in the background and only send what changed. If the computer is "
            "off or asleep at the time, the backup runs soon after it wakes up."
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
        self.setTitle("All set")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.restore_all = QCheckBox("Restore all files from the latest backup now")
        self.restore_all.setChecked(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addSpacing(8)
        layout.addWidget(self.restore_all)
        layout.addStretch(1)

    def initializePage(self) -> None:
        wiz = self.wizard()
        assert isinstance(wiz, SetupWizard)
        folders = "".join(f"<li>{f}</li>" for f in wiz.folders_page.editor.folders())
        sched = wiz.schedule_page.editor.schedule().describe()
        if wiz.restoring:
            self.setSubTitle("Your backup is unlocked on this computer.")
            text = (
                f"<p>Backup: <b>{wiz.where()}</b></p>"
                f"<p>From now on Keepsake backs up:</p><ul>{folders}</ul>"
                f"<p>Schedule: {sched}.</p>"
                "<p>Restored files go back to their original places; files already there "
                "are replaced by the backed-up version. To pick single files instead, "
                "clear the box below and use <b>Versions</b>.</p>"
            )
        else:
            self.setSubTitle("Press Finish to start your first backup.")
            text = (
                f"<p>Backup: <b>{wiz.where()}</b></p><p>Folders:</p><ul>{folders}</ul>"
                f"<p>Schedule: {sched}.</p>"
                "<p>The first backup copies everything and can take a while; Keepsake "
                "works in the background and you can close the window.</p>"
            )
        self.summary.setText(text)
        self.restore_all.setVisible(wiz.restoring)


class SetupWizard(QWizard):
    """Emits :attr:`completed` after settings are saved and the first job started."""

    completed = Signal()

    def __init__(
        self,
        service: BackupService,
        *,
        home: Path,
        dropbox: DropboxConnect | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("Set up Keepsake")
        self.setWindowIcon(icons.app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, icons.app_icon().pixmap(48, 48))
        self.setMinimumSize(640, 520)
        self.welcome_page = WelcomePage()
        self.storage_page = StoragePage(home, dropbox is not None)
        self.dropbox_page = DropboxPage(dropbox)
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
        ):
            self.setPage(pid, page)
        self.setStartId(PageId.WELCOME)
        if not service.can_remember():
            self.passphrase_page.keyring_missing(NO_KEYRING_MESSAGE)
            self.unlock_page.keyring_missing(NO_KEYRING_MESSAGE)
        self.opened: OpenedVault | None = None
        self.setButtonText(QWizard.WizardButton.FinishButton, "Finish")

    @property
    def restoring(self) -> bool:
        return self.welcome_page.restore.isChecked()

    def where(self) -> str:
        return self.service.vaults.describe(self.storage_page.repo())

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
        repo = self.storage_page.repo()
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
            QMessageBox.warning(self, "Passphrase not remembered", problem)
            settings = settings.with_(remember_passphrase=False)
        service.update_settings(settings)
        if self.restoring and self.done_page.restore_all.isChecked():
            service.vaults.restore("latest", "/")
        elif not self.restoring:
            service.back_up_now()
        super().accept()
        self.completed.emit()
