"""Small dialogs: unlock, change passphrase, and the crash report."""

from __future__ import annotations

import math
import platform
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MIN_PASSPHRASE = 10


def strength(passphrase: str) -> tuple[int, str]:
    """A rough guess (0..4, words) of how hard the passphrase is to guess.

    Counts length and character variety; penalises repeats. It is a hint for
    people, not a security guarantee (the vault's KDF does the real work).
    """
    if not passphrase:
        return 0, ""
    pool = 0
    if any(c.islower() for c in passphrase):
        pool += 26
    if any(c.isupper() for c in passphrase):
        pool += 26
    if any(c.isdigit() for c in passphrase):
        pool += 10
    if any(not c.isalnum() for c in passphrase):
        pool += 33
    unique = len(set(passphrase))
    bits = min(len(passphrase), unique * 2) * math.log2(max(pool, 2))
    # Spaces around or between words do not count: ten spaces are no passphrase.
    if len("".join(passphrase.split())) < MIN_PASSPHRASE:
        return 0, QCoreApplication.translate(
            "NewPassphraseFields", "Too short: use at least {n} letters, digits or signs"
        ).format(n=MIN_PASSPHRASE)
    if unique < 4:
        return 0, QCoreApplication.translate(
            "NewPassphraseFields", "Too repetitive: use a few different words"
        )
    if bits < 50:
        return 1, QCoreApplication.translate("NewPassphraseFields", "Weak: add a few more words")
    if bits < 70:
        return 2, QCoreApplication.translate(
            "NewPassphraseFields", "Fair: a longer phrase would be stronger"
        )
    if bits < 100:
        return 3, QCoreApplication.translate("NewPassphraseFields", "Strong")
    return 4, QCoreApplication.translate("NewPassphraseFields", "Very strong")


class NewPassphraseFields(QWidget):
    """Passphrase + confirmation + strength hint; ``valid()`` when usable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.first = QLineEdit()
        self.first.setEchoMode(QLineEdit.EchoMode.Password)
        self.first.setPlaceholderText(self.tr("At least {n} characters").format(n=MIN_PASSPHRASE))
        self.second = QLineEdit()
        self.second.setEchoMode(QLineEdit.EchoMode.Password)
        self.hint = QLabel(" ")
        self.hint.setWordWrap(True)
        show = QCheckBox(self.tr("Show passphrase"))
        show.toggled.connect(self._show)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.tr("Passphrase:"), self.first)
        form.addRow(self.tr("Type it again:"), self.second)
        form.addRow("", self.hint)
        form.addRow("", show)
        self.first.textChanged.connect(self._update)
        self.second.textChanged.connect(self._update)

    def _show(self, on: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
        self.first.setEchoMode(mode)
        self.second.setEchoMode(mode)

    def _update(self) -> None:
        score, words = strength(self.first.text())
        if self.first.text() and self.second.text() and self.first.text() != self.second.text():
            words = self.tr("The two passphrases are different")
        self.hint.setText(words or " ")

    def valid(self) -> bool:
        score, _ = strength(self.first.text())
        return score >= 1 and self.first.text() == self.second.text()

    def passphrase(self) -> str:
        return self.first.text()


class UnlockDialog(QDialog):
    """Ask for the vault passphrase (nothing is checked here: the caller opens)."""

    def __init__(self, where: str, problem: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Unlock your backup"))
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr("Type the passphrase of your backup in <b>{where}</b>.").format(where=where)
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.problem = QLabel(problem)
        self.problem.setWordWrap(True)
        self.problem.setVisible(bool(problem))
        layout.addWidget(self.problem)
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        layout.addWidget(self.field)
        self.remember = QCheckBox(self.tr("Remember on this computer (in the system keyring)"))
        self.remember.setChecked(True)
        layout.addWidget(self.remember)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Unlock"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)

    def passphrase(self) -> str:
        return self.field.text()


class ChangePassphraseDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Change passphrase"))
        layout = QVBoxLayout(self)
        text = QLabel(
            self.tr(
                "Choose a new passphrase for this backup. Your recovery key keeps working, "
                "and other computers will need the new passphrase."
            )
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.fields = NewPassphraseFields()
        layout.addWidget(self.fields)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(self.tr("Change passphrase"))
        self.ok.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.fields.first.textChanged.connect(self._update)
        self.fields.second.textChanged.connect(self._update)
        self.setMinimumWidth(460)

    def _update(self) -> None:
        self.ok.setEnabled(self.fields.valid())

    def passphrase(self) -> str:
        return self.fields.passphrase()


def crash_report(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    from app import __version__

    return (
        f"Keepsake {__version__}\nPython {sys.version.split()[0]} on {platform.platform()}\n\n"
        + "".join(traceback.format_exception(exc_type, exc, tb))
    )


class CrashDialog(QDialog):
    """Shown by the excepthook: an apology, and a report the user can copy."""

    def __init__(self, report: str, log_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keepsake ran into a problem"))
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Something went wrong inside Keepsake. Your backups are safe; the app keeps "
                "running. If it happens again, please send this report. The log is in {log}."
            ).format(log=log_dir)
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.text = QPlainTextEdit(report)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton(self.tr("Copy report"))
        copy.clicked.connect(lambda: QApplication.clipboard().setText(report))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 420)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
