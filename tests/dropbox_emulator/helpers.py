"""Client-side helpers for tests: a ``DropboxStorage`` pointed at an emulator."""

from __future__ import annotations

from typing import Any

from app.storage.dropbox import DropboxCredentials, DropboxEndpoints, DropboxStorage
from tests.dropbox_emulator.server import DropboxEmulator


def emulator_endpoints(emulator: DropboxEmulator) -> DropboxEndpoints:
    return DropboxEndpoints(emulator.address, emulator.address, emulator.address)


def storage_on(emulator: DropboxEmulator, vault: str = "Vault", **overrides: Any) -> DropboxStorage:
    """A DropboxStorage on ``emulator`` using its static token, with fast test defaults
    (no real sleeps between retries, a 10 s timeout)."""
    options: dict[str, Any] = {
        "credentials": DropboxCredentials(access_token=emulator.static_token),
        "endpoints": emulator_endpoints(emulator),
        "ca_bundle": str(emulator.ca_path),
        "sleep": lambda _s: None,
        "timeout": 10.0,
    }
    options.update(overrides)
    return DropboxStorage(vault, **options)
