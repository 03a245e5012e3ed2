"""Which other disks could hold the backup: external drives and network shares.

Time Machine's habit: a backup on the disk it protects dies with that disk, so the
wizard suggests another disk first. Each platform answers differently:

* Linux: ``/proc/self/mounts`` (network file systems; mounts under the desktop's
  removable-media roots);
* macOS: the output of ``mount`` (network file systems; ``/Volumes/*`` that are not
  the system volume);
* Windows: ``kernel32`` (``GetLogicalDrives``, ``GetDriveTypeW``,
  ``GetVolumeInformationW``, ``GetDiskFreeSpaceExW``) through ctypes.

The Windows half takes the ``kernel32`` object as an argument (a seam), so its
classification and its ctypes marshalling are tested on any OS with a fake table
of drives; ``ctypes.WinDLL`` is touched only when running on Windows.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication

MOUNTS_FILE = Path("/proc/self/mounts")
# Where desktops mount removable drives (Linux, macOS).
MEDIA_ROOTS: tuple[Path, ...] = (Path("/media"), Path("/run/media"), Path("/mnt"), Path("/Volumes"))
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "davfs",
        "fuse.rclone",
        "afpfs",
        "webdav",
        "osxfuse",
        "macfuse",
    }
)

# Kinds, best first: a drive you can carry away, another internal disk, a share.
REMOVABLE = "removable"
OTHER_DISK = "disk"
NETWORK = "network"
_RANK = {REMOVABLE: 0, OTHER_DISK: 1, NETWORK: 2}


@dataclass(frozen=True, slots=True)
class Drive:
    """A place on another disk than the system: an external drive or a network share."""

    path: Path
    kind: str  # REMOVABLE, OTHER_DISK or NETWORK
    free_bytes: int | None = None
    name: str = ""  # the volume's label when the OS has one ("BACKUP (E:)")

    @property
    def label(self) -> str:
        name = self.name or self.path.name or str(self.path)
        if self.kind == REMOVABLE:
            kind = QCoreApplication.translate("Drives", "external drive")
        elif self.kind == OTHER_DISK:
            kind = QCoreApplication.translate("Drives", "other disk")
        elif self.kind == NETWORK:
            kind = QCoreApplication.translate("Drives", "network share")
        else:
            kind = QCoreApplication.translate("Drives", "drive")
        return f"{name} ({kind})"


def _free(path: Path) -> int | None:
    with contextlib.suppress(OSError):
        return shutil.disk_usage(path).free
    return None


def _best_first(drives: list[Drive]) -> list[Drive]:
    return sorted(drives, key=lambda d: (_RANK.get(d.kind, 9), -(d.free_bytes or 0)))


# -- Linux -------------------------------------------------------------------------


def _unescape(field: str) -> str:
    """/proc/mounts writes spaces and tabs in paths as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def linux_drives(mounts_file: Path, media_roots: tuple[Path, ...]) -> list[Drive]:
    """Writable network mounts and mounts under the removable-media roots."""
    try:
        lines = mounts_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    drives: list[Drive] = []
    for line in lines:
        parts = line.split()
        if len(parts) < 4:
            continue
        mount, fstype, options = Path(_unescape(parts[1])), parts[2], parts[3].split(",")
        if "ro" in options:
            continue
        if fstype in NETWORK_FS:
            kind = NETWORK
        elif any(root in mount.parents for root in media_roots):
            kind = REMOVABLE
        else:
            continue
        drives.append(Drive(mount, kind, _free(mount)))
    return _best_first(drives)


# -- macOS -------------------------------------------------------------------------

# "/dev/disk4s1 on /Volumes/USB STICK (msdos, local, nodev, nosuid, noowners)"
_BSD_MOUNT = re.compile(r"^(?P<dev>.+?) on (?P<path>/.*?) \((?P<opts>[^()]*)\)$")


def mac_drives(mount_output: str) -> list[Drive]:
    """Parse macOS ``mount``: network file systems anywhere, and local volumes under
    /Volumes (the system's own volumes live at / and /System/Volumes/*)."""
    drives: list[Drive] = []
    for line in mount_output.splitlines():
        match = _BSD_MOUNT.match(line.strip())
        if match is None:
            continue
        path = Path(match["path"])
        opts = [o.strip() for o in match["opts"].split(",")]
        fstype = opts[0] if opts else ""
        if "read-only" in opts or "nobrowse" in opts:
            continue  # the sealed system volume, hidden helper volumes
        if fstype in NETWORK_FS:
            kind = NETWORK
        elif path.parent == Path("/Volumes"):
            kind = REMOVABLE
        else:
            continue
        drives.append(Drive(path, kind, _free(path)))
    return _best_first(drives)


def _mac_mount_output() -> str:
    try:
        done = subprocess.run(
            ["/sbin/mount"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


# -- Windows -----------------------------------------------------------------------

DRIVE_REMOVABLE = 2
DRIVE_FIXED = 3
DRIVE_REMOTE = 4
DRIVE_CDROM = 5
DRIVE_RAMDISK = 6
FILE_READ_ONLY_VOLUME = 0x00080000
_MAX_PATH = 261


class Kernel32(Protocol):
    """The four kernel32 functions used, as ctypes exposes them."""

    def GetLogicalDrives(self) -> int: ...

    def GetDriveTypeW(self, root: str) -> int: ...

    def GetVolumeInformationW(self, *args: Any) -> int: ...

    def GetDiskFreeSpaceExW(self, *args: Any) -> int: ...


def _volume(kernel32: Kernel32, root: str) -> tuple[str, int] | None:
    """The volume's label and flags, or None when there is no medium (an empty card
    reader or DVD drive) or the share does not answer."""
    name = ctypes.create_unicode_buffer(_MAX_PATH)
    fs_name = ctypes.create_unicode_buffer(_MAX_PATH)
    serial, max_len, flags = ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)
    ok = kernel32.GetVolumeInformationW(
        root,
        name,
        _MAX_PATH,
        ctypes.pointer(serial),
        ctypes.pointer(max_len),
        ctypes.pointer(flags),
        fs_name,
        _MAX_PATH,
    )
    return (name.value, flags.value) if ok else None


def _win_free(kernel32: Kernel32, root: str) -> int | None:
    free = ctypes.c_ulonglong(0)
    ok = kernel32.GetDiskFreeSpaceExW(root, ctypes.pointer(free), None, None)
    return free.value if ok else None


def windows_drives(kernel32: Kernel32, system_drive: str = "C:") -> list[Drive]:
    """Removable drives, fixed disks other than the system's (a USB hard disk says
    "fixed"), and mapped network drives; not CD/DVD drives, RAM disks, read-only
    volumes or drives without a medium."""
    mask = kernel32.GetLogicalDrives()
    system = system_drive.rstrip("\\/").upper()
    drives: list[Drive] = []
    for index in range(26):
        if not mask & (1 << index):
            continue
        letter = f"{chr(ord('A') + index)}:"
        root = letter + "\\"
        kind = {
            DRIVE_REMOVABLE: REMOVABLE,
            DRIVE_FIXED: OTHER_DISK,
            DRIVE_REMOTE: NETWORK,
        }.get(kernel32.GetDriveTypeW(root))
        if kind is None or letter == system:
            continue
        volume = _volume(kernel32, root)
        if volume is None:
            continue
        label, flags = volume
        if flags & FILE_READ_ONLY_VOLUME:
            continue
        if kind == OTHER_DISK and label.lower().startswith("system reserved"):
            continue
        name = f"{label} ({letter})" if label else letter
        drives.append(Drive(Path(root), kind, _win_free(kernel32, root), name))
    return _best_first(drives)


def _real_kernel32() -> Kernel32:
    """Only ever called on Windows: ``ctypes.WinDLL`` does not exist elsewhere."""
    loader: Callable[..., Kernel32] = ctypes.WinDLL  # type: ignore[attr-defined,unused-ignore]
    return loader("kernel32", use_last_error=True)


# -- the one entry point -------------------------------------------------------------


def other_drives(
    mounts_file: Path | None = None, media_roots: tuple[Path, ...] | None = None
) -> list[Drive]:
    """External drives, other disks and network shares that are there and writable,
    best first (external drives, other disks, then shares; most free space first).
    Never raises: a platform that cannot tell gets no suggestions."""
    try:
        if sys.platform == "win32":
            return windows_drives(_real_kernel32(), os.environ.get("SYSTEMDRIVE", "C:"))
        if sys.platform == "darwin":
            return mac_drives(_mac_mount_output())
        return linux_drives(
            mounts_file or MOUNTS_FILE, media_roots if media_roots is not None else MEDIA_ROOTS
        )
    except (OSError, ValueError, AttributeError):
        return []
