"""The storage contract suite: every backend must pass all of it.

A backend's test module subclasses ``StorageContract`` and provides a ``storage``
fixture returning a fresh, empty backend. See app/storage/base.py for the contract.
"""

from __future__ import annotations

import os
import threading

import pytest

from app.core.errors import NotFoundInStorage, StorageError
from app.storage.base import Capabilities, Storage


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

    # -- capabilities and the methods with defaults -----------------------------------

    def test_capabilities_are_declared(self, storage: Storage) -> None:
        caps = storage.capabilities
        assert isinstance(caps, Capabilities)
        assert caps.connections >= 1
        assert storage.capabilities == caps  # stable: the engine reads it once per job

    def test_put_many_saves_every_item(self, storage: Storage) -> None:
        items: list[tuple[str, bytes | memoryview]] = [
            (f"index/{i:02x}", os.urandom(50 + i)) for i in range(12)
        ]
        items.append(("data/00/mv", memoryview(b"from a view")))
        storage.put_many(items)
        for name, data in items:
            assert storage.get(name) == bytes(data)
        storage.put_many([])

    def test_delete_many_ignores_missing(self, storage: Storage) -> None:
        names = [f"snapshots/{i:02x}" for i in range(7)]
        for name in names:
            storage.put(name, b"s")
        storage.put("snapshots/kept", b"k")
        storage.delete_many([*names, "snapshots/never-was"])
        assert [o.name for o in storage.list("snapshots/")] == ["snapshots/kept"]
        storage.delete_many([])

    def test_read_into(self, storage: Storage) -> None:
        data = os.urandom(70_000)
        storage.put("data/01/pack", data)
        buf = memoryview(bytearray(80_000))
        got = storage.read_into("data/01/pack", 1000, buf[:5000])
        assert bytes(got) == data[1000:6000]
        assert bytes(storage.read_into("data/01/pack", 69_990, buf[:10])) == data[-10:]
        with pytest.raises(StorageError):
            storage.read_into("data/01/pack", 69_990, buf[:11])
        with pytest.raises(NotFoundInStorage):
            storage.read_into("data/01/none", 0, buf[:1])

    def test_remove_stale_temp_files_keeps_objects(self, storage: Storage) -> None:
        storage.put("data/02/p", b"pack")
        assert storage.remove_stale_temp_files() >= 0
        assert storage.get("data/02/p") == b"pack"
