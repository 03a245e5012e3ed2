"""The desktop app with only a plaintext keyring (issue 11 item 13): the wizard
and Settings say the passphrase cannot be remembered, nothing is written to the
plaintext file, and nothing claims otherwise."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring
from pytestqt.qtbot import QtBot

from app.main import Keepsake
from tests.gui.helpers import PASSPHRASE, drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]


@pytest.fixture
def plaintext_keyring(tmp_path: Path) -> Iterator[Path]:
    previous = keyring.get_keyring()
    ring = PlaintextKeyring()
    ring.file_path = str(tmp_path / "keyring_pass.cfg")
    keyring.set_keyring(ring)
    try:
        yield Path(ring.file_path)
    finally:
        keyring.set_keyring(previous)


def first_backup(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup) -> Keepsake:
    src = tmp_path / "home" / "Documents"
    src.mkdir(parents=True)
    (src / "a.txt").write_text("hello\n")
    app = make_app(qtbot, tmp_path, cleanup, os_keyring=True)
    app.start()
    assert app.wizard is not None
    storage = app.wizard.storage_page
    assert not storage.dropbox.isEnabled()  # its sign-in could not be kept
    assert "secure system keyring" in storage.dropbox_hint.text()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    page = wiz.passphrase_page
    assert not page.remember.isChecked() and not page.remember.isEnabled()
    assert "no secure system keyring" in page.remember_hint.text()
    assert "never in a file" not in page.remember_hint.text()
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        finish(wiz)
    assert blocker.args[0].ok, blocker.args[0].message
    return app


def test_wizard_does_not_remember_into_a_plaintext_keyring(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, plaintext_keyring: Path
) -> None:
    app = first_backup(qtbot, tmp_path, cleanup)
    assert not app.service.settings.remember_passphrase
    assert app.service.remembered_passphrase() is None
    if plaintext_keyring.exists():
        text = plaintext_keyring.read_text()
        assert PASSPHRASE not in text
        assert base64.b64encode(PASSPHRASE.encode()).decode() not in text
    # Settings: the box is off and disabled, and the page says why.
    settings = app.window.settings_page
    assert not settings.remember.isChecked() and not settings.remember.isEnabled()
    assert "no secure system keyring" in settings.remember_hint.text()
    # The unlock dialog does not offer it either.
    app.window.ask_passphrase()
    dialog = app.window.unlock_dialog
    assert dialog is not None
    assert not dialog.remember.isChecked() and not dialog.remember.isVisibleTo(dialog)
    dialog.reject()
