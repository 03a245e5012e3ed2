"""The wizard's Dropbox path, end to end against the HTTPS Dropbox emulator: PKCE
sign-in with the pasted code, tokens into the keyring, a first backup into
``dropbox:NAME`` through the official SDK, then the files back from it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.services.jobs import JobOutcome
from app.store.history import JobStatus
from app.ui.wizard import PageId
from tests.dropbox_emulator import DropboxEmulator
from tests.dropbox_emulator.helpers import approve_in_browser
from tests.gui.conftest import DictSecrets
from tests.gui.helpers import PASSPHRASE, finish, make_app

pytest_plugins = ["tests.dropbox_conftest"]

Cleanup = list[Callable[[], object]]


def test_wizard_connects_dropbox_and_backs_up_into_it(
    qtbot: QtBot,
    tmp_path: Path,
    dropbox_emulator: DropboxEmulator,
    dropbox_env: dict[str, str],
    cleanup: Cleanup,  # after the emulator: the app shuts down before it stops
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No static token: the app must use the refresh token the wizard obtains.
    monkeypatch.delenv("KEEPSAKE_DROPBOX_ACCESS_TOKEN")
    src = tmp_path / "home" / "Documents"
    src.mkdir(parents=True)
    for i in range(4):
        (src / f"letter{i}.txt").write_text(f"dear council {i}\n" * 300)
    secrets = DictSecrets()
    app = make_app(qtbot, tmp_path, cleanup, secrets=secrets)
    app.start()
    wiz = app.show_wizard()
    wiz.welcome_page.new.setChecked(True)
    wiz.next()
    assert wiz.currentId() == PageId.STORAGE
    storage = wiz.storage_page
    assert storage.dropbox.isEnabled()
    storage.dropbox.setChecked(True)
    storage.dropbox_name.setText("Family Backup")
    wiz.next()
    assert wiz.currentId() == PageId.DROPBOX
    page = wiz.dropbox_page
    assert not page.isComplete()
    # "Open Dropbox in my browser" would hand this URL to the desktop's browser.
    assert page.connector is not None
    url = page.connector.start()
    code = approve_in_browser(url, dropbox_emulator.ca_path)
    page.code.setText(code)
    with qtbot.waitSignal(page.completeChanged, timeout=30_000):
        page.connect_btn.click()
    assert page.connected, page.status.text()
    token = secrets.get("dropbox-refresh-token")
    assert token  # in the keyring, and nowhere on disk
    assert not any(token.encode() in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    wiz.next()
    assert wiz.currentId() == PageId.PASSPHRASE
    wiz.passphrase_page.fields.first.setText(PASSPHRASE)
    wiz.passphrase_page.fields.second.setText(PASSPHRASE)
    wiz.next()
    rec = wiz.recovery_page
    created = wiz.passphrase_page
    qtbot.waitUntil(lambda: rec.opened is not None or created.failed(), timeout=60_000)
    assert rec.opened is not None, created.status.text()
    rec.confirm.setChecked(True)
    wiz.next()
    wiz.folders_page.editor.set_folders([str(src)])
    wiz.next()
    wiz.schedule_page.editor.manual.setChecked(True)
    wiz.next()
    assert wiz.currentId() == PageId.DONE
    with qtbot.waitSignal(app.service.jobFinished, timeout=120_000) as blocker:
        finish(wiz)
    outcome: JobOutcome[object] = blocker.args[0]
    record = blocker.args[1]
    assert outcome.ok, outcome.message
    assert record.status is JobStatus.OK and record.files_new == 4
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == "dropbox:Family Backup"
    # The vault really is in the emulator's Dropbox, and its objects are not readable.
    stored = [p for p in dropbox_emulator.root.rglob("*") if p.is_file()]
    assert stored
    assert not any(b"dear council" in p.read_bytes() for p in stored)
