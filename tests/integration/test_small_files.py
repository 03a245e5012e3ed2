"""Folders of many small files: the readers' batched path stores, deduplicates and
restores them exactly like the general path (issue 14)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.core.events import Phase, Progress
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests.helpers import random_bytes, restored_root, tree_digest, write


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    path = tmp_path / "vault"
    path.mkdir()
    v, _recovery = Vault.create(LocalStorage(path), "correct horse")
    return v


def small_tree(root: Path) -> int:
    """120 small files (text, duplicates, an empty one, a JPEG-looking one) and one
    file above the chunker's minimum in the same folder; returns the unique bytes."""
    unique = 0
    for i in range(100):
        data = (f"note {i} " * (i + 3)).encode()
        write(root / "notes" / f"n{i:03d}.txt", data)
        unique += len(data)
    for i in range(10):  # the same content under other names, inside one batch
        write(root / "notes" / f"copy{i:02d}.txt", (f"note {i} " * (i + 3)).encode())
    write(root / "notes" / "empty", b"")
    photo = b"\xff\xd8\xff\xe0" + random_bytes(3000, 1)
    write(root / "notes" / "tiny.jpg", photo)
    big = random_bytes(300 * 1024, 2)  # above the 256 KiB minimum chunk: general path
    write(root / "notes" / "big.bin", big)
    for i in range(8):
        write(root / "other" / f"o{i}.txt", random_bytes(100 + i, 10 + i))
        unique += 100 + i
    return unique + len(photo) + len(big)


def test_small_files_round_trip_and_deduplicate(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    unique = small_tree(src)
    first = vault.backup([str(src)])
    assert first.files_new == 121 and not first.warnings
    assert first.bytes_added == unique  # duplicates inside a batch were stored once
    target = tmp_path / "restore"
    restored = vault.restore(first.snapshot_id, str(target))
    assert not restored.warnings
    assert tree_digest(restored_root(target, src)) == tree_digest(src)

    # A copy of the folder elsewhere: every chunk is known, nothing is added.
    shutil.copytree(src / "notes", src / "notes-copy")
    second = vault.backup([str(src)])
    assert second.files_new == 113 and second.bytes_added == 0
    assert second.files_unchanged == 121


def test_a_small_file_that_changed_is_read_again(tmp_path: Path, vault: Vault) -> None:
    src = tmp_path / "src"
    small_tree(src)
    vault.backup([str(src)])
    note = src / "notes" / "n005.txt"
    note.write_bytes(b"edited")
    os.utime(note, ns=(1, 1))
    result = vault.backup([str(src)])
    assert result.files_changed == 1 and result.bytes_added == len(b"edited")
    target = tmp_path / "restore"
    vault.restore(result.snapshot_id, str(target))
    assert (restored_root(target, src) / "notes" / "n005.txt").read_bytes() == b"edited"


def test_a_sealing_failure_fails_the_backup_and_commits_nothing(
    tmp_path: Path, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks are compressed and sealed on another thread after the walk moved
    on: an error there must still fail the backup before any snapshot names them."""
    src = tmp_path / "src"
    small_tree(src)

    def broken(self: object, items: object) -> None:
        raise OSError("disk full while sealing")

    monkeypatch.setattr("app.engine.packer.Packer.add_many", broken)
    with pytest.raises(OSError, match="disk full while sealing"):
        vault.backup([str(src)])
    assert vault.snapshots() == []
    monkeypatch.undo()
    result = vault.backup([str(src)])  # the next run completes
    target = tmp_path / "restore"
    vault.restore(result.snapshot_id, str(target))
    assert tree_digest(restored_root(target, src)) == tree_digest(src)


def test_first_backup_progress_counts_files_up_front(tmp_path: Path, vault: Vault) -> None:
    """With no earlier snapshot, the file count is known before any file is read; the
    byte total is estimated from the files listed so far and ends exact."""
    src = tmp_path / "src"
    unique = small_tree(src)
    events: list[Progress] = []
    result = vault.backup([str(src)], on_progress=events.append)
    backing_up = [e for e in events if e.phase is Phase.BACKING_UP]
    assert backing_up and backing_up[0].files_done == 0
    assert backing_up[0].files_total == 121
    assert all(e.fraction <= 1.0 for e in backing_up)
    last = events[-1]
    assert last.final and last.files_done == last.files_total == 121
    assert last.bytes_done == last.bytes_total == result.bytes_total > unique


def test_a_folder_remembers_exactly_the_files_it_holds(tmp_path: Path, vault: Vault) -> None:
    """File states are kept as one cache row per folder (issue 14, round 3): a
    deleted file's state goes with it and a renamed one is remembered under its new
    name only (renaming changes a file's ctime, so it is read again, adding nothing)."""
    src = tmp_path / "src"
    small_tree(src)
    notes = os.fsencode(src / "notes")
    vault.backup([str(src)])
    assert len(vault.repo.cache.dir_file_states(notes)) == 113
    (src / "notes" / "n001.txt").unlink()
    os.rename(src / "notes" / "n002.txt", src / "notes" / "renamed.txt")
    second = vault.backup([str(src)])
    assert second.files_new == 1 and second.bytes_added == 0
    states = vault.repo.cache.dir_file_states(notes)
    assert b"n001.txt" not in states and b"n002.txt" not in states
    assert b"renamed.txt" in states and len(states) == 112
    third = vault.backup([str(src)])
    assert third.files_unchanged == 120 and third.bytes_read == 0


def test_a_renamed_folder_and_a_new_one_in_its_place(tmp_path: Path, vault: Vault) -> None:
    """The renamed folder's files are found by the folder's inode and not read; the
    new folder under the old name has the same file names but other files, and every
    one of them is read."""
    src = tmp_path / "src"
    small_tree(src)
    vault.backup([str(src)])
    os.rename(src / "other", src / "moved")
    for i in range(8):
        write(src / "other" / f"o{i}.txt", random_bytes(100 + i, 50 + i))
    result = vault.backup([str(src)])
    assert result.files_new == 8 and result.files_changed == 8  # by path
    assert result.bytes_read == sum(100 + i for i in range(8))  # only the new folder's
    target = tmp_path / "restore"
    vault.restore(result.snapshot_id, str(target))
    assert tree_digest(restored_root(target, src)) == tree_digest(src)
    again = vault.backup([str(src)])
    assert again.bytes_read == 0 and again.files_unchanged == 129
