"""Pieces the command-line modules share: exit codes, usage errors, messages on
stderr, opening storage and asking for a new passphrase.

``app.cli`` (the parser and most commands) and the bigger commands in their own
modules (``app.cli_copy``) both import from here, so neither imports the other.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.storage.base import Storage

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SKIPPED = 3
EXIT_WRONG_PASSWORD = 4


class UsageError(Exception):
    pass


def err(message: str) -> None:
    print(f"keepsake: {message}", file=sys.stderr)


def open_storage_for(repo: str) -> Storage:
    from app.storage.factory import open_storage
    from app.store.secrets import get_secret

    def on_wait(resume_at: datetime, message: str) -> None:
        local = resume_at.astimezone().strftime("%H:%M:%S")
        err(f"{message} Waiting until {local}.")

    return open_storage(repo, on_wait=on_wait, secret_lookup=get_secret)


def new_passphrase() -> str:
    """The new passphrase: ``KEEPSAKE_NEW_PASSWORD``, else asked twice on a terminal."""
    new = os.environ.get("KEEPSAKE_NEW_PASSWORD")
    if not new:
        if not sys.stdin.isatty():
            raise UsageError("set KEEPSAKE_NEW_PASSWORD or run in a terminal")
        import getpass

        new = getpass.getpass("New passphrase: ")
        if getpass.getpass("Repeat new passphrase: ") != new:
            raise UsageError("the passphrases do not match")
    return new
