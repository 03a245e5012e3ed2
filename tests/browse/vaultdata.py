"""A small vault with history for the version browser's tests: edits, a deleted
file, an image, a text file, an unchanged backup, built with the real engine."""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from app.core.models import SnapshotInfo
from app.engine.vault import Vault
from app.storage.local import LocalStorage

PASSPHRASE = "correct horse battery staple"


def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour, without Qt (the engine tests have no QImage)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@dataclass
class HistoryVault:
    repo: Path
    source: Path  # the backed-up folder (absolute)
    snapshots: list[SnapshotInfo]
    report_versions: list[bytes]  # report.txt's content in each distinct version, oldest first
    picture_versions: list[bytes]

    @property
    def report(self) -> Path:
        return self.source / "Documents" / "report.txt"

    @property
    def picture(self) -> Path:
        return self.source / "Pictures" / "cat.png"

    @property
    def notes(self) -> Path:
        return self.source / "notes.txt"


def _set(path: Path, data: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def build_history_vault(root: Path, cache_root: Path) -> HistoryVault:
    """Five backups of ``root/home/ann``:

    1. report v1, cat.png (red), notes.txt, Music/song.ogg
    2. report v2, new.txt added
    3. nothing changed
    4. report v3, cat.png (blue), notes.txt deleted
    5. new.txt changed
    """
    src = root / "home" / "ann"
    repo = root / "vault"
    repo.mkdir(parents=True)
    report = [b"Quarterly report\nfirst draft\n", b"Quarterly report\nsecond draft\n" * 3,
              b"Quarterly report\nfinal\n" * 7]  # fmt: skip
    pictures = [png_bytes(64, 48, (220, 40, 40)), png_bytes(64, 48, (40, 40, 220))]
    t = 1_700_000_000
    _set(src / "Documents" / "report.txt", report[0], t)
    _set(src / "Pictures" / "cat.png", pictures[0], t)
    _set(src / "notes.txt", b"remember the milk\nand the eggs\n", t)
    _set(src / "Music" / "song.ogg", os.urandom(3000), t)
    vault, _key = Vault.create(LocalStorage(str(repo)), PASSPHRASE, cache_root=cache_root)
    try:
        vault.backup([str(src)])
        _set(src / "Documents" / "report.txt", report[1], t + 100)
        _set(src / "Documents" / "new.txt", b"brand new\n", t + 100)
        vault.backup([str(src)])
        vault.backup([str(src)])
        _set(src / "Documents" / "report.txt", report[2], t + 200)
        _set(src / "Pictures" / "cat.png", pictures[1], t + 200)
        (src / "notes.txt").unlink()
        vault.backup([str(src)])
        _set(src / "Documents" / "new.txt", b"brand new, edited\n", t + 300)
        vault.backup([str(src)])
        snaps = vault.snapshots()
    finally:
        vault.close()
    return HistoryVault(repo, src, snaps, report, pictures)
