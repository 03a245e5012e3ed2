"""Corruption: flip a byte in, truncate, delete or swap objects of every kind.

For every damage, ``check --read-data`` must report it (naming the object), restore
of undamaged files must still work, damaged files must be named, and no wrong byte
may reach a restored file: the restore target is pre-filled with an old version of
every file, and afterwards each file holds either exactly the backed-up bytes or,
untouched, the old ones (then it or its folder is named in the warnings).

A damaged, deleted or stale cache is rebuilt from the vault, never trusted.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.errors import AppError, VaultCorruptError, WrongPasswordError
from app.engine.crypto import B_DATA, B_KIND_MASK, B_TREE
from app.engine.packer import pack_name
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests.reliability.harness import (
    PASSWORD,
    VaultTemplate,
    cli_env,
    digest_tree,
    restored_root,
    run_cli,
    scale,
    write_tree,
)

OLD = b"the previous version of this file, which a bad restore must never touch\n"


@dataclass
class Corpus:
    vault: Path
    source: Path
    digests: dict[str, dict[str, tuple[str, str]]]  # snapshot id -> source digest
    latest: str


@pytest.fixture(scope="module")
def corpus(template: VaultTemplate, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Three snapshots of a tree spread over many packs (folders, big and small
    files, a duplicate); each later one adds a little."""
    base = tmp_path_factory.mktemp("corrupt")
    rng = random.Random(5)
    source = base / "source"
    write_tree(source, rng, files=18, max_size=400_000)
    (source / "d1" / "dup.bin").write_bytes((source / "d1" / "s1" / "f1.bin").read_bytes())
    vault_dir = template.copy_to(base / "vault")
    digests: dict[str, dict[str, tuple[str, str]]] = {}
    with template.open(vault_dir, base / "cache") as vault:
        first = vault.backup([str(source)])
        digests[first.snapshot_id] = digest_tree(source)
        (source / "d2" / "late.bin").write_bytes(rng.randbytes(150_000))
        second = vault.backup([str(source)])
        digests[second.snapshot_id] = digest_tree(source)
        (source / "later").mkdir()
        (source / "later" / "later.txt").write_bytes(b"later\n" * 5000)
        third = vault.backup([str(source)])
        digests[third.snapshot_id] = digest_tree(source)
    return Corpus(vault_dir, source, digests, third.snapshot_id)


def objects_of(vault_dir: Path, kind: str) -> list[Path]:
    if kind == "config":
        return [vault_dir / "config"]
    folder = {"key": "keys", "pack": "data", "index": "index", "snapshot": "snapshots"}[kind]
    return sorted(Path(d) / f for d, _dirs, files in os.walk(vault_dir / folder) for f in files)


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x5A
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def swap(a: Path, b: Path) -> None:
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)


def tree_locations(
    template: VaultTemplate, vault_dir: Path, cache: Path
) -> list[tuple[Path, int, int]]:
    """(pack file, offset, length) of every tree blob, from the vault's own index."""
    with template.open(vault_dir, cache) as vault:
        vault.sync()
        return [
            (vault_dir / pack_name(pack), offset, length)
            for _id, blob_type, pack, offset, length, _raw in vault.cache.iter_blobs()
            if blob_type & B_KIND_MASK == B_TREE
        ]


def prefill_old(target: Path, source: Path, digest: dict[str, tuple[str, str]]) -> None:
    root = restored_root(target, source)
    for rel, (kind, _h) in digest.items():
        if kind == "file":
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(OLD)


def verify_restore(vault: Vault, snapshot: str, corpus: Corpus, target: Path) -> tuple[int, int]:
    """Restore ``snapshot`` over old files; returns (restored exact, left untouched).

    Fails if any file holds bytes that are neither the backed-up ones nor the old
    ones, or if an untouched file is not named (itself or a folder above it)."""
    # A snapshot made by a test after the corpus holds the source as it is now.
    digest = corpus.digests.get(snapshot, corpus.digests[corpus.latest])
    prefill_old(target, corpus.source, digest)
    result = vault.restore(snapshot, str(target))
    named = {w.path for w in result.warnings}
    root = restored_root(target, corpus.source)
    got = digest_tree(root)
    exact = untouched = 0
    old_digest = ("file", hashlib.sha256(OLD).hexdigest())
    for rel, want in digest.items():
        if want[0] != "file":
            continue
        have = got.get(rel)
        if have == want:
            exact += 1
            continue
        assert have == old_digest, f"{rel}: wrong bytes restored ({have} != {want})"
        untouched += 1
        original = str(corpus.source / rel)
        ancestors = {original, *(str(p) for p in Path(original).parents)}
        assert named & ancestors, f"{rel} was not restored but nobody said so: {named}"
    leftovers = [p for p in got if ".keepsake-restore-" in p]
    assert not leftovers, leftovers
    return exact, untouched


KINDS_AND_WAYS = [
    (kind, way)
    for kind in ("pack", "index", "snapshot", "tree")
    for way in ("flip", "truncate", "delete", "swap")
]


def _damage(
    template: VaultTemplate, vault_dir: Path, cache: Path, kind: str, way: str, rng: random.Random
) -> str:
    """Apply one damage; returns the name (or a name part) check should report."""
    if kind == "tree":
        trees = tree_locations(template, vault_dir, cache)
        pack, offset, length = trees[rng.randrange(len(trees))]
        data = bytearray(pack.read_bytes())
        if way == "flip":
            data[offset + rng.randrange(length)] ^= 0x01
        elif way == "truncate":  # cut the pack inside the tree blob
            data = data[: offset + length // 2]
        elif way == "delete":  # zero the whole blob
            data[offset : offset + length] = bytes(length)
        else:  # swap the tree's bytes with the next tree's (same pack or not)
            other_pack, other_off, other_len = next(
                t for t in trees if (t[0], t[1]) != (pack, offset)
            )
            if other_pack == pack:
                n = min(length, other_len)
                a = bytes(data[offset : offset + n])
                data[offset : offset + n] = data[other_off : other_off + n]
                data[other_off : other_off + n] = a
            else:
                other = bytearray(other_pack.read_bytes())
                n = min(length, other_len)
                a = bytes(data[offset : offset + n])
                data[offset : offset + n] = other[other_off : other_off + n]
                other[other_off : other_off + n] = a
                other_pack.write_bytes(bytes(other))
        pack.write_bytes(bytes(data))
        return pack.name[:16]
    objs = objects_of(vault_dir, kind)
    rng.shuffle(objs)
    victim = objs[0]
    if way == "flip":
        flip(victim, rng.randrange(victim.stat().st_size))
    elif way == "truncate":
        truncate(victim)
    elif way == "delete":
        victim.unlink()
    else:
        swap(victim, objs[1])
    return victim.name[:16]


@pytest.mark.parametrize(("kind", "way"), KINDS_AND_WAYS)
def test_damage_is_named_and_never_restored(
    template: VaultTemplate, corpus: Corpus, tmp_path: Path, kind: str, way: str
) -> None:
    vault_dir = Path(shutil.copytree(corpus.vault, tmp_path / "vault"))
    rng = random.Random(f"{kind}-{way}")
    name = _damage(template, vault_dir, tmp_path / "probe-cache", kind, way, rng)
    with template.open(vault_dir, tmp_path / "cache") as vault:
        result = vault.check(read_data=True)
        if kind == "snapshot" and way == "delete":
            # A deleted snapshot is indistinguishable from a forgotten one: the vault
            # stays valid, the other snapshot restores.
            assert result.ok, result.problems
        elif kind == "index" and way == "delete":
            # A deleted index is indistinguishable from an interrupted backup's packs:
            # their headers describe them, nothing is lost (issue 11 item 5).
            assert result.ok, result.problems
            assert result.notes
        else:
            assert not result.ok
            # The object is named; a deleted index can only be noticed by what it
            # mapped: chunks or folder listings that are no longer found.
            assert any(name in p for p in result.problems) or (
                kind == "index" and way == "delete"
            ), (name, result.problems)
        exact_total = 0
        for snap in vault.snapshots():
            target = tmp_path / f"t-{snap.short_id}"
            exact, _untouched = verify_restore(vault, snap.id, corpus, target)
            exact_total += exact
        if kind == "index":
            # The packs are intact; only the map to them is lost. Nothing wrong was
            # written above, and the next backup rebuilds the map from the packs'
            # own headers, after which every file restores.
            vault.backup([str(corpus.source)])
            for snap in vault.snapshots():
                target = tmp_path / f"healed-{snap.short_id}"
                exact, untouched = verify_restore(vault, snap.id, corpus, target)
                assert untouched == 0, f"index {way}: not healed by the next backup"
        else:
            assert exact_total > 0, "no undamaged file could be restored"
        if kind in ("pack", "index"):
            # Damaged data names the files it affects, or the folder whose listing
            # it held (a folder listing's files cannot be named once it is lost).
            # A flip that lands in a pack's header damages no file (the blobs are
            # intact; only adopting the pack would fail): the header is named.
            # A damaged index object affects no file: the pack headers still describe
            # every blob (issue 11 item 5).
            assert (
                result.affected_files
                or any("folder" in p for p in result.problems)
                or (kind == "pack" and any("header" in p for p in result.problems))
                or (kind == "index" and not result.affected_files)
            ), result.problems


def test_cli_check_names_damage_and_exits_1(
    template: VaultTemplate, corpus: Corpus, tmp_path: Path
) -> None:
    vault_dir = Path(shutil.copytree(corpus.vault, tmp_path / "vault"))
    with template.open(vault_dir, tmp_path / "probe") as vault:
        vault.sync()
        _id, _type, pack, offset, length, _raw = next(
            row for row in vault.cache.iter_blobs() if row[1] & B_KIND_MASK == B_DATA
        )
    victim = vault_dir / pack_name(pack)
    flip(victim, offset + length // 2)  # inside a file's chunk
    done = run_cli("check", "--repo", str(vault_dir), "--read-data", env=cli_env(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert victim.name[:16] in done.stdout
    assert "Files affected" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("way", ["flip", "truncate", "delete", "swap"])
def test_damaged_config_refuses_to_open_clearly(
    template: VaultTemplate, corpus: Corpus, tmp_path: Path, way: str
) -> None:
    vault_dir = Path(shutil.copytree(corpus.vault, tmp_path / "vault"))
    config = vault_dir / "config"
    if way == "flip":
        flip(config, 40)
    elif way == "truncate":
        truncate(config)
    elif way == "delete":
        config.unlink()
    else:
        swap(config, objects_of(vault_dir, "index")[0])
    done = run_cli("check", "--repo", str(vault_dir), env=cli_env(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "config" in done.stderr or "no Keepsake vault" in done.stderr, done.stderr


def test_swapped_keys_change_nothing(
    template: VaultTemplate, corpus: Corpus, tmp_path: Path
) -> None:
    """Key objects carry their kind inside and have random names: exchanging the
    contents of the passphrase and recovery key files changes nothing."""
    vault_dir = Path(shutil.copytree(corpus.vault, tmp_path / "vault"))
    first, second = objects_of(vault_dir, "key")[:2]
    swap(first, second)
    storage = LocalStorage(vault_dir)
    with Vault.open(storage, passphrase=PASSWORD, cache_root=tmp_path / "c1") as vault:
        assert vault.check(read_data=True).ok
    with Vault.open(storage, recovery_key=template.recovery, cache_root=tmp_path / "c2") as vault:
        exact, untouched = verify_restore(vault, corpus.latest, corpus, tmp_path / "t")
        assert untouched == 0 and exact > 0


@pytest.mark.parametrize("way", ["flip", "truncate", "delete"])
def test_damaged_key_falls_back_to_the_other_key(
    template: VaultTemplate, corpus: Corpus, tmp_path: Path, way: str
) -> None:
    """A damaged passphrase key never yields wrong keys; the recovery key still opens
    the vault and everything restores. (Swapping two key objects changes nothing:
    their names are random and their kind is inside them.)"""
    vault_dir = Path(shutil.copytree(corpus.vault, tmp_path / "vault"))
    storage = LocalStorage(vault_dir)
    from app.engine.crypto import parse_key_object

    passphrase_key = next(
        p
        for p in objects_of(vault_dir, "key")
        if parse_key_object(p.read_bytes())["kind"] == "passphrase"
    )
    if way == "flip":
        text = passphrase_key.read_bytes()
        at = text.index(b'"wrapped"') + 14
        flip(passphrase_key, at)
    elif way == "truncate":
        truncate(passphrase_key)
    else:
        passphrase_key.unlink()
    with pytest.raises((WrongPasswordError, VaultCorruptError)):
        Vault.open(storage, passphrase=PASSWORD, cache_root=tmp_path / "c1")
    with Vault.open(storage, recovery_key=template.recovery, cache_root=tmp_path / "c2") as vault:
        result = vault.check(read_data=True)
        if way == "delete":
            assert result.ok, result.problems  # one key fewer is not damage
        elif way == "truncate":
            assert any(p.startswith("keys/") for p in result.problems), result.problems
        else:  # a flipped base64 digit is only noticed by the secret it no longer opens
            assert result.ok or any(p.startswith("keys/") for p in result.problems)
        exact, untouched = verify_restore(vault, corpus.latest, corpus, tmp_path / "t")
        assert untouched == 0 and exact > 0


def test_every_flipped_byte_is_detected(
    template: VaultTemplate, corpus: Corpus, tmp_path: Path
) -> None:
    """Random single-byte flips anywhere in config, packs, indexes and snapshots
    (seeded): check --read-data reports every one (docs/RELIABILITY.md)."""
    rng = random.Random(99)
    pristine = tmp_path / "pristine"
    shutil.copytree(corpus.vault, pristine)
    files = [
        p for kind in ("config", "pack", "index", "snapshot") for p in objects_of(pristine, kind)
    ]
    flips = 30 * scale()
    for i in range(flips):
        victim = files[rng.randrange(len(files))]
        offset = rng.randrange(victim.stat().st_size)
        rel = victim.relative_to(pristine)
        work = tmp_path / f"f{i}"
        shutil.copytree(pristine, work)
        flip(work / rel, offset)
        try:
            vault = template.open(work, tmp_path / f"c{i}")
        except AppError:
            assert rel.name == "config"  # a damaged config refuses to open: detected
            shutil.rmtree(work)
            continue
        with vault:
            result = vault.check(read_data=True)
        assert not result.ok, f"flip of byte {offset} in {rel} went unnoticed"
        shutil.rmtree(work)
    print(f"flipped bytes detected: {flips}")


# --- the cache ---------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate", "zero-tables"])
def test_damaged_cache_is_rebuilt(
    template: VaultTemplate, corpus: Corpus, tmp_path: Path, damage: str
) -> None:
    vault_dir = Path(shutil.copytree(corpus.vault, tmp_path / "vault"))
    cache_root = tmp_path / "cache"
    with template.open(vault_dir, cache_root) as vault:
        vault.snapshots()
        db_path = vault.cache.path
    if damage == "delete":
        db_path.unlink()
    elif damage == "garbage":
        db_path.write_bytes(os.urandom(8192))
    elif damage == "truncate":
        data = db_path.read_bytes()
        db_path.write_bytes(data[: len(data) // 3])
    else:
        db = sqlite3.connect(db_path)
        db.execute("DELETE FROM blobs")
        db.commit()
        db.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    with template.open(vault_dir, cache_root) as vault:
        assert [s.id for s in vault.snapshots()][-1] == corpus.latest
        assert vault.check(read_data=True).ok
        exact, untouched = verify_restore(vault, corpus.latest, corpus, tmp_path / "t")
        assert untouched == 0
        result = vault.backup([str(corpus.source)])
        assert not result.warnings
    with template.open(vault_dir, tmp_path / "fresh-cache") as vault:
        assert vault.check(read_data=True).ok


def _two_devices(template: VaultTemplate, tmp_path: Path) -> tuple[Path, Path, Path]:
    vault_dir = template.copy_to(tmp_path / "vault")
    source = tmp_path / "src"
    write_tree(source, random.Random(3), files=6, max_size=200_000)
    return vault_dir, source, tmp_path / "cache-a"


def test_stale_cache_after_another_device_pruned(template: VaultTemplate, tmp_path: Path) -> None:
    """Device A keeps its vault open (like the desktop app). Device B forgets A's
    snapshots and prunes their data. A's next backup of unchanged files must not
    reference the pruned chunks: it re-reads and re-uploads them."""
    vault_dir, source, cache_a = _two_devices(template, tmp_path)
    with template.open(vault_dir, cache_a) as device_a:
        device_a.backup([str(source)])
        with template.open(vault_dir, tmp_path / "cache-b") as device_b:
            for snap in device_b.snapshots():
                device_b.storage.delete(f"snapshots/{snap.id}")
            device_b.prune()
            assert not list(device_b.storage.list("data/"))
        result = device_a.backup([str(source)])  # the same, long-lived Vault object
        assert result.bytes_uploaded > 0
        check = device_a.check(read_data=True)
        assert check.ok, check.problems
        exact_target = tmp_path / "t"
        device_a.restore("latest", str(exact_target))
    assert digest_tree(restored_root(exact_target, source)) == digest_tree(source)


def test_old_copy_of_the_cache_is_not_trusted(template: VaultTemplate, tmp_path: Path) -> None:
    """A cache file put back from before a prune (a restored home folder) names
    chunks that are gone; the next backup must notice, not reference them."""
    vault_dir, source, cache_a = _two_devices(template, tmp_path)
    with template.open(vault_dir, cache_a) as vault:
        vault.backup([str(source)])
        db_path = vault.cache.path
    saved = tmp_path / "saved-cache"
    shutil.copytree(db_path.parent, saved)
    with template.open(vault_dir, tmp_path / "cache-b") as other:
        for snap in other.snapshots():
            other.storage.delete(f"snapshots/{snap.id}")
        other.prune()
    shutil.rmtree(db_path.parent)
    shutil.copytree(saved, db_path.parent)
    with template.open(vault_dir, cache_a) as vault:
        result = vault.backup([str(source)])
        assert result.bytes_uploaded > 0
        assert vault.check(read_data=True).ok
        target = tmp_path / "t"
        vault.restore("latest", str(target))
    assert digest_tree(restored_root(target, source)) == digest_tree(source)
