"""Secrets in the OS keyring (service ``keepsake``), never in files or logs.

Names used: ``dropbox-refresh-token``, ``dropbox-access-token``,
``passphrase:<repo>`` with the REPO string as configured (only when the user chose "remember on this computer").
A missing or broken keyring backend reads as "no secret" and writes raise
``AppError`` with advice, so the app still works by asking for the passphrase.
"""

from __future__ import annotations

import contextlib

from app.core.errors import AppError

SERVICE = "keepsake"
DROPBOX_REFRESH_TOKEN = "dropbox-refresh-token"
DROPBOX_APP_KEY = "dropbox-app-key"


def get_secret(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(SERVICE, name)
    except (KeyringError, RuntimeError, OSError):
        return None


def set_secret(name: str, value: str) -> None:
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, name, value)
    except (KeyringError, RuntimeError, OSError) as exc:
        raise AppError(
            "Could not save to the system keyring. Install and unlock a keyring "
            "(GNOME Keyring, KWallet, macOS Keychain or Windows Credential Manager)."
        ) from exc


def delete_secret(name: str) -> None:
    try:
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError
    except ImportError:
        return
    with contextlib.suppress(PasswordDeleteError, KeyringError, RuntimeError, OSError):
        keyring.delete_password(SERVICE, name)


DROPBOX_REFRESH_TOKEN = "dropbox-refresh-token"
DROPBOX_ACCESS_TOKEN = "dropbox-access-token"


def passphrase_name(vault_id: str) -> str:
    """Keyring entry for a remembered vault passphrase."""
    return f"passphrase:{vault_id}"


def passphrase_secret_name(repo: str) -> str:
    """Keyring entry for a remembered passphrase of the vault at ``repo``."""
    return f"passphrase:{repo}"


class MemorySecrets:
    """An in-memory stand-in with the same three functions, for the screenshot demo
    and tests: nothing reaches the user's real keyring."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.data.get(name)

    def set(self, name: str, value: str) -> None:
        self.data[name] = value

    def delete(self, name: str) -> None:
        self.data.pop(name, None)
