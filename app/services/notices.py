"""What the backup service says to people besides its status: desktop notifications,
the line a finished job leaves in the activity log, and its refusals.

Every sentence goes through Qt's translation machinery (context ``Notices``), read
when it is said (not at import, before the translator is installed). A notification
is a :class:`Notice`: title, message, level and the window page that helps, which
is what ``BackupService.notify`` carries to the tray.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication


@dataclass(frozen=True, slots=True)
class Notice:
    title: str
    message: str
    level: str = "info"  # info | warning | error
    page: str = "Overview"  # the window page a click on it opens


def no_keyring() -> str:
    return QCoreApplication.translate(
        "Notices",
        "This computer has no secure system keyring (GNOME Keyring, KWallet, macOS Keychain "
        "or Windows Credential Manager), so Keepsake cannot remember the passphrase: it asks "
        "for it after each start, and scheduled backups wait until you type it. Keepsake "
        "never keeps the passphrase in a plain file.",
    )


def login_setting_failed(reason: str) -> str:
    return QCoreApplication.translate(
        "Notices", "Could not change the login setting: {reason}"
    ).format(reason=reason)


def passphrase_needed() -> Notice:
    return Notice(
        QCoreApplication.translate("Notices", "Keepsake needs your passphrase"),
        QCoreApplication.translate(
            "Notices", "A scheduled backup is waiting. Open Keepsake and unlock the vault."
        ),
        "warning",
    )


def folder_missing(description: str, level: str) -> Notice:
    return Notice(
        QCoreApplication.translate("Notices", "A folder is missing"), description, level, "Folders"
    )


def location_missing(where: str, reason: str) -> Notice:
    # The storage's own sentence usually names the place already.
    message = (
        reason
        if where in reason
        else QCoreApplication.translate("Notices", "{where} is not available: {reason}").format(
            where=where, reason=reason
        )
    )
    return Notice(
        QCoreApplication.translate("Notices", "Backup location not found"), message, "error"
    )


def the_backup_location() -> str:
    """Said when the settings name no place (should not happen once set up)."""
    return QCoreApplication.translate("Notices", "the backup location")


def backup_failed(reason: str) -> Notice:
    return Notice(QCoreApplication.translate("Notices", "Backup failed"), reason, "error")


def first_backup_done() -> Notice:
    return Notice(
        QCoreApplication.translate("Notices", "Your first backup is complete"),
        QCoreApplication.translate(
            "Notices", "Keepsake will now keep your files backed up automatically."
        ),
    )


def out_of_date(detail: str) -> Notice:
    return Notice(
        QCoreApplication.translate("Notices", "Backups are out of date"), detail, "warning"
    )


def skipped(missing: list[str], others: int) -> str:
    """The activity line of a backup with warnings: a chosen folder that is gone by
    name (the user has to act), then how many other files were skipped."""
    parts = []
    if missing:
        names = ", ".join(Path(m).name or m for m in missing)
        if len(missing) == 1:
            text = QCoreApplication.translate("Notices", "Missing folder: {names} (not backed up).")
        else:
            text = QCoreApplication.translate(
                "Notices", "Missing folders: {names} (not backed up)."
            )
        parts.append(text.format(names=names))
    if others == 1:
        parts.append(
            QCoreApplication.translate("Notices", "1 file could not be read and was skipped.")
        )
    elif others:
        parts.append(
            QCoreApplication.translate(
                "Notices", "{n} files could not be read and were skipped."
            ).format(n=others)
        )
    return " ".join(parts)


def cancelled() -> str:
    return QCoreApplication.translate("Notices", "Cancelled.")


def removed_old_backups(n: int) -> str:
    if n == 1:
        return QCoreApplication.translate("Notices", "Removed 1 old backup.")
    return QCoreApplication.translate("Notices", "Removed {n} old backups.").format(n=n)
