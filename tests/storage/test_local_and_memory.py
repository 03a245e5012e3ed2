"""The contract suite against the local-folder, in-memory and retrying backends."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from app.core.errors import StorageUnavailableError, TransientStorageError
from app.storage.base import Capabilities, Data
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
    def storage(self, tmp_path: Path) -> RetryingStorage[LocalStorage]:
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


def test_local_and_memory_declare_what_they_do_well(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path).capabilities
    assert local == Capabilities(connections=1, cheap_ranged_reads=True, read_into=True)
    memory = MemoryStorage().capabilities
    assert (memory.connections, memory.cheap_ranged_reads, memory.read_into) == (1, True, False)
    assert not (local.batch_put or local.batch_delete)


def test_retrying_forwards_the_inner_capabilities(tmp_path: Path) -> None:
    inner = LocalStorage(tmp_path)
    assert RetryingStorage(inner).capabilities == inner.capabilities
    assert RetryingStorage(MemoryStorage()).capabilities == MemoryStorage().capabilities


def test_capabilities_defaults_describe_a_plain_remote_store() -> None:
    caps = Capabilities()
    assert caps.connections > 1 and not caps.cheap_ranged_reads
    assert not (caps.batch_put or caps.batch_delete or caps.read_into)
    with pytest.raises(ValueError):
        Capabilities(connections=0)


def test_remove_stale_temp_files_through_retry(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / ".tmp-x.1.2").write_bytes(b"partial")
    assert RetryingStorage(LocalStorage(tmp_path)).remove_stale_temp_files() == 1
    assert MemoryStorage().remove_stale_temp_files() == 0


class BatchingMemory(MemoryStorage):
    """Memory that claims batch calls, counts them, and fails the first of each once."""

    def __init__(self, *, batches: bool) -> None:
        super().__init__()
        self.batches = batches
        self.calls: list[str] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(batch_put=self.batches, batch_delete=self.batches)

    def put_many(self, items: Sequence[tuple[str, Data]]) -> None:
        self.calls.append("put_many")
        if self.calls.count("put_many") == 1:
            raise TransientStorageError("busy")
        super().put_many(items)

    def delete_many(self, names: Iterable[str]) -> None:
        self.calls.append("delete_many")
        if self.calls.count("delete_many") == 1:
            raise TransientStorageError("busy")
        super().delete_many(names)

    def put(self, name: str, data: Data) -> None:
        self.calls.append("put")
        super().put(name, data)

    def delete(self, name: str) -> None:
        self.calls.append("delete")
        super().delete(name)


def test_retry_reruns_a_failed_batch_whole() -> None:
    inner = BatchingMemory(batches=True)
    storage = RetryingStorage(inner, sleep=lambda _s: None)
    storage.put_many([("index/a", b"1"), ("index/b", b"2")])
    storage.delete_many(["index/a", "index/b"])
    assert storage.retries == 2
    assert inner.calls.count("put_many") == 2 and inner.calls.count("delete_many") == 2
    assert inner.raw() == {}


def test_retry_without_batches_goes_item_by_item() -> None:
    inner = BatchingMemory(batches=False)
    storage = RetryingStorage(inner, sleep=lambda _s: None)
    storage.put_many([("index/a", b"1"), ("index/b", b"2")])
    storage.delete_many(["index/a"])
    assert inner.calls == ["put", "put", "delete"]
    assert list(inner.raw()) == ["index/b"]
