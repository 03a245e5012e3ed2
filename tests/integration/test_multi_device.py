"""Several computers backing up into one vault.

A "device" is a settings folder (KEEPSAKE_CONFIG_DIR, which holds the random device
id) plus its own cache. The devices share chunks, list each other's snapshots, back
up at the same time, and one device's prune never drops data another device needs,
even when that other device's cache still believes in chunks the prune removed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.engine.repository import Repository
from app.engine.retention import RetentionPolicy
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests import helpers
from tests.helpers import cli_args, random_bytes, restored_root, tree_digest, write

PASSPHRASE = "shared vault"
KiB = 1024


def device_env(home: Path) -> dict[str, str]:
    return helpers.cli_env(home, PASSPHRASE)


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return helpers.run_cli(home, PASSPHRASE, *args)


def stored_bytes(vault_dir: Path) -> int:
    return sum(p.stat().st_size for p in vault_dir.rglob("*") if p.is_file())


def test_two_devices_share_chunks_list_each_other_and_back_up_at_once(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=tmp_path / "init-cache")[0].close()
    shared = random_bytes(1536 * KiB, seed=1)  # the same photo on both computers
    home_a, home_b = tmp_path / "device-a", tmp_path / "device-b"
    src_a, src_b = tmp_path / "a" / "Pictures", tmp_path / "b" / "Photos"
    write(src_a / "holiday.jpg", shared)
    write(src_a / "only-a.bin", random_bytes(200 * KiB, seed=2))
    write(src_b / "copy of holiday.jpg", shared)
    write(src_b / "only-b.bin", random_bytes(300 * KiB, seed=3))

    first = run_cli(home_a, "backup", "--repo", str(vault_dir), str(src_a), "--json")
    assert first.returncode == 0, first.stderr
    before = stored_bytes(vault_dir)
    second = run_cli(home_b, "backup", "--repo", str(vault_dir), str(src_b), "--json")
    assert second.returncode == 0, second.stderr
    # Device B uploads only what device A did not already store.
    added_b = json.loads(second.stdout)["bytes_added"]
    assert 300 * KiB <= added_b < 316 * KiB  # the 1.5 MiB photo was not sent again
    assert stored_bytes(vault_dir) - before < 300 * KiB + 16 * KiB

    # Both back up at the same moment: shared locks let them, and both commit.
    write(src_a / "new-a.bin", random_bytes(100 * KiB, seed=4))
    write(src_b / "new-b.bin", random_bytes(100 * KiB, seed=5))
    procs = [
        subprocess.Popen(
            cli_args("backup", "--repo", str(vault_dir), str(src)),
            env=device_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for home, src in ((home_a, src_a), (home_b, src_b))
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    listed = run_cli(home_a, "snapshots", "--repo", str(vault_dir), "--json")
    assert listed.returncode == 0, listed.stderr
    snaps = json.loads(listed.stdout)
    device_a = (home_a / "config" / "device-id").read_text().strip()
    device_b = (home_b / "config" / "device-id").read_text().strip()
    assert device_a != device_b
    assert sorted(s["device_id"] for s in snaps) == sorted([device_a, device_a, device_b, device_b])
    assert {tuple(s["paths"]) for s in snaps} == {(str(src_a),), (str(src_b),)}
    assert all(s["hostname"] for s in snaps)

    only_b = run_cli(
        home_a, "snapshots", "--repo", str(vault_dir), "--json", "--host", device_b[:8]
    )
    assert only_b.returncode == 0, only_b.stderr
    assert [s["device_id"] for s in json.loads(only_b.stdout)] == [device_b, device_b]

    restored = run_cli(
        home_a, "restore", "--repo", str(vault_dir), "latest", "--target", str(tmp_path / "r")
    )
    assert restored.returncode == 0, restored.stderr


def test_one_devices_prune_never_drops_another_devices_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    shared = random_bytes(800 * KiB, seed=10)
    only_old_a = random_bytes(600 * KiB, seed=11)
    src_a, src_b = tmp_path / "a" / "docs", tmp_path / "b" / "docs"
    write(src_a / "shared.bin", shared)
    write(src_a / "old.bin", only_old_a)
    write(src_b / "shared-copy.bin", shared)
    write(src_b / "b.txt", b"device b\n" * 1000)

    monkeypatch.setenv("KEEPSAKE_CONFIG_DIR", str(tmp_path / "config-a"))
    vault_a, _ = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=tmp_path / "cache-a")
    # Device B: same vault, its own cache and device id; a long-lived process (like
    # the desktop app) that opened the vault once.
    vault_b = Vault(
        Repository(LocalStorage(vault_dir), vault_a.repo.keys, vault_a.config, tmp_path / "cache-b")
    )
    with vault_a, vault_b:
        a1 = vault_a.backup([str(src_a)], hostname="laptop-a").snapshot_id
        monkeypatch.setenv("KEEPSAKE_CONFIG_DIR", str(tmp_path / "config-b"))
        b_first = vault_b.backup([str(src_b)], hostname="desktop-b")
        assert 9000 <= b_first.bytes_added < 9000 + 16 * KiB  # shared.bin: deduplicated
        want_b1 = tree_digest(src_b)
        assert {s.hostname for s in vault_b.snapshots()} == {"laptop-a", "desktop-b"}

        # Device A moves on: drops both files, forgets its old snapshot, prunes.
        monkeypatch.setenv("KEEPSAKE_CONFIG_DIR", str(tmp_path / "config-a"))
        (src_a / "shared.bin").unlink()
        (src_a / "old.bin").unlink()
        write(src_a / "new.txt", b"a again\n")
        a2 = vault_a.backup([str(src_a)], hostname="laptop-a").snapshot_id
        removed = vault_a.forget(RetentionPolicy(last=1))
        assert [s.id for s in removed] == [a1]  # B's only snapshot is its group's newest
        before = stored_bytes(vault_dir)
        vault_a.prune()
        # old.bin was only A's: gone. shared.bin is still B's: kept.
        assert 600 * KiB <= before - stored_bytes(vault_dir) < 700 * KiB

        # Device B, whose cache still lists old.bin's chunk, now backs up that very
        # content. It must upload it again rather than point at the pruned chunk.
        monkeypatch.setenv("KEEPSAKE_CONFIG_DIR", str(tmp_path / "config-b"))
        write(src_b / "found-it.bin", only_old_a)
        b_second = vault_b.backup([str(src_b)], hostname="desktop-b")
        assert len(only_old_a) <= b_second.bytes_added < len(only_old_a) + 16 * KiB
        want_b2 = tree_digest(src_b)

        check = vault_a.check(read_data=True)
        assert check.ok, check.problems
        for snap_id, want, out in (
            (b_first.snapshot_id, want_b1, tmp_path / "r1"),
            (b_second.snapshot_id, want_b2, tmp_path / "r2"),
        ):
            result = vault_a.restore(snap_id, str(out))
            assert not result.warnings
            assert tree_digest(restored_root(out, src_b)) == want
        snaps = vault_a.snapshots()
        assert [s.id for s in snaps if s.hostname == "laptop-a"] == [a2]
        assert len({s.device_id for s in snaps}) == 2
