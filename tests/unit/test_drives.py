"""Issue 12 item 9: other disks on macOS and Windows (Linux: tests/gui/test_drive_choice.py).

The Windows half runs on any OS against a fake ``kernel32``: a table of drives
answering the four API calls the way Windows does, through the same ctypes buffers
and pointers the real DLL fills in. The OS API is not our code; the marshalling and
the classification are.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.services import drives
from app.services.drives import (
    DRIVE_CDROM,
    DRIVE_FIXED,
    DRIVE_RAMDISK,
    DRIVE_REMOTE,
    DRIVE_REMOVABLE,
    FILE_READ_ONLY_VOLUME,
    NETWORK,
    OTHER_DISK,
    REMOVABLE,
    mac_drives,
    windows_drives,
)


@dataclass(frozen=True)
class FakeVolume:
    drive_type: int
    label: str = ""
    flags: int = 0
    free: int = 0
    has_medium: bool = True


class FakeKernel32:
    """``kernel32`` as ctypes shows it, over a table ``{"E": FakeVolume(...)}``."""

    def __init__(self, table: dict[str, FakeVolume]) -> None:
        self.table = table
        self.calls: list[str] = []

    def _vol(self, root: str) -> FakeVolume | None:
        assert root.endswith(":\\"), root  # the API wants "E:\\", not "E:" or "E"
        return self.table.get(root[0])

    def GetLogicalDrives(self) -> int:
        self.calls.append("GetLogicalDrives")
        return sum(1 << (ord(letter) - ord("A")) for letter in self.table)

    def GetDriveTypeW(self, root: str) -> int:
        vol = self._vol(root)
        return vol.drive_type if vol else 1  # DRIVE_NO_ROOT_DIR

    def GetVolumeInformationW(self, *args: Any) -> int:
        root, name, name_size, _serial, _max_len, flags, fs_name, fs_size = args
        vol = self._vol(root)
        if vol is None or not vol.has_medium:
            return 0  # ERROR_NOT_READY
        assert name_size == len(name) and fs_size == len(fs_name)
        name.value = vol.label
        fs_name.value = "NTFS"
        flags.contents.value = vol.flags
        return 1

    def GetDiskFreeSpaceExW(self, *args: Any) -> int:
        root, free, total, total_free = args
        vol = self._vol(root)
        if vol is None:
            return 0
        assert total is None and total_free is None
        free.contents.value = vol.free
        return 1


def test_windows_drives_classified_from_the_kernel32_answers() -> None:
    kernel32 = FakeKernel32(
        {
            "C": FakeVolume(DRIVE_FIXED, "Windows", free=50 << 30),
            "D": FakeVolume(DRIVE_CDROM, "DVD", flags=FILE_READ_ONLY_VOLUME),
            "E": FakeVolume(DRIVE_REMOVABLE, "BACKUP", free=60 << 30),
            "F": FakeVolume(DRIVE_REMOVABLE, has_medium=False),  # an empty card reader
            "G": FakeVolume(DRIVE_FIXED, "Passport", free=900 << 30),  # a USB hard disk
            "H": FakeVolume(DRIVE_REMOVABLE, "LOCKED", flags=FILE_READ_ONLY_VOLUME),
            "R": FakeVolume(DRIVE_RAMDISK, "RAM"),
            "S": FakeVolume(DRIVE_FIXED, "System Reserved"),
            "Z": FakeVolume(DRIVE_REMOTE, "", free=2 << 40),  # a mapped share
            "Y": FakeVolume(DRIVE_REMOVABLE, "SMALL", free=1 << 30),
        }
    )
    found = windows_drives(kernel32, system_drive="c:")
    assert [(str(d.path), d.kind, d.free_bytes) for d in found] == [
        ("E:\\", REMOVABLE, 60 << 30),  # external drives first, most room first
        ("Y:\\", REMOVABLE, 1 << 30),
        ("G:\\", OTHER_DISK, 900 << 30),  # then other disks (never the system's C:)
        ("Z:\\", NETWORK, 2 << 40),  # then shares
    ]
    assert [d.label for d in found] == [
        "BACKUP (E:) (external drive)",
        "SMALL (Y:) (external drive)",
        "Passport (G:) (other disk)",
        "Z: (network share)",
    ]
    assert kernel32.calls == ["GetLogicalDrives"]


def test_windows_free_space_unknown_still_suggests_the_drive() -> None:
    class NoFreeSpace(FakeKernel32):
        def GetDiskFreeSpaceExW(self, *args: Any) -> int:
            return 0

    found = windows_drives(NoFreeSpace({"E": FakeVolume(DRIVE_REMOVABLE, "USB")}))
    assert [(str(d.path), d.free_bytes) for d in found] == [("E:\\", None)]


def test_windows_dll_is_never_touched_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform == "win32":
        pytest.skip("this is about the other platforms")
    assert not hasattr(ctypes, "windll")

    def boom() -> None:
        raise AssertionError("kernel32 loaded off Windows")

    monkeypatch.setattr(drives, "_real_kernel32", boom)
    monkeypatch.setattr(drives, "MOUNTS_FILE", Path("/nonexistent/mounts"))
    assert drives.other_drives() == []


MAC_MOUNT = """\
/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)
devfs on /dev (devfs, local, nobrowse)
/dev/disk3s6 on /System/Volumes/VM (apfs, local, noexec, journaled, noatime, nobrowse)
/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse, protect)
map auto_home on /System/Volumes/Data/home (autofs, automounted, nobrowse)
/dev/disk4s1 on /Volumes/USB STICK (msdos, local, nodev, nosuid, noowners)
/dev/disk5s1 on /Volumes/Old Photos (hfs, local, nodev, nosuid, read-only, noowners)
//ann@nas._smb._tcp.local/backups on /Volumes/backups (smbfs, nodev, nosuid, mounted by ann)
/dev/disk6s2 on /Volumes/Install macOS (hfs, local, nodev, nosuid, read-only, nobrowse)
"""


def test_mac_external_volumes_then_shares_never_system_or_read_only() -> None:
    found = mac_drives(MAC_MOUNT)
    assert [(str(d.path), d.kind) for d in found] == [
        ("/Volumes/USB STICK", REMOVABLE),
        ("/Volumes/backups", NETWORK),
    ]
    assert [d.label for d in found] == ["USB STICK (external drive)", "backups (network share)"]
    assert mac_drives("") == [] and mac_drives("garbage\n") == []


def test_mac_uses_the_mount_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert args[0] == ["/sbin/mount"]
        return subprocess.CompletedProcess(args[0], 0, MAC_MOUNT, "")

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(subprocess, "run", fake_run)
    assert [d.path.name for d in drives.other_drives()] == ["USB STICK", "backups"]
