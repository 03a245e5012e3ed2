"""The storage contract suite: every backend must pass all of it.

A backend's test module subclasses ``StorageContract`` and provides a ``storage``
fixture returning a fresh, empty backend. See app/storage/base.py for the contract.
"""

from __future__ import annotations

import os
import threading

import pytest

from app.core.errors import NotFoundInStorage, StorageError
from app.storage.base import Storage


class StorageContract:
    def test_put_get_roundtrip(self, storage: Storage) -> None:
        storage.put("data/ab/ab01", b"hello")
        assert storage.get("data/ab/ab01") == b"hello"

    def test_put_accepts_memoryview_and_bytearray(self, storage: Storage) -> None:
        storage.put("a1", memoryview(b"xyz"))
        storage.put("a2", bytearray(b"uvw"))
        assert storage.get("a1") == b"xyz"
        assert storage.get("a2") == b"uvw"

    def test_empty_object(self, storage: Storage) -> None:
        storage.put("empty", b"")
        assert storage.get("empty") == b""
        assert storage.stat("empty").size == 0

    def test_put_is_idempotent_and_overwrites(self, storage: Storage) -> None:
        storage.put("config", b"one")
        storage.put("config", b"one")
        storage.put("config", b"two")
        assert storage.get("config") == b"two"
        assert [o.name for o in storage.list("config")] == ["config"]

    def test_missing_raises_not_found(self, storage: Storage) -> None:
        with pytest.raises(NotFoundInStorage):
            storage.get("nothing")
        with pytest.raises(NotFoundInStorage):
            storage.stat("nothing")
        with pytest.raises(NotFoundInStorage):
            storage.get_range("nothing", 0, 1)

    def test_get_range(self, storage: Storage) -> None:
        data = os.urandom(100_000)
        storage.put("data/00/big", data)
        assert storage.get_range("data/00/big", 0, 10) == data[:10]
        assert storage.get_range("data/00/big", 5000, 70_000) == data[5000:75_000]
        assert storage.get_range("data/00/big", 99_990, 10) == data[-10:]

    def test_get_range_past_end_is_an_error(self, storage: Storage) -> None:
        storage.put("short", b"0123456789")
        with pytest.raises(StorageError):
            storage.get_range("short", 5, 10)

    def test_stat_size(self, storage: Storage) -> None:
        storage.put("index/aa", b"x" * 1234)
        info = storage.stat("index/aa")
        assert (info.name, info.size) == ("index/aa", 1234)

    def test_list_prefix_recursive(self, storage: Storage) -> None:
        names = {"data/00/p1", "data/01/p2", "index/i1", "snapshots/s1", "config"}
        for n in names:
            storage.put(n, n.encode())
        assert {o.name for o in storage.list("")} == names
        assert {o.name for o in storage.list("data/")} == {"data/00/p1", "data/01/p2"}
        assert {o.name for o in storage.list("index/")} == {"index/i1"}
        assert {o.name: o.size for o in storage.list("snapshots/")} == {"snapshots/s1": 12}
        assert list(storage.list("locks/")) == []

    def test_list_many(self, storage: Storage) -> None:
        names = {f"index/{i:04x}" for i in range(120)}
        for n in names:
            storage.put(n, b"i")
        assert {o.name for o in storage.list("index/")} == names

    def test_delete_and_delete_missing(self, storage: Storage) -> None:
        storage.put("locks/l1", b"lock")
        storage.delete("locks/l1")
        storage.delete("locks/l1")
        with pytest.raises(NotFoundInStorage):
            storage.get("locks/l1")
        assert list(storage.list("locks/")) == []

    def test_invalid_names_refused(self, storage: Storage) -> None:
        for bad in ("../escape", "/abs", "a//b", "A", "a/../b", ""):
            with pytest.raises(StorageError):
                storage.put(bad, b"x")

    def test_binary_exact(self, storage: Storage) -> None:
        data = bytes(range(256)) * 64
        storage.put("bin", data)
        assert storage.get("bin") == data

    def test_concurrent_puts(self, storage: Storage) -> None:
        errors: list[BaseException] = []

        def worker(k: int) -> None:
            try:
                for i in range(10):
                    storage.put(f"data/{k:02x}/obj{i}", bytes([k, i]) * 100)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(list(storage.list("data/"))) == 40
        assert storage.get("data/03/obj7") == bytes([3, 7]) * 100

    def test_description_is_text(self, storage: Storage) -> None:
        assert isinstance(storage.description, str) and storage.description
