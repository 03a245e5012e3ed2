"""Issue 12 item 9: the location page suggests external drives and network shares
first and says plainly when the backup would share a disk with the data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.services.locations import other_drives, same_disk
from app.ui.wizard import PageId
from tests.gui.helpers import PASSPHRASE, drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]


def _fake_mounts(tmp_path: Path) -> tuple[Path, Path, Path]:
    media = tmp_path / "media"
    usb = media / "ann" / "USB STICK"
    nas = tmp_path / "net" / "nas"
    cdrom = media / "ann" / "CDROM"
    for folder in (usb, nas, cdrom):
        folder.mkdir(parents=True)
    usb_field = str(usb).replace(" ", "\\040")
    (tmp_path / "mounts").write_text(
        "/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n"
        "proc /proc proc rw 0 0\n"
        f"/dev/sr0 {cdrom} iso9660 ro,nosuid 0 0\n"
        f"nas.local:/backups {nas} nfs4 rw,relatime 0 0\n"
        f"/dev/sdb1 {usb_field} vfat rw,nosuid,nodev 0 0\n"
    )
    return media, usb, nas


def test_external_drives_first_then_shares_never_read_only(tmp_path: Path) -> None:
    media, usb, nas = _fake_mounts(tmp_path)
    drives = other_drives(tmp_path / "mounts", (media,))
    assert [(d.path, d.kind) for d in drives] == [(usb, "removable"), (nas, "network")]
    assert drives[0].label == "USB STICK (external drive)"
    assert other_drives(tmp_path / "missing", (media,)) == []


def test_same_disk_compares_devices(tmp_path: Path) -> None:
    assert same_disk(tmp_path / "not" / "yet" / "there", tmp_path)
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system here")
    assert not same_disk(shm / "Keepsake Backup", tmp_path)


def test_wizard_suggests_the_external_drive_and_warns_about_the_same_disk(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, monkeypatch: pytest.MonkeyPatch
) -> None:
    media, usb, nas = _fake_mounts(tmp_path)
    monkeypatch.setattr("app.services.drives.MOUNTS_FILE", tmp_path / "mounts")
    monkeypatch.setattr("app.services.drives.MEDIA_ROOTS", (media,))
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = app.show_wizard()
    wiz.next()
    assert wiz.currentId() == PageId.STORAGE
    page = wiz.storage_page
    assert page.path.text() == str(usb / "Keepsake Backup")  # the USB stick by default
    assert [b.text() for b in page.suggestions] == [
        "USB STICK (external drive)",
        "nas (network share)",
    ]
    page.suggestions[1].click()
    assert page.path.text() == str(nas / "Keepsake Backup")
    # These fake "drives" are folders on the home's disk: said plainly, not in grey.
    assert page.same_disk_note.isVisibleTo(page)
    page.path.setText(str(tmp_path / "home" / "Keepsake Backup"))
    assert page.same_disk_note.isVisibleTo(page)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.stat(shm).st_dev != os.stat(tmp_path).st_dev:
        page.path.setText(str(shm / "Keepsake Backup"))
        assert not page.same_disk_note.isVisibleTo(page)


def test_settings_moves_the_backup_with_its_history_and_connects_an_existing_one(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    src = tmp_path / "home" / "Documents"
    src.mkdir(parents=True)
    (src / "a.txt").write_text("first\n")
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        finish(wiz)
    page = app.window.settings_page
    new_drive = tmp_path / "new-drive"
    new_drive.mkdir()
    page.choose_folder = lambda: str(new_drive)
    page.move_btn.click()
    moved = new_drive / "Keepsake Backup"
    qtbot.waitUntil(
        lambda: (
            app.service.settings.vault is not None
            and app.service.settings.vault.repo == str(new_drive)
        ),
        timeout=60_000,
    )
    assert "now go to" in page.message.text()
    assert (new_drive / "config").is_file() and not moved.exists()  # empty: used as is
    assert (tmp_path / "vault" / "config").is_file()  # the old place is left alone
    assert app.service.remembered_passphrase() == PASSPHRASE
    (src / "a.txt").write_text("second\n")
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        app.service.back_up_now()
    assert blocker.args[0].ok, blocker.args[0].message
    with qtbot.waitCallback(timeout=30_000) as listed:
        app.service.vaults.snapshots(listed)
    assert len(listed.args[0].value) == 2  # the history came along

    # Back to the old drive: a folder holding a backup is connected, not copied over.
    page.choose_folder = lambda: str(tmp_path)  # its root: the backup inside is found
    (tmp_path / "new-drive").rename(tmp_path / ".hidden-new-drive")
    page.move_btn.click()
    qtbot.waitUntil(
        lambda: (
            app.service.settings.vault is not None
            and app.service.settings.vault.repo == str(tmp_path / "vault")
        ),
        timeout=60_000,
    )
