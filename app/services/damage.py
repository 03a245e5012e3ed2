"""Damaged backups, said in the app's words (issue 11 item 4).

A snapshot object that cannot be read (bytes flipped on a failing drive, a sync tool
putting one object's bytes under another's name) is left out of every listing by the
engine, and its time is in the damaged part: it may have been the newest backup. The
command line names it on stderr; the app must not skip it silently either. This
module turns the engine's list (``Vault.damaged_snapshots()``, fetched by
``VaultService``) into :class:`DamagedBackup` records, adding what this computer's
history knows (when it made that backup), and words them once for the Overview, the
tray and the Versions page, so the three say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QCoreApplication


@dataclass(frozen=True, slots=True)
class DamagedBackup:
    id: str
    reason: str  # the engine's words (for the log and tooltips, not the headline)
    made: datetime | None = None  # when this computer made it, from its history

    @property
    def short_id(self) -> str:
        return self.id[:8]


def _when(dt: datetime) -> str:
    """Local time as the UI's ``fmt.stamp`` writes it ('Tue 24 Nov 2026, 14:05')."""
    return dt.astimezone().strftime("%a %d %b %Y, %H:%M")


def name(backup: DamagedBackup) -> str:
    """'the backup of Tue 24 Nov 2026, 14:05 from this computer (1a2b3c4d)', or, when
    nothing says when it was made, 'backup 1a2b3c4d (time unknown)'."""
    if backup.made is not None:
        return QCoreApplication.translate(
            "Damage", "the backup of {when} from this computer ({id})"
        ).format(when=_when(backup.made), id=backup.short_id)
    return QCoreApplication.translate("Damage", "backup {id} (time unknown)").format(
        id=backup.short_id
    )


def headline(damaged: Sequence[DamagedBackup]) -> str:
    if len(damaged) == 1:
        return QCoreApplication.translate("Damage", "A backup is damaged")
    return QCoreApplication.translate("Damage", "{n} backups are damaged").format(n=len(damaged))


def _names(damaged: Sequence[DamagedBackup]) -> str:
    return ", ".join(name(b) for b in damaged)


def describe(damaged: Sequence[DamagedBackup]) -> str:
    """What happened and what to do, for the Overview (and the tray's detail line)."""
    if not damaged:
        return ""
    if len(damaged) == 1:
        what = QCoreApplication.translate(
            "Damage",
            "Keepsake cannot read {name}: it was damaged where your backup is stored, "
            "so it is left out of the list of versions.",
        ).format(name=name(damaged[0]))
    else:
        what = QCoreApplication.translate(
            "Damage",
            "Keepsake cannot read {n} backups: {names}. They were damaged where your "
            "backup is stored, so they are left out of the list of versions.",
        ).format(n=len(damaged), names=_names(damaged))
    todo = QCoreApplication.translate(
        "Damage",
        "Your other backups can still be restored, and the next backup will run as "
        "usual and save your files again. Press Check backup to see whether anything "
        "else is affected; old backups are not thinned out until this is resolved "
        "(see the user guide).",
    )
    return f"{what} {todo}"


def summary(damaged: Sequence[DamagedBackup]) -> str:
    """One line for the tray: 'Damaged: the backup of ... (1a2b3c4d)'."""
    if not damaged:
        return ""
    return QCoreApplication.translate("Damage", "Damaged: {names}").format(names=_names(damaged))


def banner(damaged: Sequence[DamagedBackup]) -> str:
    """The Versions page's banner: why a backup is missing from the timeline."""
    if not damaged:
        return ""
    if len(damaged) == 1:
        what = QCoreApplication.translate(
            "Damage",
            "A backup is damaged: {name} cannot be read, so it is not on the timeline.",
        ).format(name=name(damaged[0]))
    else:
        what = QCoreApplication.translate(
            "Damage",
            "{n} backups are damaged: {names} cannot be read, so they are not on the timeline.",
        ).format(n=len(damaged), names=_names(damaged))
    rest = QCoreApplication.translate(
        "Damage",
        "The backups shown here are intact; Check backup… tells whether anything else is affected.",
    )
    return f"{what} {rest}"
