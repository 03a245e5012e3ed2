"""The contract suite against the local-folder, in-memory and retrying backends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.errors import StorageUnavailableError
from app.storage.local import LocalStorage
from app.storage.memory import MemoryStorage
from app.storage.retry import RetryingStorage
from tests.storage.contract import StorageContract


class TestLocalStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> LocalStorage:
        root = tmp_path / "vault"
        root.mkdir()
        return LocalStorage(root)


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> MemoryStorage:
        return MemoryStorage()


class TestRetryingLocal(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> RetryingStorage:
        root = tmp_path / "vault"
        root.mkdir()
        return RetryingStorage(LocalStorage(root), sleep=lambda _s: None)


def test_local_put_leaves_no_temp_and_list_hides_temps(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    store.put("data/aa/x", b"1")
    (tmp_path / "data" / "aa" / ".tmp-y.1.2").write_bytes(b"partial")
    assert [o.name for o in store.list("data/")] == ["data/aa/x"]
    assert store.remove_stale_temp_files() == 1
    assert sorted(os.listdir(tmp_path / "data" / "aa")) == ["x"]


def test_local_missing_root_is_unavailable(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "gone")
    with pytest.raises(StorageUnavailableError):
        store.put("config", b"x")
    with pytest.raises(StorageUnavailableError):
        list(store.list(""))
