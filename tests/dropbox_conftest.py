"""Shared fixtures for tests that talk to the Dropbox emulator.

Use from any test module with ``pytest_plugins = ["tests.dropbox_conftest"]``:

* ``dropbox_emulator``: a fresh emulator on a free loopback port (function scope).
* ``dropbox_env``: the emulator's environment (hosts, CA file, app key, static token)
  applied with monkeypatch, for code that reads ``os.environ`` (CLI, factory).
* ``make_dropbox_storage``: builds a ``DropboxStorage`` on the emulator; keyword
  arguments override the constructor defaults (small thresholds, no real sleeps).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.storage.dropbox.storage import DropboxStorage
from tests.dropbox_emulator import DropboxEmulator
from tests.dropbox_emulator.helpers import storage_on

StorageFactory = Callable[..., DropboxStorage]


@pytest.fixture
def dropbox_emulator(tmp_path: Path) -> Iterator[DropboxEmulator]:
    root = tmp_path / "dropbox-emulator"
    with DropboxEmulator(root) as emulator:
        yield emulator
    shutil.rmtree(root / "data", ignore_errors=True)  # big test objects do not linger


@pytest.fixture
def dropbox_env(
    dropbox_emulator: DropboxEmulator, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = dropbox_emulator.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def make_dropbox_storage(dropbox_emulator: DropboxEmulator) -> Iterator[StorageFactory]:
    made: list[DropboxStorage] = []

    def make(vault: str = "Vault", **overrides: Any) -> DropboxStorage:
        storage = storage_on(dropbox_emulator, vault, **overrides)
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()
