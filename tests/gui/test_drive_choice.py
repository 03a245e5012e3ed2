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
from tests.gui.helpers import make_app

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


# Moving an existing backup (Settings › Storage): tests/gui/test_move.py.
