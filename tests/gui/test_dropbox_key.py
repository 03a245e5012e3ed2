"""Issue 12 item 10 against the Dropbox emulator: a build without a Dropbox app key
shows, in the wizard, how to register one; the pasted key is checked with Dropbox
before the user is sent to sign in, then connecting works with it."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.store.secrets import DROPBOX_REFRESH_TOKEN
from app.ui.wizard import PageId
from tests.dropbox_emulator import DropboxEmulator
from tests.dropbox_emulator.helpers import approve_in_browser
from tests.gui.conftest import DictSecrets
from tests.gui.helpers import make_app

pytest_plugins = ["tests.dropbox_conftest"]

Cleanup = list[Callable[[], object]]


def test_wizard_guides_registering_an_app_key_and_checks_it(
    qtbot: QtBot,
    tmp_path: Path,
    dropbox_emulator: DropboxEmulator,
    dropbox_env: dict[str, str],
    cleanup: Cleanup,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KEEPSAKE_DROPBOX_APP_KEY")  # a build with no key anywhere
    monkeypatch.delenv("KEEPSAKE_DROPBOX_ACCESS_TOKEN")
    secrets = DictSecrets()
    app = make_app(qtbot, tmp_path, cleanup, secrets=secrets, use_tray=False)
    app.start()
    wiz = app.show_wizard()
    wiz.next()
    wiz.storage_page.dropbox.setChecked(True)
    wiz.next()
    assert wiz.currentId() == PageId.DROPBOX
    page = wiz.dropbox_page
    assert page.key_box.isVisible()
    assert "developers/apps" in page.key_box.findChildren(type(page.key_status))[0].text()
    assert not page.open.isEnabled() and not page.connect_btn.isEnabled()

    page.app_key.setText("not a key!")
    assert not page.check_key.isEnabled()
    assert "letters and digits" in page.key_status.text()

    page.app_key.setText("unknownappkey12")  # well formed, but no such app
    with qtbot.waitCallback(timeout=30_000) as checked:
        page.connector.check_key(page.app_key.text(), checked)  # type: ignore[union-attr]
    assert not checked.args[0].ok
    page.check_key.click()
    qtbot.waitUntil(lambda: "does not know" in page.key_status.text(), timeout=30_000)
    assert not page.open.isEnabled()
    assert app.service.settings.dropbox_app_key == ""

    page.app_key.setText(dropbox_emulator.app_key)  # the key of the registered app
    page.check_key.click()
    qtbot.waitUntil(page.open.isEnabled, timeout=30_000)
    assert app.service.settings.dropbox_app_key == dropbox_emulator.app_key

    assert page.connector is not None
    url = page.connector.start()
    code = approve_in_browser(url, dropbox_emulator.ca_path)
    page.code.setText(code)
    with qtbot.waitSignal(page.completeChanged, timeout=30_000):
        page.connect_btn.click()
    assert page.connected, page.status.text()
    assert secrets.get(DROPBOX_REFRESH_TOKEN)


def test_a_packager_key_is_built_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """installers/build.py writes app/core/_build_config.py; the app reads its key."""
    baked = types.ModuleType("app.core._build_config")
    baked.DROPBOX_APP_KEY = "packagerkey123"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app.core._build_config", baked)
    from app.storage.dropbox.config import _built_in_app_key

    assert _built_in_app_key() == "packagerkey123"
