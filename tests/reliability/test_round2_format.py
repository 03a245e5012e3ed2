"""Issue 11, items 1, 2, 5, 6 and 7: the vault format and the engine under stress.

* 1: a folder whose listing is bigger than the blob limit is split over several
  tree blobs; it backs up, restores, checks and prunes (here with the limit lowered
  to 256 KiB; ``tests/bench/big_folder.py`` runs 1,000,000 entries).
* 2: an old index object put back after prune (a sync tool undeleting files) never
  makes a backup deduplicate against deleted data, and restore finds a blob in any
  pack that really holds it.
* 5: a damaged index object: restore, check, prune and backup fall back to the pack
  headers and lose no file.
* 6: stray files (``.DS_Store``, ``desktop.ini``) in the vault's folders are ignored
  and named by ``check``.
* 7: 5,000 nested folders back up and restore (no recursion limit).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from app.core.models import EntryType
from app.engine import codec
from app.engine.retention import RetentionPolicy
from app.engine.tree import Node
from tests.reliability.harness import (
    VaultTemplate,
    assert_same_tree,
    cli_env,
    restored_root,
    run_cli,
    write_tree,
)

# --- item 1: folders bigger than one blob -------------------------------------------------


def _big_folder(root: Path, files: int, seed: int) -> None:
    rng = random.Random(seed)
    root.mkdir(parents=True)
    for i in range(files):
        name = f"{i:06d}-" + "".join(rng.choice("abcdefghij") for _ in range(150))
        (root / name).write_bytes(rng.randbytes(rng.randint(0, 40)))
    (root / "sub").mkdir()
    (root / "sub" / "x.txt").write_bytes(b"below the big folder\n")


def test_folder_listing_bigger_than_the_blob_limit_restores(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lower the limits: readers refuse blobs over 256 KiB; writers split listings
    # above 32 KiB. 2,500 entries with 157-byte names make a ~0.6 MB listing.
    monkeypatch.setattr(codec, "MAX_BLOB_RAW", 256 * 1024)
    monkeypatch.setattr(codec, "TREE_SPLIT_BYTES", 32 * 1024, raising=False)
    src = tmp_path / "src"
    _big_folder(src / "big", 2500, seed=41)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c") as vault:
        first = vault.backup([str(src)])
        assert not first.warnings
        names = {e.path for e in vault.walk("latest", str(src / "big"))}
        assert len(names) == 2503  # the folder itself, its 2,501 entries, sub/x.txt
        listed = vault.list_dir("latest", str(src / "big"))
        assert len(listed) == 2501 and [e.name for e in listed] == sorted(e.name for e in listed)
        result = vault.restore("latest", str(tmp_path / "t"))
        assert result.files_restored == 2501 and not result.warnings
        assert_same_tree(src, restored_root(tmp_path / "t", src))
        check = vault.check(read_data=True)
        assert check.ok, check.problems
        # One file changes: the next backup re-uploads a few parts, not the listing.
        victim = sorted((src / "big").iterdir())[1200]
        victim.write_bytes(b"changed")
        second = vault.backup([str(src)])
        assert second.files_changed == 1
        assert second.bytes_uploaded < first.bytes_uploaded / 3, (second, first)
        vault.forget(RetentionPolicy(last=1))
        vault.prune()
        assert vault.check(read_data=True).ok
        vault.restore("latest", str(tmp_path / "t2"))
        assert_same_tree(src, restored_root(tmp_path / "t2", src))
        assert vault.versions(str(victim))[-1].size == 7


def test_tree_split_is_deterministic_and_small_trees_are_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Below the split size a tree is the same single blob as before (old vaults and
    dedup against them); above it, the parts depend only on the entries, each is an
    ordinary tree within the limit, and a changed entry changes few parts."""
    split = getattr(codec, "split_tree", None)
    assert split is not None, "the writer cannot split a big listing"
    monkeypatch.setattr(codec, "TREE_SPLIT_BYTES", 4096)
    assert split([]) is None
    nodes = [
        Node(f"{i:05d}".encode() + b"x" * 60, EntryType.FILE, 0o100644, i, size=0)
        for i in range(400)
    ]
    assert split(nodes[:10]) is None
    parts = split(nodes)
    assert parts is not None and len(parts) > 2
    assert all(len(p) <= codec.TREE_SPLIT_BYTES for p in parts)
    assert [n for p in parts for n in codec.decode_tree(p)] == nodes
    assert split(list(nodes)) == parts
    changed = list(nodes)
    changed[200] = Node(nodes[200].name, EntryType.FILE, 0o100644, 7, size=12345)
    again = split(changed)
    assert again is not None
    assert len(set(again) - set(parts)) <= 2


# --- item 2: a put-back index object ------------------------------------------------------


def test_put_back_index_does_not_make_backup_dedup_against_deleted_data(
    template: VaultTemplate, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_tree(src, random.Random(42), files=12, max_size=200_000)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c1") as vault:
        vault.backup([str(src)])
        saved = {p.name: p.read_bytes() for p in (vault_dir / "index").iterdir()}
        (snap,) = vault.snapshots()
        (vault_dir / "snapshots" / snap.id).unlink()
        vault.prune()  # every pack of that backup is deleted
    assert not [p for p in (vault_dir / "data").rglob("*") if p.is_file()]
    for name, data in saved.items():  # a sync tool brings the deleted index back
        (vault_dir / "index" / name).write_bytes(data)
    with template.open(vault_dir, tmp_path / "c2") as vault:  # a fresh cache
        result = vault.backup([str(src)])
        assert result.bytes_uploaded > 0
        check = vault.check(read_data=True)
        assert not check.affected_files, check.problems
        restored = vault.restore("latest", str(tmp_path / "t"))
        assert not restored.warnings, restored.warnings
    assert_same_tree(src, restored_root(tmp_path / "t", src))


def test_restore_finds_a_blob_in_whichever_pack_really_holds_it(
    template: VaultTemplate, tmp_path: Path
) -> None:
    """Device B's cache saw the old index first; after prune and a re-upload by
    device A, and the old index put back, B still restores the new snapshot."""
    src = tmp_path / "src"
    write_tree(src, random.Random(43), files=12, max_size=200_000)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "a") as device_a:
        device_a.backup([str(src)])
    saved = {p.name: p.read_bytes() for p in (vault_dir / "index").iterdir()}
    with template.open(vault_dir, tmp_path / "b") as device_b:
        device_b.sync()  # B's cache knows the first locations
    with template.open(vault_dir, tmp_path / "a") as device_a:
        (snap,) = device_a.snapshots()
        (vault_dir / "snapshots" / snap.id).unlink()
        device_a.prune()
        device_a.backup([str(src)])  # everything uploaded again, to new packs
    for name, data in saved.items():
        (vault_dir / "index" / name).write_bytes(data)
    with template.open(vault_dir, tmp_path / "b") as device_b:
        result = device_b.restore("latest", str(tmp_path / "t"))
        assert not result.warnings, result.warnings
    assert_same_tree(src, restored_root(tmp_path / "t", src))


# --- item 5: a damaged index object -------------------------------------------------------


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def test_damaged_index_falls_back_to_pack_headers(template: VaultTemplate, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_tree(src, random.Random(44), files=40, max_size=100_000)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c0") as vault:
        vault.backup([str(src)])
    for index in (vault_dir / "index").iterdir():
        _flip_byte(index, index.stat().st_size // 2)
    # Restore with an empty cache gets every file.
    with template.open(vault_dir, tmp_path / "c1") as vault:
        result = vault.restore("latest", str(tmp_path / "t"))
        assert not result.warnings, result.warnings[:3]
    assert_same_tree(src, restored_root(tmp_path / "t", src))
    # Check names the damaged index but no file is affected.
    with template.open(vault_dir, tmp_path / "c2") as vault:
        check = vault.check(read_data=True)
        assert not check.ok and any("index/" in p for p in check.problems)
        assert not check.affected_files, check.affected_files
    # Prune rebuilds the index from the headers (and drops the damaged object);
    # backup afterwards reuses the data.
    with template.open(vault_dir, tmp_path / "c3") as vault:
        vault.prune()
        assert vault.check(read_data=True).ok
        again = vault.backup([str(src)])
        assert again.bytes_added == 0
        vault.restore("latest", str(tmp_path / "t2"))
    assert_same_tree(src, restored_root(tmp_path / "t2", src))


# --- item 6: stray files ------------------------------------------------------------------


def test_stray_files_in_the_vault_are_ignored_and_named_by_check(
    template: VaultTemplate, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_tree(src, random.Random(45), files=10, max_size=50_000)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c0") as vault:
        vault.backup([str(src)])
    some_pack_dir = next(p for p in (vault_dir / "data").iterdir() if p.is_dir())
    strays = [
        vault_dir / "snapshots" / ".DS_Store",
        vault_dir / "index" / ".DS_Store",
        vault_dir / "index" / "desktop.ini",
        vault_dir / "keys" / "desktop.ini",
        vault_dir / "locks" / ".DS_Store",
        some_pack_dir / ".DS_Store",
        vault_dir / "data" / "Thumbs.db",
        vault_dir / "desktop.ini",
    ]
    for stray in strays:
        stray.parent.mkdir(exist_ok=True)
        stray.write_bytes(b"\x00\x01Finder was here")
    env = cli_env(tmp_path / "home")
    listed = run_cli("snapshots", "--repo", str(vault_dir), env=env)
    assert listed.returncode == 0, listed.stderr
    backup = run_cli("backup", "--repo", str(vault_dir), str(src), env=env)
    assert backup.returncode == 0, backup.stderr
    restore = run_cli(
        "restore", "--repo", str(vault_dir), "latest", "--target", str(tmp_path / "t"), env=env
    )
    assert restore.returncode == 0, restore.stderr
    assert_same_tree(src, restored_root(tmp_path / "t", src))
    check = run_cli("check", "--repo", str(vault_dir), "--read-data", env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert ".DS_Store" in check.stdout + check.stderr
    prune = run_cli("prune", "--repo", str(vault_dir), env=env)
    assert prune.returncode == 0, prune.stderr
    assert all(s.exists() for s in strays), "prune deleted a file that is not Keepsake's"


# --- item 7: very deep folders ------------------------------------------------------------


def _make_deep(root: Path, depth: int) -> None:
    """``root/d/d/.../d/leaf.txt``, made through descriptors (the path is longer
    than PATH_MAX)."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"at the bottom\n")
        os.close(leaf)
    finally:
        os.close(fd)


def _read_deep(root: Path, depth: int) -> bytes:
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            child = os.open("d", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("leaf.txt", os.O_RDONLY, dir_fd=fd)
        try:
            return os.read(leaf, 100)
        finally:
            os.close(leaf)
    finally:
        os.close(fd)


def _remove_deep(root: Path) -> None:
    """Delete bottom-up without recursion (shutil.rmtree recurses per level)."""
    if not root.exists():
        return
    chain = [os.open(root, os.O_RDONLY)]
    try:
        while True:
            try:
                chain.append(os.open("d", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=chain[-1]))
            except FileNotFoundError:
                break
        while chain:
            fd = chain.pop()
            for name in os.listdir(fd):
                if name != "d":
                    os.unlink(name, dir_fd=fd)
            if chain:
                os.rmdir("d", dir_fd=chain[-1])
            os.close(fd)
    finally:
        for fd in chain:
            os.close(fd)
    shutil.rmtree(root)


def test_five_thousand_nested_folders_back_up_and_restore(
    template: VaultTemplate, tmp_path: Path
) -> None:
    depth = 5000
    src = tmp_path / "src"
    target = tmp_path / "t"
    try:
        _make_deep(src, depth)
        vault_dir = template.copy_to(tmp_path / "vault")
        with template.open(vault_dir, tmp_path / "c") as vault:
            result = vault.backup([str(src)])
            assert result.snapshot_id and not result.warnings
            assert sum(1 for _ in vault.walk("latest")) >= depth
            restored = vault.restore("latest", str(target))
            assert restored.files_restored == 1 and not restored.warnings, restored.warnings[:2]
            assert vault.check(read_data=True).ok
        assert _read_deep(restored_root(target, src), depth) == b"at the bottom\n"
    finally:
        _remove_deep(restored_root(target, src))
        _remove_deep(src)


def test_recover_tool_reads_a_split_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tools/keepsake-recover.py (written from FORMAT.md) joins split listings too."""
    from app.engine.vault import Vault
    from app.storage.local import LocalStorage
    from tests.integration.test_recover_script import PASSPHRASE, run_script

    monkeypatch.setattr(codec, "TREE_SPLIT_BYTES", 16 * 1024)
    src = tmp_path / "src"
    _big_folder(src / "big", 600, seed=46)
    (tmp_path / "vault").mkdir()
    vault, _ = Vault.create(LocalStorage(tmp_path / "vault"), PASSPHRASE, cache_root=tmp_path / "c")
    with vault:
        vault.backup([str(src)])
    done = run_script(tmp_path / "vault", "latest", "--target", str(tmp_path / "t"))
    assert done.returncode == 0, done.stderr
    assert_same_tree(src, restored_root(tmp_path / "t", src))
