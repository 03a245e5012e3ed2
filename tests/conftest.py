"""Shared fixtures: every test gets its own config, cache and keyring, never the user's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run the slow variants")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow variant: use --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every platform directory and the keyring into this test's tmp dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("KEEPSAKE_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("KEEPSAKE_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("KEEPSAKE_LOG_DIR", str(home / "log"))
    monkeypatch.setenv("KEEPSAKE_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("KEEPSAKE_RUNTIME_DIR", str(home / "run"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    for var in (
        "KEEPSAKE_REPO",
        "KEEPSAKE_PASSWORD",
        "KEEPSAKE_PASSWORD_FILE",
        "KEEPSAKE_RECOVERY_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    yield home
