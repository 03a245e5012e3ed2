"""Where the backup goes: the welcome page (new backup or restore), the storage page
(a folder, Dropbox or S3, checked before anything is written) and the Dropbox sign-in
(the S3 page is in ``app.ui.wizard.s3``).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from app.services.jobs import JobOutcome
from app.services.locations import (
    MIN_FREE_BYTES,
    check_writable,
    find_vault_in,
    holds_vault,
    other_drives,
    same_disk,
)
from app.ui.widgets import hint
from app.ui.wizard.base import DropboxConnect, PageId, WizardBase, busy_bar

# What a Dropbox app key looks like (letters and digits; we also allow - and _).
APP_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{6,64}")


class WelcomePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Welcome to Keepsake"))
        self.setSubTitle(
            self.tr(
                "Keepsake keeps encrypted copies of your photos and documents, so a broken "
                "or stolen computer never takes them with it."
            )
        )
        self.new = QRadioButton(self.tr("Back up this computer"))
        self.restore = QRadioButton(self.tr("Restore from an existing backup"))
        self.new.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.new)
        group.addButton(self.restore)
        layout = QVBoxLayout(self)
        layout.addWidget(self.new)
        layout.addWidget(
            hint(self.tr("Set up a new, encrypted backup. This takes about two minutes."))
        )
        layout.addSpacing(10)
        layout.addWidget(self.restore)
        layout.addWidget(
            hint(
                self.tr(
                    "For a new computer: open a backup made earlier with Keepsake, using its "
                    "passphrase or recovery key, and get your files back."
                )
            )
        )
        layout.addStretch(1)

    def nextId(self) -> int:
        return PageId.STORAGE


class StoragePage(QWizardPage):
    def __init__(self, home: Path, dropbox_available: bool, s3_available: bool = False) -> None:
        super().__init__()
        self.setTitle(self.tr("Where should the backup live?"))
        self.setSubTitle(self.tr("Everything is encrypted on this computer before it is stored."))
        self.local = QRadioButton(self.tr("A folder or external drive"))
        self.dropbox = QRadioButton(self.tr("Dropbox"))
        self.s3 = QRadioButton(self.tr("S3-compatible storage"))
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.dropbox)
        group.addButton(self.s3)
        self.local.setChecked(True)
        self.home = home
        # Another disk first (Time Machine's habit): external drives, then shares.
        self.drives = other_drives()
        first = self.drives[0].path if self.drives else home
        self.path = QLineEdit(str(first / "Keepsake Backup"))
        self.path.setAccessibleName(self.tr("Backup folder"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        self.dropbox_name = QLineEdit("Keepsake")
        self.dropbox_name.setAccessibleName(self.tr("Folder name in Dropbox"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.local)
        row = QHBoxLayout()
        row.setContentsMargins(24, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        self.suggestions: list[QPushButton] = []
        if self.drives:
            srow = QHBoxLayout()
            srow.setContentsMargins(24, 0, 0, 0)
            srow.addWidget(QLabel(self.tr("Found:")))
            for drive in self.drives[:4]:
                button = QPushButton(drive.label)
                button.setToolTip(str(drive.path))
                button.clicked.connect(
                    lambda _=False, p=drive.path: self.path.setText(str(p / "Keepsake Backup"))
                )
                self.suggestions.append(button)
                srow.addWidget(button)
            srow.addStretch(1)
            layout.addLayout(srow)
        self.same_disk_note = QLabel(
            self.tr(
                "This folder is on the same disk as your files: if that disk fails, the "
                "backup is lost with them. An external drive or a network share is safer."
            )
        )
        self.same_disk_note.setWordWrap(True)
        self.same_disk_note.setObjectName("sameDiskWarning")
        self.same_disk_note.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(self.same_disk_note)
        local_hint = hint(
            self.tr(
                "Best on an external drive or a network share: a backup on the same disk "
                "does not survive that disk failing."
            )
        )
        local_hint.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(local_hint)
        layout.addSpacing(10)
        layout.addWidget(self.dropbox)
        drow = QHBoxLayout()
        drow.setContentsMargins(24, 0, 0, 0)
        drow.addWidget(QLabel(self.tr("Folder name in Dropbox:")))
        drow.addWidget(self.dropbox_name, 1)
        layout.addLayout(drow)
        dhint = hint(
            self.tr("Keepsake only sees its own folder in your Dropbox (Apps/Keepsake).")
            if dropbox_available
            else self.tr("Dropbox support is not available in this build.")
        )
        dhint.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(dhint)
        self.dropbox_hint = dhint
        layout.addSpacing(10)
        layout.addWidget(self.s3)
        s3hint = hint(
            self.tr(
                "Backblaze B2, Wasabi, Cloudflare R2, Amazon S3, or a NAS running MinIO: "
                "cheap space for a large library."
            )
            if s3_available
            else self.tr("S3 support is not available in this build.")
        )
        s3hint.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(s3hint)
        self.s3_hint = s3hint
        self.s3.setEnabled(s3_available)
        self.s3.toggled.connect(self._toggled)
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
        self.path.textChanged.connect(lambda _: self._check_same_disk())
        self._check_same_disk()
        self.dropbox_name.textChanged.connect(self.completeChanged)
        self.browse = browse

    def _check_same_disk(self) -> None:
        """Say it plainly (not in grey) when the backup would share a disk with the data."""
        text = self.path.text().strip()
        on_same = bool(text) and same_disk(Path(text).expanduser(), self.home)
        self.same_disk_note.setVisible(on_same and self.local.isChecked())

    def keyring_missing(self) -> None:
        """The Dropbox sign-in lives only in a real OS keyring: without one, say so
        here rather than after the user signed in."""
        self.dropbox.setEnabled(False)
        self.s3.setEnabled(False)  # the S3 secret key lives only in the keyring too
        self.local.setChecked(True)
        self.dropbox_hint.setText(
            self.tr(
                "Dropbox needs a secure system keyring (GNOME Keyring, KWallet, macOS Keychain "
                "or Windows Credential Manager) to keep the sign-in; this computer has none."
            )
        )
        self.s3_hint.setText(
            self.tr(
                "S3 storage needs a secure system keyring to keep the secret key; this "
                "computer has none."
            )
        )

    def _toggled(self, _checked: bool) -> None:
        local = self.local.isChecked()
        self.dropbox_name.setEnabled(self.dropbox.isChecked())
        self.path.setEnabled(local)
        self.browse.setEnabled(local)
        self._check_same_disk()
        self.completeChanged.emit()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose where to keep the backup"))
        if folder:
            self.path.setText(folder)

    def repo(self) -> str:
        if self.dropbox.isChecked():
            return f"dropbox:{self.dropbox_name.text().strip()}"
        return str(Path(self.path.text().strip()).expanduser())

    def isComplete(self) -> bool:
        if self.s3.isChecked():
            return True  # the S3 page tests the connection
        if self.dropbox.isChecked():
            return bool(self.dropbox_name.text().strip())
        return bool(self.path.text().strip())

    def show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def validatePage(self) -> bool:
        """Check the folder here, where it can still be changed: a read-only or full
        drive found only after "Create backup" was a dead end."""
        if self.dropbox.isChecked() or self.s3.isChecked():
            return True
        wiz = self.wizard()
        path = Path(self.repo())
        if isinstance(wiz, WizardBase) and wiz.restoring:
            # A drive's root picked instead of the backup folder on it: use the one inside.
            found = find_vault_in(path) if path.is_dir() else None
            if found is not None and found != path:
                self.path.setText(str(found))
            elif found is None and not path.exists():
                self.show_problem(
                    self.tr("{path} does not exist. Is the drive connected?").format(path=path)
                )
                return False
            return True
        if holds_vault(path):
            self.show_problem(
                wiz.vault_found_problem()
                if isinstance(wiz, WizardBase)
                else self.tr("This folder already holds a Keepsake backup.")
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
        restoring = isinstance(wiz, WizardBase) and wiz.restoring
        if self.dropbox.isChecked():
            return PageId.DROPBOX
        if self.s3.isChecked():
            return PageId.S3
        return PageId.UNLOCK if restoring else PageId.PASSPHRASE


class DropboxPage(QWizardPage):
    def __init__(self, connector: DropboxConnect | None) -> None:
        super().__init__()
        self.connector = connector
        self.setTitle(self.tr("Connect your Dropbox"))
        self.setSubTitle(
            self.tr(
                "Allow Keepsake to use its own folder in your Dropbox, then paste the code "
                "Dropbox shows you."
            )
        )
        self.open = QPushButton(self.tr("Open Dropbox in my browser"))
        self.open.clicked.connect(self._open)
        self.code = QLineEdit()
        self.code.setAccessibleName(self.tr("Code from Dropbox"))
        self.code.setPlaceholderText(self.tr("Paste the code here"))
        self.connect_btn = QPushButton(self.tr("Connect"))
        self.connect_btn.clicked.connect(self._connect)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.bar = busy_bar()
        self.connected = False
        layout = QVBoxLayout(self)
        self.key_box = self._key_guide()
        layout.addWidget(self.key_box)
        layout.addWidget(QLabel(self.tr("1. Sign in to Dropbox and press Allow:")))
        layout.addWidget(self.open, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addSpacing(8)
        layout.addWidget(QLabel(self.tr("2. Paste the code Dropbox gives you:")))
        row = QHBoxLayout()
        row.addWidget(self.code, 1)
        row.addWidget(self.connect_btn)
        layout.addLayout(row)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def _key_guide(self) -> QGroupBox:
        """This build has no Dropbox app key: how to register one's own, in five steps."""
        box = QGroupBox(self.tr("First, a Dropbox app key"))
        guide = QLabel(
            self.tr(
                "This copy of Keepsake has no Dropbox app key built in. Register a "
                "private one (free, two minutes):<ol>"
                "<li>Open <a href='https://www.dropbox.com/developers/apps/create'>"
                "dropbox.com/developers/apps/create</a> and sign in.</li>"
                "<li>Choose <b>Scoped access</b>, then <b>App folder</b>, and name it, "
                "e.g. “Keepsake Ann”. Press <b>Create app</b>.</li>"
                "<li>On the <b>Permissions</b> tab tick <b>files.metadata.write</b>, "
                "<b>files.content.write</b> and <b>files.content.read</b>; press "
                "<b>Submit</b>.</li>"
                "<li>On the <b>Settings</b> tab, set <b>Allow public clients (Implicit "
                "Grant &amp; PKCE)</b> to <b>Allow</b>.</li>"
                "<li>Copy the <b>App key</b> (not the App secret) and paste it here:</li>"
                "</ol>"
            )
        )
        guide.setWordWrap(True)
        guide.setTextFormat(Qt.TextFormat.RichText)
        guide.setOpenExternalLinks(True)
        self.app_key = QLineEdit()
        self.app_key.setAccessibleName(self.tr("Dropbox app key"))
        self.app_key.setPlaceholderText(self.tr("App key, e.g. a1b2c3d4e5f6g7h"))
        self.check_key = QPushButton(self.tr("Check key"))
        self.check_key.clicked.connect(self._check_key)
        self.app_key.textChanged.connect(self._key_edited)
        self.key_status = QLabel("")
        self.key_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.app_key, 1)
        row.addWidget(self.check_key)
        inner = QVBoxLayout(box)
        inner.addWidget(guide)
        inner.addLayout(row)
        inner.addWidget(self.key_status)
        self.check_key.setEnabled(False)
        return box

    def initializePage(self) -> None:
        """Without a usable app key, only the guide is active until a key checks out."""
        has_key = self.connector is not None and bool(self.connector.app_key())
        self.key_box.setVisible(not has_key)
        self._set_flow_enabled(has_key)

    def _set_flow_enabled(self, on: bool) -> None:
        for widget in (self.open, self.code, self.connect_btn):
            widget.setEnabled(on)

    def _key_edited(self, text: str) -> None:
        self.check_key.setEnabled(bool(APP_KEY_PATTERN.fullmatch(text.strip())))
        self.key_status.setText(
            ""
            if not text.strip() or APP_KEY_PATTERN.fullmatch(text.strip())
            else self.tr("An app key is letters and digits only, like a1b2c3d4e5f6g7h.")
        )
        self._set_flow_enabled(False)

    def _check_key(self) -> None:
        if self.connector is None:
            return
        key = self.app_key.text().strip()
        self.check_key.setEnabled(False)
        self.key_status.setText(self.tr("Checking the key with Dropbox…"))
        self.connector.check_key(key, lambda outcome: self._key_checked(key, outcome))

    def _key_checked(self, key: str, outcome: JobOutcome[None]) -> None:
        self.check_key.setEnabled(True)
        if not outcome.ok:
            self.key_status.setText(outcome.message)
            return
        wiz = self.wizard()
        if isinstance(wiz, WizardBase):
            wiz.service.update_settings(wiz.service.settings.with_(dropbox_app_key=key))
        self.key_status.setText(self.tr("Dropbox knows this key. Now sign in:"))
        self._set_flow_enabled(True)

    def _open(self) -> None:
        if self.connector is None:
            return
        try:
            url = self.connector.start()
        except Exception as exc:  # the SDK's errors vary; say it plainly
            self.status.setText(
                self.tr("Could not start the Dropbox sign-in: {reason}").format(reason=exc)
            )
            return
        QDesktopServices.openUrl(QUrl(url))
        self.status.setText(self.tr("Your browser opened Dropbox. Come back here with the code."))

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
            self.tr("Connected to Dropbox.")
            if outcome.ok
            else self.tr("Could not connect: {reason}").format(reason=outcome.message)
        )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.connected

    def nextId(self) -> int:
        wiz = self.wizard()
        restoring = isinstance(wiz, WizardBase) and wiz.restoring
        return PageId.UNLOCK if restoring else PageId.PASSPHRASE
