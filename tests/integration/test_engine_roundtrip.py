"""Backup and restore through the real engine: real files, real SQLite, local vault."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.core.errors import AppError, LockedError, WrongPasswordError
from app.core.events import Phase, Progress
from app.core.models import Change, EntryType
from app.engine.repository import Repository
from app.engine.vault import Vault
from app.storage.base import Capabilities, ObjectInfo, Storage
from app.storage.local import LocalStorage
from app.storage.memory import MemoryStorage
from tests.helpers import make_tree, random_bytes, restored_root, tree_digest, write


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    path = tmp_path / "vault"
    path.mkdir()
    return path


@pytest.fixture
def vault(vault_dir: Path) -> Vault:
    v, _recovery = Vault.create(LocalStorage(vault_dir), "correct horse")
    return v


def packs(vault_dir: Path) -> set[str]:
    return {p.name for p in (vault_dir / "data").rglob("*") if p.is_file()}


def test_roundtrip_tree_with_big_file(tmp_path: Path, vault: Vault) -> None:
    src = make_tree(tmp_path / "src", big=100 << 20)
    events: list[Progress] = []
    result = vault.backup([str(src)], on_progress=events.append)
    assert result.files_new == 10 and result.files_changed == 0 and not result.warnings
    assert events[-1].final and events[-1].phase is Phase.DONE
    assert events[-1].files_done == events[-1].files_total == 10
    target = tmp_path / "restore"
    restored = vault.restore(result.snapshot_id, str(target))
    assert not restored.warnings
    assert tree_digest(restored_root(target, src)) == tree_digest(src)


def test_names_are_byte_exact_including_invalid_utf8(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    src.mkdir()
    odd = [
        b"\xff\xfe-latin1-\xe9.txt",
        b"new\nline",
        "caf\u00e9".encode(),
        "cafe\u0301".encode(),
        b"x" * 255,
    ]
    for i, name in enumerate(odd):
        with open(os.path.join(os.fsencode(src), name), "wb") as fh:
            fh.write(b"content %d" % i)
    snap = vault.backup([str(src)]).snapshot_id
    target = tmp_path / "out"
    vault.restore(snap, str(target))
    names = set(os.listdir(os.fsencode(restored_root(target, src))))
    assert names == set(odd)


def test_no_change_backup_writes_no_pack_and_reads_nothing(
    tmp_path: Path, vault: Vault, vault_dir: Path
) -> None:
    src = make_tree(tmp_path / "src")
    vault.backup([str(src)])
    before = packs(vault_dir)
    again = vault.backup([str(src)])
    assert packs(vault_dir) == before
    assert again.files_unchanged == 9 and again.files_new == again.files_changed == 0
    assert again.bytes_read == 0 and again.bytes_added == 0


def test_edit_in_the_middle_adds_about_one_chunk(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    data = bytearray(random_bytes(40 << 20, seed=7))
    write(src / "doc.bin", bytes(data))
    vault.backup([str(src)])
    data[20 << 20 : (20 << 20) + 100] = b"E" * 100
    write(src / "doc.bin", bytes(data))
    result = vault.backup([str(src)])
    assert result.files_changed == 1
    # One edited chunk (<= 4 MiB max chunk), maybe its neighbour: far less than the file.
    assert 0 < result.bytes_added <= 8 << 20


def test_renamed_and_copied_file_adds_nothing(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    write(src / "video.mov", random_bytes(50 << 20, seed=3))
    vault.backup([str(src)])
    os.rename(src / "video.mov", src / "renamed.mov")
    shutil.copyfile(src / "renamed.mov", src / "copy.mov")
    result = vault.backup([str(src)])
    assert result.bytes_added == 0
    assert result.files_new == 2


def test_wrong_passphrase_and_recovery_key(tmp_path: Path, vault_dir: Path) -> None:
    v, recovery = Vault.create(LocalStorage(vault_dir), "right")
    v.close()
    with pytest.raises(WrongPasswordError):
        Vault.open(LocalStorage(vault_dir), passphrase="wrong")
    with pytest.raises(WrongPasswordError):
        Vault.open(
            LocalStorage(vault_dir),
            recovery_key=recovery.replace(recovery[0], "Z" if recovery[0] != "Z" else "Y", 1),
        )
    reopened = Vault.open(LocalStorage(vault_dir), recovery_key=recovery.lower().replace("-", " "))
    assert reopened.id == v.id


def test_create_twice_refused(vault_dir: Path, vault: Vault) -> None:
    with pytest.raises(AppError, match="already"):
        Vault.create(LocalStorage(vault_dir), "other")


def test_deleting_the_cache_gives_the_same_answers(
    tmp_path: Path, vault_dir: Path, isolated_dirs: Path
) -> None:
    v, _ = Vault.create(LocalStorage(vault_dir), "pw")
    src = make_tree(tmp_path / "src")
    v.backup([str(src)])
    write(src / "notes" / "todo.txt", b"changed\n")
    v.backup([str(src)])
    os.unlink(src / "notes" / "todo.txt")
    last = v.backup([str(src)]).snapshot_id
    path = str(src / "notes" / "todo.txt")
    versions = v.versions(path)
    listing = [(e.path, e.type, e.size) for e in v.walk(last)]
    v.close()
    assert [x.change for x in versions] == [Change.ADDED, Change.CHANGED, Change.DELETED]
    shutil.rmtree(isolated_dirs / "cache")
    fresh = Vault.open(LocalStorage(vault_dir), passphrase="pw")
    assert fresh.versions(path) == versions
    assert [(e.path, e.type, e.size) for e in fresh.walk(last)] == listing
    target = tmp_path / "r"
    fresh.restore(versions[0].snapshot, str(target), [path])
    assert (restored_root(target, src) / "notes" / "todo.txt").read_bytes() == b"buy milk\n" * 50


def test_list_dir_and_restore_file(tmp_path: Path, vault: Vault) -> None:
    src = make_tree(tmp_path / "src")
    snap = vault.backup([str(src)]).snapshot_id
    entries = {e.name: e for e in vault.list_dir(snap, str(src))}
    assert entries["notes"].type is EntryType.DIR
    assert entries["link-to-todo"].link_target == "notes/todo.txt"
    assert entries["empty.bin"].size == 0
    dest = tmp_path / "elsewhere" / "copy.jpg"
    vault.restore_file(snap, str(src / "photos" / "2024" / "img_0001.jpg"), str(dest))
    assert dest.read_bytes() == (src / "photos" / "2024" / "img_0001.jpg").read_bytes()
    assert dest.stat().st_mtime_ns == (src / "photos" / "2024" / "img_0001.jpg").stat().st_mtime_ns


def test_restore_selected_path_only(tmp_path: Path, vault: Vault) -> None:
    src = make_tree(tmp_path / "src")
    snap = vault.backup([str(src)]).snapshot_id
    target = tmp_path / "t"
    vault.restore(snap, str(target), [str(src / "notes")])
    root = restored_root(target, src)
    assert sorted(p.name for p in root.iterdir()) == ["notes"]
    assert (root / "notes" / "todo.txt").read_bytes() == b"buy milk\n" * 50


def test_restore_replaces_existing_file_atomically(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    write(src / "a.txt", b"original")
    snap = vault.backup([str(src)]).snapshot_id
    write(src / "a.txt", b"edited later")
    vault.restore(snap, "/", [str(src / "a.txt")])  # back to the original place
    assert (src / "a.txt").read_bytes() == b"original"
    assert not [p for p in src.iterdir() if p.name.startswith(".keepsake-restore-")]


def test_unreadable_and_vanished_inputs_are_warnings(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    write(src / "ok.txt", b"fine")
    os.mkfifo(src / "pipe")  # never opened: special files are not backed up
    result = vault.backup([str(src), str(tmp_path / "missing")])
    assert [w.path for w in result.warnings] == [str(tmp_path / "missing")]
    names = [e.name for e in vault.list_dir(result.snapshot_id, str(src))]
    assert names == ["ok.txt"]


def test_nothing_to_back_up_is_an_error(tmp_path: Path, vault: Vault) -> None:
    with pytest.raises(AppError, match="does not exist"):
        vault.backup([str(tmp_path / "nope")])


def test_excludes(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    write(src / "keep.txt", b"k")
    write(src / "skip.tmp", b"s")
    write(src / "cache" / "x", b"c")
    snap = vault.backup([str(src)], excludes=["*.tmp", str(src / "cache")]).snapshot_id
    assert [e.name for e in vault.list_dir(snap, str(src))] == ["keep.txt"]


def test_change_passphrase(vault_dir: Path) -> None:
    v, _ = Vault.create(LocalStorage(vault_dir), "old")
    v.change_passphrase("new")
    with pytest.raises(WrongPasswordError):
        Vault.open(LocalStorage(vault_dir), passphrase="old")
    assert Vault.open(LocalStorage(vault_dir), passphrase="new").id == v.id


def test_snapshot_lookup(tmp_path: Path, vault: Vault) -> None:
    src = make_tree(tmp_path / "src")
    first = vault.backup([str(src)]).snapshot_id
    second = vault.backup([str(src)]).snapshot_id
    assert vault.find_snapshot("latest").id == second
    assert vault.find_snapshot(first[:8]).id == first
    with pytest.raises(AppError, match="too short"):
        vault.find_snapshot(first[:5])
    assert [s.id for s in vault.snapshots()] == [first, second]


def test_backup_whose_lock_was_removed_commits_nothing(
    tmp_path: Path, vault: Vault, vault_dir: Path
) -> None:
    """A prune elsewhere may remove a suspended backup's lock as stale and delete the
    data it was counting on: such a backup must not write its snapshot."""
    src = make_tree(tmp_path / "src")

    def steal_lock(progress: Progress) -> None:
        if progress.phase is Phase.BACKING_UP:
            for lock in (vault_dir / "locks").iterdir():
                lock.unlink()

    with pytest.raises(LockedError, match="Run the backup again"):
        vault.backup([str(src)], on_progress=steal_lock)
    assert vault.snapshots() == []
    again = vault.backup([str(src)])  # the next run works and commits
    assert [s.id for s in vault.snapshots()] == [again.snapshot_id]
    assert vault.check(read_data=True).ok


class CountingStorage(Storage):
    """A remote-looking backend over memory that counts reads (what a cloud bills)."""

    def __init__(self) -> None:
        self.inner = MemoryStorage()
        self.gets = 0
        self.ranged = 0

    @property
    def description(self) -> str:
        return "counting"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()  # the defaults: a remote store, ranged reads cost a request

    def put(self, name: str, data: bytes | bytearray | memoryview) -> None:
        self.inner.put(name, data)

    def get(self, name: str) -> bytes:
        self.gets += 1
        return self.inner.get(name)

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        self.ranged += 1
        return self.inner.get_range(name, offset, length)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def stat(self, name: str) -> ObjectInfo:
        return self.inner.stat(name)

    def close(self) -> None:
        self.inner.close()


def test_remote_restore_downloads_packs_not_blobs(tmp_path: Path) -> None:
    storage = CountingStorage()
    vault, _ = Vault.create(storage, "pw")
    src = tmp_path / "src"
    for i in range(300):
        write(src / f"note{i:03}.txt", b"note %d\n" % i * 50)
    vault.backup([str(src)])
    storage.gets = storage.ranged = 0
    target = tmp_path / "out"
    result = vault.restore("latest", str(target))
    assert result.files_restored == 300 and not result.warnings
    # A few ranged reads for the folder listings on the way down, one whole-pack
    # download for the data: not one request per file.
    assert storage.ranged < 20 and storage.gets <= 2
    assert (restored_root(target, src) / "note123.txt").read_bytes() == b"note 123\n" * 50


class CheapRangesStorage(CountingStorage):
    """The same backend declaring cheap ranged reads: restore must believe it."""

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(connections=1, cheap_ranged_reads=True)


def test_restore_follows_the_declared_capabilities(tmp_path: Path) -> None:
    storage = CheapRangesStorage()
    vault, _ = Vault.create(storage, "pw")
    src = tmp_path / "src"
    for i in range(50):
        write(src / f"note{i:03}.txt", b"note %d\n" % i * 50)
    vault.backup([str(src)])
    storage.gets = storage.ranged = 0
    result = vault.restore("latest", str(tmp_path / "out"))
    assert result.files_restored == 50
    # Ranged reads, no whole packs; notes packed back to back come in a few
    # requests (one per run of adjacent blobs), not one per file.
    assert storage.gets == 0 and 1 <= storage.ranged < 50


class BatchingStorage(MemoryStorage):
    """Memory that commits batches, and records the size of each ``put_many``."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(connections=1, cheap_ranged_reads=True, batch_put=True)

    def put_many(self, items: Sequence[tuple[str, bytes | bytearray | memoryview]]) -> None:
        self.batches.append(len(items))
        super().put_many(items)


def test_prune_stores_the_rewritten_index_with_put_many(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = BatchingStorage()
    created, _ = Vault.create(storage, "pw", cache_root=tmp_path / "c0")
    small_packs = {**created.config, "pack_size": 256 * 1024}  # one 300 KiB file per pack
    vault = Vault(Repository(storage, created.repo.keys, small_packs, tmp_path / "c1"))
    src = tmp_path / "src"
    for i in range(6):
        write(src / f"f{i}.bin", random_bytes(300 * 1024, seed=i))
    vault.backup([str(src)])
    assert storage.batches == []  # one index object after a backup: a plain put
    monkeypatch.setattr("app.engine.prune.INDEX_PACKS_PER_OBJECT", 2)
    vault.prune()
    packs = len(list(storage.list("data/")))  # six of data, one of folder trees
    assert packs >= 7
    objects = -(-packs // 2)  # two packs per index object
    assert storage.batches == [objects]  # all of them in one batch
    assert len(list(storage.list("index/"))) == objects
    monkeypatch.setattr("app.engine.repository.INDEX_BATCH_BYTES", 1)  # every object alone
    vault.prune()
    assert storage.batches == [objects]  # one put each, no new batch
    assert len(list(storage.list("index/"))) == objects
    result = vault.restore("latest", str(tmp_path / "out"))
    assert result.files_restored == 6 and not result.warnings
    assert vault.check(read_data=True).ok


def test_renamed_folder_is_not_read_again(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    for i in range(5):
        write(src / "Trip 2024" / f"img{i}.jpg", random_bytes(200_000, seed=i))
    vault.backup([str(src)])
    os.rename(src / "Trip 2024", src / "Italy 2024")
    result = vault.backup([str(src)])
    assert result.files_new == 5 and result.bytes_read == 0 and result.bytes_added == 0
    target = tmp_path / "r"
    vault.restore(result.snapshot_id, str(target))
    restored = restored_root(target, src) / "Italy 2024" / "img3.jpg"
    assert restored.read_bytes() == random_bytes(200_000, seed=3)


def _deep_chain(root: Path, levels: int) -> list[str]:
    names = [f"level{i:02d}-" + "x" * 200 for i in range(levels)]
    fd = os.open(root, os.O_RDONLY)
    for name in names:
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    out = os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(out, b"deep down")
    os.close(out)
    os.close(fd)
    return names


def _read_deep(root: Path, names: list[str]) -> bytes:
    fd = os.open(root, os.O_RDONLY)
    for name in names:
        child = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    data_fd = os.open("bottom.txt", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    data = os.read(data_fd, 100)
    os.close(data_fd)
    return data


def test_paths_longer_than_path_max(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    src.mkdir()
    names = _deep_chain(src, 25)  # about 5,300 bytes: beyond PATH_MAX (4,096)
    result = vault.backup([str(src)])
    assert not result.warnings and result.files_new == 1
    target = tmp_path / "r"
    restored = vault.restore(result.snapshot_id, str(target))
    assert restored.files_restored == 1 and not restored.warnings
    assert _read_deep(restored_root(target, src), names) == b"deep down"


def test_chosen_folder_that_is_a_link_is_followed(tmp_path: Path, vault: Vault) -> None:
    """~/Documents is often a link to another drive: back up what it points to; links
    inside a chosen folder stay links."""
    real = tmp_path / "other-drive" / "docs"
    write(real / "thesis.odt", b"chapter one")
    os.symlink("thesis.odt", real / "latest.odt")
    home = tmp_path / "user"
    home.mkdir()
    os.symlink(real, home / "Documents")
    snap = vault.backup([str(home / "Documents")]).snapshot_id
    entries = {e.name: e for e in vault.list_dir(snap, str(home / "Documents"))}
    assert entries["thesis.odt"].type is EntryType.FILE
    assert entries["latest.odt"].type is EntryType.SYMLINK
