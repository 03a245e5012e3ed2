"""Secrets in the OS keyring (service ``keepsake``), never in files or logs.

Names used: ``dropbox-refresh-token``, ``dropbox-access-token``,
``passphrase:<repo>`` with the REPO string as configured (only when the user chose "remember on this computer").
A missing or broken keyring backend reads as "no secret" and writes raise
``AppError`` with advice, so the app still works by asking for the passphrase.

Only a real OS keyring may hold a secret (README.md, "Where things live"): the ``keyring``
package falls back, on a Linux desktop without Secret Service, to whatever else is
installed - ``keyrings.alt``'s plaintext file (base64 only), the null backend that
drops every write, the fail backend. Those are refused here: reads ignore them,
writes raise, and :func:`keyring_available` tells the app to say so instead of
claiming the passphrase is remembered. When ``keyring`` chains several backends,
only the safe ones are used, so a write never falls through to a plaintext file.
"""

from __future__ import annotations

import contextlib
from typing import Any

from app.core.errors import AppError

SERVICE = "keepsake"
DROPBOX_APP_KEY = "dropbox-app-key"

# Backends that would write a secret in a readable file, or not at all.
REFUSED_BACKEND_MODULES = (
    "keyrings.alt",  # plaintext file, "encrypted" file asking on stdin, registry, ...
    "keyring.backends.null",
    "keyring.backends.fail",
    "keyring.backends.chainer",  # judged by what it chains, see _safe_backend
)

NO_KEYRING_ADVICE = (
    "No secure system keyring is available. Install and unlock one (GNOME Keyring, "
    "KWallet, macOS Keychain or Windows Credential Manager); Keepsake never keeps "
    "secrets in a plain file."
)


def _refused(backend: object) -> bool:
    module = type(backend).__module__
    return any(module == m or module.startswith(m + ".") for m in REFUSED_BACKEND_MODULES)


def _safe_backend() -> Any | None:
    """The keyring backend secrets may go to, or None when there is none."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend
    except ImportError:
        return None
    try:
        ring = keyring.get_keyring()
        if isinstance(ring, ChainerBackend):
            safe = [b for b in ring.backends if not _refused(b)]
            return safe[0] if safe else None
    except Exception:  # backend discovery can fail in many ways: no keyring
        return None
    return None if _refused(ring) else ring


def keyring_available() -> bool:
    """True when a real OS keyring can hold secrets on this computer."""
    return _safe_backend() is not None


def keyring_description() -> str:
    """The backend in use, for logs and the Settings page (never a secret)."""
    backend = _safe_backend()
    return "" if backend is None else type(backend).__module__ + "." + type(backend).__name__


def get_secret(name: str) -> str | None:
    backend = _safe_backend()
    if backend is None:
        return None
    from keyring.errors import KeyringError

    try:
        value = backend.get_password(SERVICE, name)
    except (KeyringError, RuntimeError, OSError):
        return None
    return value if isinstance(value, str) else None


def set_secret(name: str, value: str) -> None:
    backend = _safe_backend()
    if backend is None:
        raise AppError(NO_KEYRING_ADVICE)
    from keyring.errors import KeyringError

    try:
        backend.set_password(SERVICE, name, value)
    except (KeyringError, RuntimeError, OSError) as exc:
        raise AppError(
            "Could not save to the system keyring. Install and unlock a keyring "
            "(GNOME Keyring, KWallet, macOS Keychain or Windows Credential Manager)."
        ) from exc


def delete_secret(name: str) -> None:
    backend = _safe_backend()
    if backend is None:
        return
    from keyring.errors import KeyringError, PasswordDeleteError

    with contextlib.suppress(PasswordDeleteError, KeyringError, RuntimeError, OSError):
        backend.delete_password(SERVICE, name)


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
