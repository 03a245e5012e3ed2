"""A new vault: choose the passphrase (creating the vault runs the key derivation,
asynchronously) and keep the recovery key, shown once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.services.jobs import JobOutcome
from app.services.vault import OpenedVault
from app.ui.dialogs import NewPassphraseFields
from app.ui.recovery_kit import write_recovery_kit
from app.ui.widgets import hint
from app.ui.wizard.base import PageId, WizardBase, busy_bar


class PassphrasePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Choose a passphrase"))
        self.setSubTitle(
            self.tr(
                "Your backup is encrypted with it. Keepsake never sees it and cannot reset it: "
                "a few random words you can remember work well."
            )
        )
        # Leaving this page creates the vault. It becomes a commit page (no way back)
        # only once that worked: after a failure, Back still leads to another place.
        self.setButtonText(QWizard.WizardButton.NextButton, self.tr("Create backup"))
        self.setButtonText(QWizard.WizardButton.CommitButton, self.tr("Next"))
        self.fields = NewPassphraseFields()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("createStatus")
        self.bar = busy_bar()
        self.creating = False
        self.opened: OpenedVault | None = None
        self.remember = QCheckBox(
            self.tr("Remember on this computer (so backups run on their own)")
        )
        self.remember.setChecked(True)
        self.remember_hint = hint(
            self.tr("It is kept in the system keyring, never in a file. You can change this later.")
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
        assert isinstance(wiz, WizardBase)
        self.creating = True
        self.fields.setEnabled(False)
        self.status.setText(self.tr("Creating your encrypted backup…"))
        self.bar.show()
        self.completeChanged.emit()
        wiz.create_vault(self.fields.passphrase(), self._created)
        return False

    def _created(self, outcome: JobOutcome[OpenedVault]) -> None:
        self.creating = False
        self.bar.hide()
        self.fields.setEnabled(True)
        if not outcome.ok:
            self.status.setText(
                self.tr(
                    "Could not create the backup: {reason} "
                    "Go Back to choose another place, or press Create backup to try again."
                ).format(reason=outcome.message)
            )
            self.completeChanged.emit()
            return
        self.opened = outcome.value
        self.status.setText("")
        self.setCommitPage(True)  # the vault exists: no going back to change its passphrase
        self.fields.setEnabled(False)
        wiz = self.wizard()
        assert isinstance(wiz, WizardBase)
        if self.opened is not None:
            wiz.vault_opened(self.opened)
            wiz.show_recovery_key(self.opened)
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
        self.setTitle(self.tr("Your recovery key"))
        self.setSubTitle(
            self.tr(
                "If you forget your passphrase, this key is the only other way into your "
                "backup. It is shown only now: save or print it."
            )
        )
        self.status = QLabel(self.tr("Your backup is ready. Here is your recovery key:"))
        self.status.setWordWrap(True)
        self.key = QLabel("")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(mono.pointSizeF() * 1.25)
        self.key.setFont(mono)
        self.key.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.key.setAccessibleName(self.tr("Recovery key"))
        self.key.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable with Tab, read out
        self.key.setWordWrap(True)
        self.key.setFrameShape(QLabel.Shape.StyledPanel)
        self.key.setMargin(10)
        self.save_btn = QPushButton(self.tr("Save to file…"))
        self.copy_btn = QPushButton(self.tr("Copy"))
        self.print_btn = QPushButton(self.tr("Print…"))
        self.kit_btn = QPushButton(self.tr("Save recovery kit (PDF)…"))
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
        self.confirm = QCheckBox(self.tr("I have saved my recovery key somewhere safe"))
        self.confirm.toggled.connect(self.completeChanged)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.key)
        layout.addWidget(self.buttons)
        layout.addSpacing(6)
        layout.addWidget(self.confirm)
        layout.addStretch(1)
        self.opened: OpenedVault | None = None

    def wiz(self) -> WizardBase:
        wiz = self.wizard()
        assert isinstance(wiz, WizardBase)
        return wiz

    def initializePage(self) -> None:
        self.key.setText(self.recovery_key())
        # A screen reader says the name: the key itself, not only what it is.
        self.key.setAccessibleName(self.tr("Recovery key: {key}").format(key=self.recovery_key()))

    def recovery_key(self) -> str:
        return self.opened.recovery_key if self.opened else ""

    def isComplete(self) -> bool:
        return self.opened is not None and self.confirm.isChecked()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.recovery_key())
        self.status.setText(
            self.tr("Copied. Paste it into a password manager or a note you keep safe.")
        )

    def _save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save recovery key"), str(Path.home() / "Keepsake recovery key.txt")
        )
        if path:
            Path(path).write_text(self._key_text() + "\n", encoding="utf-8")
            self.status.setText(
                self.tr("Saved to {path}. Keep a copy away from this computer.").format(path=path)
            )

    def _key_text(self) -> str:
        return self.tr("Keepsake recovery key\n\n{key}\n\nBackup: {where}").format(
            key=self.recovery_key(), where=self.wiz().where()
        )

    def _kit(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Save emergency recovery kit"),
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
            self.status.setText(self.tr("Could not save the kit: {reason}").format(reason=exc))
            return
        self.status.setText(
            self.tr("Recovery kit saved to {path}. Print it and keep it safe.").format(path=path)
        )

    def _print(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter()
        if QPrintDialog(printer, self).exec():
            from PySide6.QtGui import QTextDocument

            doc = QTextDocument()
            doc.setPlainText(self._key_text())
            doc.print_(printer)

    def nextId(self) -> int:
        return PageId.FOLDERS
