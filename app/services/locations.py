"""Questions about a local backup location, asked before anything is written there.

The wizard's location page and Settings › Storage call these on the GUI thread:
each is a few ``stat``/``statvfs`` calls and at most one tiny file, so they answer
at once on a local or external drive. They never create the vault itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from app.services.drives import Drive, other_drives

__all__ = [
    "Drive",
    "LocationCheck",
    "check_writable",
    "find_vault_in",
    "holds_vault",
    "other_drives",
    "same_disk",
]

# Less room than this and a first backup cannot even store its index: refuse early.
MIN_FREE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LocationCheck:
    """Whether a folder can hold a new vault; ``problem`` is one sentence, or ''."""

    ok: bool
    problem: str = ""
    free_bytes: int | None = None


def holds_vault(root: Path) -> bool:
    """Whether the folder ``root`` holds a vault: its ``config`` object is a file
    named ``config`` at the top (docs/FORMAT.md). Checked here, not through the
    storage layer, so the UI's imports never reach storage."""
    try:
        return (root / "config").is_file()
    except OSError:
        return False


def find_vault_in(path: Path) -> Path | None:
    """``path`` if it holds a vault, else the one folder directly inside it that does
    (a drive's root picked instead of the backup folder on it), else None."""
    if holds_vault(path):
        return path
    try:
        children = [c for c in path.iterdir() if c.is_dir() and not c.name.startswith(".")]
    except OSError:
        return None
    found = [c for c in sorted(children) if holds_vault(c)]
    return found[0] if len(found) == 1 else None


def check_writable(path: Path, min_free: int = MIN_FREE_BYTES) -> LocationCheck:
    """Can a new vault be created at ``path`` (an existing folder, or a new one whose
    parent exists)? Tries a real write: permissions, read-only mounts and full disks
    all show up the same way they would during the first backup."""
    existing = path if path.exists() else path.parent
    if not existing.exists():
        return LocationCheck(
            False,
            QCoreApplication.translate(
                "Locations", "{path} does not exist. Is the drive connected?"
            ).format(path=existing),
        )
    if not existing.is_dir():
        return LocationCheck(
            False,
            QCoreApplication.translate("Locations", "{path} is a file, not a folder.").format(
                path=existing
            ),
        )
    try:
        with tempfile.NamedTemporaryFile(prefix=".keepsake-probe-", dir=existing) as probe:
            probe.write(b"x")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return LocationCheck(
            False,
            QCoreApplication.translate(
                "Locations", "Keepsake cannot write to {path} ({reason}). Choose another folder."
            ).format(path=existing, reason=reason),
        )
    free: int | None = None
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(existing).free
    if free is not None and free < min_free:
        import humanize

        room = humanize.naturalsize(free, binary=False)
        return LocationCheck(
            False,
            QCoreApplication.translate(
                "Locations", "{path} has only {room} free. Choose a drive with more room."
            ).format(path=existing, room=room),
            free,
        )
    return LocationCheck(True, "", free)


def missing_folders(folders: tuple[str, ...] | list[str]) -> list[str]:
    """The chosen folders that are not there now (renamed, deleted, or on a drive
    that is not connected). One ``stat`` each."""
    return [f for f in folders if not os.path.isdir(f)]


def describe_missing(missing: list[str]) -> str:
    """One sentence naming the missing folders, for the overview and the tray."""
    if not missing:
        return ""
    if len(missing) == 1:
        name = Path(missing[0]).name or missing[0]
        return QCoreApplication.translate(
            "Locations",
            "The folder {name} ({path}) was not found: it was renamed, deleted, or "
            "is on a drive that is not connected. Open Folders to locate or remove it.",
        ).format(name=name, path=missing[0])
    names = ", ".join(Path(m).name or m for m in missing)
    return QCoreApplication.translate(
        "Locations",
        "{n} folders were not found ({names}): renamed, deleted, or on a "
        "drive that is not connected. Open Folders to locate or remove them.",
    ).format(n=len(missing), names=names)


# -- where a backup should live (Time Machine's habit: another disk first) ---------
# Detecting other disks is per platform: app.services.drives.


def same_disk(place: Path, other: Path) -> bool:
    """Whether a backup at ``place`` would live on the same disk as ``other`` (the
    data): then one failing disk takes both. Compares the nearest existing folders."""

    def device(path: Path) -> int | None:
        for candidate in (path, *path.parents):
            try:
                return candidate.stat().st_dev
            except OSError:
                continue
        return None

    a, b = device(place), device(other)
    return a is not None and a == b
