"""Building the app for a test and driving the first-run wizard like a person would."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.main import AppConfig, Keepsake, keyring_secrets
from app.services.backups import Secrets
from app.services.vault import VaultGateway
from app.ui.wizard import PageId, SetupWizard
from tests.gui.conftest import DictSecrets

PASSPHRASE = "correct horse battery staple"


def make_app(
    qtbot: QtBot,
    tmp: Path,
    cleanup: list[Callable[[], object]],
    *,
    gateway: VaultGateway | None = None,
    secrets: DictSecrets | None = None,
    clock: Callable[[], datetime] | None = None,
    use_tray: bool = True,
    os_keyring: bool = False,
) -> Keepsake:
    """``os_keyring``: the app's real keyring functions (whatever backend the test
    installed with ``keyring.set_keyring``) instead of a dict."""
    secrets = secrets or DictSecrets()
    config = AppConfig(
        config_dir=tmp / "config",
        cache_dir=tmp / "cache",
        log_dir=tmp / "log",
        home=tmp / "home",
        secrets=keyring_secrets()
        if os_keyring
        else Secrets(secrets.get, secrets.set, secrets.delete),
        gateway=gateway,
        autostart=lambda on: None,
        use_tray=use_tray and not os.environ.get("NOTRAY"),
        quit_app=lambda: None,
    )
    if clock is not None:
        config.clock = clock
    app = Keepsake(config)
    # Not qtbot.addWidget(app.window): closing it may ask "Quit?" (no tray offscreen);
    # app.shutdown closes it without asking.
    cleanup.append(app.shutdown)
    return app


def drive_wizard(
    qtbot: QtBot, app: Keepsake, vault_dir: Path, folders: list[Path], timeout: int = 60_000
) -> SetupWizard:
    """New-backup path to the Finish button (which starts the first backup)."""
    wiz = app.show_wizard()
    assert wiz.currentId() == PageId.WELCOME
    wiz.welcome_page.new.setChecked(True)
    wiz.next()
    assert wiz.currentId() == PageId.STORAGE
    wiz.storage_page.local.setChecked(True)
    wiz.storage_page.path.setText(str(vault_dir))
    wiz.next()
    assert wiz.currentId() == PageId.PASSPHRASE
    page = wiz.passphrase_page
    assert not page.isComplete()
    page.fields.first.setText(PASSPHRASE)
    page.fields.second.setText(PASSPHRASE + "x")
    assert not page.isComplete()
    page.fields.second.setText(PASSPHRASE)
    assert page.isComplete()
    wiz.next()
    rec = wiz.recovery_page
    qtbot.waitUntil(lambda: rec.opened is not None or page.failed(), timeout=timeout)
    assert rec.opened is not None, page.status.text()
    assert wiz.currentId() == PageId.RECOVERY
    assert rec.key.text() and rec.key.isVisible()
    assert not rec.isComplete()  # must confirm the key was saved
    rec.confirm.setChecked(True)
    wiz.next()
    assert wiz.currentId() == PageId.FOLDERS
    wiz.folders_page.editor.set_folders([str(f) for f in folders])
    wiz.next()
    assert wiz.currentId() == PageId.SCHEDULE
    wiz.schedule_page.editor.manual.setChecked(True)
    wiz.next()
    assert wiz.currentId() == PageId.DONE
    return wiz


def finish(wiz: SetupWizard) -> None:
    wiz.button(QWizard.WizardButton.FinishButton).click()
