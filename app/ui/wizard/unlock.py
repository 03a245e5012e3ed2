"""An existing vault on a new computer: unlock it with the passphrase or the recovery key."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from app.services.jobs import JobOutcome
from app.services.vault import OpenedVault
from app.ui.widgets import hint
from app.ui.wizard.base import PageId, WizardBase, busy_bar


class UnlockPage(QWizardPage):
    """Open an existing vault with its passphrase or the recovery key."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Unlock your backup"))
        self.setSubTitle(self.tr("Type the passphrase you chose when you set up Keepsake."))
        self.use_pass = QRadioButton(self.tr("Passphrase"))
        self.use_key = QRadioButton(self.tr("Recovery key (from your recovery kit)"))
        self.use_pass.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.use_pass)
        group.addButton(self.use_key)
        self.secret = QLineEdit()
        self.secret.setAccessibleName(self.tr("Passphrase or recovery key"))
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox(self.tr("Remember the passphrase on this computer"))
        self.remember.setChecked(True)
        self.remember_hint = hint("")
        self.remember_hint.hide()
        self.can_remember = True
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.bar = busy_bar()
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
        assert isinstance(wiz, WizardBase)
        secret = self.secret.text().strip()
        self.opening = True
        self.completeChanged.emit()
        self.bar.show()
        self.status.setText(self.tr("Opening your backup… this takes a few seconds."))
        wiz.open_vault(secret, self.use_key.isChecked(), self._done)
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
        assert isinstance(wiz, WizardBase)
        if self.opened is not None:
            wiz.vault_opened(self.opened)
        self.status.setText(self.tr("Unlocked."))
        wiz.next()

    def nextId(self) -> int:
        return PageId.FOLDERS
