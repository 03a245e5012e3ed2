"""The window of ``keepsake gui --browse REPO``: the Versions page over any vault
(another computer's, an old drive), without touching this computer's settings."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMainWindow, QWidget

from app.services.browser import BrowserService
from app.services.jobs import JobOutcome
from app.services.vault import VaultService
from app.ui import icons
from app.ui.versions import VersionsPage


class BrowseWindow(QMainWindow):
    """Unlocks ``repo`` with a passphrase (or asks), then shows its versions."""

    def __init__(
        self,
        vaults: VaultService,
        browser: BrowserService,
        repo: str,
        *,
        on_close: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.vaults = vaults
        self.browser = browser
        self.repo = repo
        self._on_close = on_close
        self.setObjectName("browseWindow")
        self.setWindowTitle(f"Keepsake: browsing {vaults.describe(repo)}")
        self.setWindowIcon(icons.app_icon())
        self.resize(1000, 660)
        self.page = VersionsPage(browser, unlock=self.ask_secret)
        self.setCentralWidget(self.page)
        self.problem = ""
        self.session: object = None  # what owns this window's services (app.main)

    def unlock(self, secret: str) -> None:
        """Open the vault with a passphrase, or a recovery key if it looks like one."""
        recovery = _looks_like_recovery_key(secret)
        self.page.status.setText(self.tr("Unlocking…"))
        self.vaults.open(
            self.repo,
            passphrase=None if recovery else secret,
            recovery_key=secret if recovery else None,
            done=self._opened,
        )

    def _opened(self, outcome: JobOutcome[object]) -> None:
        if outcome.ok:
            self.page.status.setText("")
            return
        self.problem = outcome.message
        self.page.status.setText(outcome.message)
        self.page.unlock_btn.setVisible(True)

    def ask_secret(self) -> None:
        text, ok = QInputDialog.getText(
            self,
            self.tr("Unlock the backup"),
            self.tr("Passphrase or recovery key of {where}:").format(
                where=self.vaults.describe(self.repo)
            )
            + (f"\n\n{self.problem}" if self.problem else ""),
            QLineEdit.EchoMode.Password,
        )
        if ok and text:
            self.unlock(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._on_close()
        super().closeEvent(event)


def _looks_like_recovery_key(text: str) -> bool:
    parts = text.strip().split("-")
    return len(parts) == 11 and all(p.isalnum() and len(p) == 5 for p in parts)
