"""Issue 12 item 6 (and item 8's drive root) with the real engine: the location page
refuses a read-only or full place itself, a failed create keeps Back working, and
picking a drive's root finds the backup folder on it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.engine.vault import Vault
from app.main import Keepsake
from app.storage.local import LocalStorage
from app.ui.wizard import PageId, SetupWizard
from tests.gui.helpers import PASSPHRASE, make_app

Cleanup = list[Callable[[], object]]


def _to_storage(qtbot: QtBot, app: Keepsake, restoring: bool = False) -> SetupWizard:
    wiz = app.show_wizard()
    wiz.welcome_page.restore.setChecked(restoring)
    wiz.welcome_page.new.setChecked(not restoring)
    wiz.next()
    assert wiz.currentId() == PageId.STORAGE
    return wiz


def _read_only_place(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes through permissions; sysfs refuses even root
        return Path("/sys/Keepsake Backup")
    ro = tmp_path / "cdrom"
    ro.mkdir()
    ro.chmod(0o555)
    return ro / "Keepsake Backup"


def test_location_page_refuses_read_only_and_full_places(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = _to_storage(qtbot, app)
    page = wiz.storage_page
    page.path.setText(str(_read_only_place(tmp_path)))
    wiz.next()
    assert wiz.currentId() == PageId.STORAGE, "a read-only place was accepted"
    assert page.problem.isVisible() and "cannot write" in page.problem.text()

    page.path.setText(str(tmp_path / "drive" / "Keepsake Backup"))
    (tmp_path / "drive").mkdir()
    page.min_free = shutil.disk_usage(tmp_path).free * 10  # as good as a full drive
    wiz.next()
    assert wiz.currentId() == PageId.STORAGE, "a full drive was accepted"
    assert "free" in page.problem.text()

    page.min_free = 0
    wiz.next()
    assert wiz.currentId() == PageId.PASSPHRASE
    assert not list((tmp_path / "drive").iterdir()), "the check left something behind"


def test_back_works_after_a_failed_create_and_nothing_typed_is_lost(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = _to_storage(qtbot, app)
    usb = tmp_path / "usb"
    usb.mkdir()
    wiz.storage_page.path.setText(str(usb / "Keepsake Backup"))
    wiz.next()
    assert wiz.currentId() == PageId.PASSPHRASE
    page = wiz.passphrase_page
    page.fields.first.setText(PASSPHRASE)
    page.fields.second.setText(PASSPHRASE)
    usb.rmdir()  # the drive is unplugged before "Create backup"
    wiz.next()
    qtbot.waitUntil(page.failed, timeout=30_000)
    assert wiz.currentId() == PageId.PASSPHRASE
    assert "Could not create the backup" in page.status.text()
    back = wiz.button(QWizard.WizardButton.BackButton)
    assert back.isEnabled()
    back.click()
    assert wiz.currentId() == PageId.STORAGE
    other = tmp_path / "other-drive"
    other.mkdir()
    wiz.storage_page.path.setText(str(other / "Keepsake Backup"))
    wiz.next()
    assert wiz.currentId() == PageId.PASSPHRASE
    assert page.fields.passphrase() == PASSPHRASE  # still typed in
    wiz.next()
    rec = wiz.recovery_page
    qtbot.waitUntil(lambda: rec.opened is not None or page.failed(), timeout=60_000)
    assert rec.opened is not None, page.status.text()
    assert wiz.currentId() == PageId.RECOVERY
    assert rec.key.text() == rec.opened.recovery_key
    # The vault exists now: no way back to type a different passphrase.
    assert not wiz.button(QWizard.WizardButton.BackButton).isEnabled()
    assert (other / "Keepsake Backup" / "config").is_file()


@pytest.mark.parametrize("pick_root", [True, False])
def test_restore_finds_the_backup_folder_on_a_picked_drive_root(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, pick_root: bool
) -> None:
    drive = tmp_path / "media" / "ann" / "USB"
    vault_dir = drive / "Keepsake Backup"
    vault_dir.mkdir(parents=True)
    (drive / "Holiday photos").mkdir()
    vault, _key = Vault.create(LocalStorage(vault_dir), PASSPHRASE)
    vault.close()
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = _to_storage(qtbot, app, restoring=True)
    wiz.storage_page.path.setText(str(drive if pick_root else vault_dir))
    wiz.next()
    assert wiz.currentId() == PageId.UNLOCK
    assert wiz.storage_page.repo() == str(vault_dir)
    wiz.unlock_page.secret.setText(PASSPHRASE)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.unlock_page.opened is not None, timeout=30_000)
    assert wiz.currentId() == PageId.FOLDERS
