"""This computer's device id: a random name that tells two computers apart.

Host names repeat (two laptops both called "MacBook-Pro"); the device id does not. It
is kept beside the settings (not in the cache, which may be deleted) and written into
snapshots (so retention groups one computer's backups) and locks (so a lock is only
judged by pid on the computer that wrote it).
"""

from __future__ import annotations

import secrets

from app.core.paths import config_dir, create_private_file


def device_id() -> str:
    """This computer's id, created on first use (32 hex digits)."""
    path = config_dir() / "device-id"
    try:
        value = path.read_text().strip()
        if len(value) == 32:
            return value
    except OSError:
        pass
    value = secrets.token_hex(16)
    try:
        create_private_file(path)
        path.write_text(value + "\n")
    except OSError:
        pass
    return value
