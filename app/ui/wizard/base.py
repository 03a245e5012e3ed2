"""The wizard's shared parts: page ids, the Dropbox connector protocol, the busy
bar, and :class:`WizardBase`, the contract between the pages and the wizard.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Protocol

from PySide6.QtWidgets import (
    QProgressBar,
    QWidget,
    QWizard,
)

from app.services.backups import BackupService
from app.services.jobs import JobOutcome
from app.services.vault import OpenedVault
from app.store.settings import Schedule


class DropboxConnect(Protocol):
    """What the Dropbox page needs (``app.services.dropbox.DropboxConnector``)."""

    def start(self) -> str: ...

    def finish(self, code: str, done: Callable[[JobOutcome[str]], None]) -> None: ...

    def app_key(self) -> str: ...

    def check_key(self, key: str, done: Callable[[JobOutcome[None]], None]) -> None: ...


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
    S3 = 9
    # Settings › Storage (app.ui.wizard.move): what to do, then the copy and switch.
    MOVE_CHOICE = 10
    MOVE_FINISH = 11


def busy_bar() -> QProgressBar:
    """The indeterminate bar a page shows while a slow step runs."""
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setMaximumHeight(8)
    bar.hide()
    return bar


class WizardBase(QWizard):
    """What the pages ask of the wizard they sit on; :class:`SetupWizard` answers.

    The pages live in their own modules and know the wizard only through this
    class, so the wizard module can import every page without an import cycle.
    """

    def __init__(self, service: BackupService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service

    @property
    def restoring(self) -> bool:
        """True on the "Restore from an existing backup" path."""
        raise NotImplementedError

    def repo(self) -> str:
        """Where the backup is (a folder path, ``dropbox:NAME`` or ``s3:BUCKET/PREFIX``),
        as chosen so far."""
        raise NotImplementedError

    def where(self) -> str:
        """``repo()`` as people read it."""
        raise NotImplementedError

    def vault_opened(self, opened: OpenedVault) -> None:
        """A page created or unlocked the vault."""
        raise NotImplementedError

    def show_recovery_key(self, opened: OpenedVault) -> None:
        """Hand a just-created vault (and its recovery key) to the recovery page."""
        raise NotImplementedError

    def create_vault(
        self, passphrase: str, done: Callable[[JobOutcome[OpenedVault]], None]
    ) -> None:
        """The passphrase page's "Create backup": a new vault at ``repo()``. The setup
        wizard makes it this app's vault; moving to a new one (Settings) does not."""
        self.service.vaults.create(self.repo(), passphrase, done)

    def open_vault(
        self,
        secret: str,
        recovery_key: bool,
        done: Callable[[JobOutcome[OpenedVault]], None],
    ) -> None:
        """The unlock page's Next: open the vault at ``repo()``."""
        if recovery_key:
            self.service.vaults.open(self.repo(), recovery_key=secret, done=done)
        else:
            self.service.vaults.open(self.repo(), passphrase=secret, done=done)

    def vault_found_problem(self) -> str:
        """What the storage page says when a new backup's folder already holds one."""
        return self.tr(
            "This folder already holds a Keepsake backup. To use it, go Back and choose "
            "“Restore from an existing backup”; or choose another folder."
        )

    def chosen_folders(self) -> list[str]:
        raise NotImplementedError

    def chosen_schedule(self) -> Schedule:
        raise NotImplementedError
