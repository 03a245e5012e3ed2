"""Forget and prune on a real local vault: what is kept still restores byte-exact,
the vault shrinks by what was dropped, and a prune killed with SIGKILL at any step
leaves a vault that checks clean and restores everything.

The CLI runs as a subprocess where the contract matters (exit codes, env); checks
and restores in between use the Vault API with the already-derived keys, because
every Argon2id derivation costs about half a second.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.engine.crypto import T_LOCK
from app.engine.device import device_id
from app.engine.locks import VaultLock, list_locks
from app.engine.repository import Repository
from app.engine.retention import RetentionPolicy
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests import helpers
from tests.helpers import cli_args, random_bytes, restored_root, tree_digest, write

PASSPHRASE = "prune me"
KiB = 1024


def cli_env(home: Path) -> dict[str, str]:
    return helpers.cli_env(home, PASSPHRASE)


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return helpers.run_cli(home, PASSPHRASE, *args)


def same_keys(vault: Vault, vault_dir: Path, cache_root: Path) -> Vault:
    """The vault at ``vault_dir`` opened with ``vault``'s keys and a fresh cache (no KDF)."""
    return Vault(Repository(LocalStorage(vault_dir), vault.repo.keys, vault.config, cache_root))


def stored_bytes(vault_dir: Path, prefix: str = "") -> int:
    root = vault_dir / prefix if prefix else vault_dir
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def assert_restores(
    vault: Vault, snap_id: str, src: Path, want: Mapping[str, object], out: Path
) -> None:
    result = vault.restore(snap_id, str(out))
    assert not result.warnings, result.warnings
    assert tree_digest(restored_root(out, src)) == want


def test_forget_and_prune_keep_what_they_should_and_free_the_rest(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    src = tmp_path / "src"
    write(src / "keep.bin", random_bytes(700 * KiB, seed=1))
    write(src / "gone.bin", random_bytes(900 * KiB, seed=2))
    vault, _ = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=tmp_path / "c0")
    digests: dict[str, dict[str, tuple[str, str, int]]] = {}
    with vault:
        s1 = vault.backup([str(src)]).snapshot_id
        (src / "gone.bin").unlink()
        write(src / "sub" / "mid.bin", random_bytes(500 * KiB, seed=3))
        s2 = vault.backup([str(src)]).snapshot_id
        digests[s2] = tree_digest(src)
        write(src / "sub" / "new.bin", random_bytes(300 * KiB, seed=4))
        s3 = vault.backup([str(src)]).snapshot_id
        digests[s3] = tree_digest(src)
        before_all, before_data = stored_bytes(vault_dir), stored_bytes(vault_dir, "data")
        assert before_data >= (700 + 900 + 500 + 300) * KiB

        usage = run_cli(tmp_path, "forget", "--repo", str(vault_dir))
        assert usage.returncode == 2 and "--keep" in usage.stderr
        done = run_cli(tmp_path, "forget", "--repo", str(vault_dir), "--keep-last", "2", "--prune")
        assert done.returncode == 0, done.stderr
        assert "Removed 1 snapshot(s)." in done.stdout and "Pruned:" in done.stdout

        # Only gone.bin's chunk (and the first snapshot's trees and object) went away.
        freed = before_all - stored_bytes(vault_dir)
        assert 900 * KiB <= freed <= 900 * KiB + 32 * KiB
        live = (700 + 500 + 300) * KiB
        assert live <= stored_bytes(vault_dir, "data") <= live + 32 * KiB

        fresh = same_keys(vault, vault_dir, tmp_path / "c1")  # nothing from the old cache
        with fresh:
            assert [s.id for s in fresh.snapshots()] == [s2, s3]
            assert s1 not in {s.id for s in fresh.snapshots()}
            check = fresh.check(read_data=True)
            assert check.ok, check.problems
            for snap_id in (s2, s3):
                assert_restores(
                    fresh, snap_id, src, digests[snap_id], tmp_path / f"r-{snap_id[:8]}"
                )
            assert fresh.prune().packs_deleted == 0  # nothing left to do


def test_time_machine_policy_with_an_injected_clock(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    src = tmp_path / "src"
    vault, _ = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=tmp_path / "c0")
    with vault:
        ids = []
        for i in range(4):
            write(src / f"v{i}.bin", random_bytes(200 * KiB, seed=10 + i))
            ids.append(vault.backup([str(src)]).snapshot_id)
        want = tree_digest(src)
        # "Now": all four are within 24 hours -> every backup is kept.
        assert vault.forget(RetentionPolicy.time_machine()) == []
        # Two days later they are one day's backups: only that day's newest stays.
        later = datetime.now(UTC) + timedelta(days=2)
        removed = vault.forget(RetentionPolicy.time_machine(), now=later)
        assert [s.id for s in removed] == ids[:3]
        stats = vault.prune()
        assert stats.bytes_after <= stats.bytes_before
        assert [s.id for s in vault.snapshots()] == ids[3:]
        assert vault.check(read_data=True).ok
        assert_restores(vault, ids[3], src, want, tmp_path / "out")


def test_prune_waits_for_a_running_backup_and_ignores_stale_locks(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    src = tmp_path / "src"
    write(src / "a.bin", random_bytes(100 * KiB, seed=5))
    vault, _ = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=tmp_path / "c0")
    with vault:
        vault.backup([str(src)])
        objects = sorted(p.name for p in vault_dir.rglob("*") if p.is_file())
        # Another device's backup is running (a live shared lock): prune must not start.
        running = VaultLock(vault.storage, vault.cipher, exclusive=False).acquire()
        try:
            refused = run_cli(tmp_path, "prune", "--repo", str(vault_dir))
        finally:
            running.release()
        assert refused.returncode == 1
        assert "backup" in refused.stderr and "Traceback" not in refused.stderr
        assert sorted(p.name for p in vault_dir.rglob("*") if p.is_file()) == objects

        # Locks left by crashed processes: a dead pid on this device, and an hour-old
        # lock from another computer. Neither blocks prune, and prune removes both.
        gone_pid = _a_dead_pid()
        for name, host, pid, age, device in (
            ("locks/" + "a" * 32, socket.gethostname(), gone_pid, 0.0, device_id()),
            ("locks/" + "b" * 32, "other-computer", 4242, 3600.0, "e" * 32),
        ):
            doc = (
                f'{{"host": "{host}", "pid": {pid}, "time": {time.time() - age}, '
                f'"exclusive": true, "device": "{device}"}}'
            )
            vault.storage.put(name, vault.cipher.seal_object(T_LOCK, name, doc.encode()))
        assert len(list_locks(vault.storage, vault.cipher)) == 2
        vault.prune()
        assert list_locks(vault.storage, vault.cipher) == []


def _a_dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# --- kill -9 during prune ---------------------------------------------------------------


@dataclass
class Prepared:
    """A vault with history to forget: eight backups, each replacing one file."""

    vault_dir: Path
    src: Path
    vault: Vault
    kept: dict[str, dict[str, tuple[str, str, int]]] = field(default_factory=dict)
    packs: set[str] = field(default_factory=set)
    indexes: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    base = tmp_path_factory.mktemp("prune-kill")
    vault_dir = base / "vault"
    vault_dir.mkdir()
    src = base / "src"
    write(src / "always.bin", random_bytes(600 * KiB, seed=20))
    vault, _ = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=base / "cache")
    prep = Prepared(vault_dir, src, vault)
    for i in range(8):
        for old in src.glob("gen-*.bin"):
            old.unlink()
        write(src / f"gen-{i}.bin", random_bytes(400 * KiB, seed=30 + i))
        write(src / "log.txt", f"generation {i}\n".encode() * 2000)  # compressible
        snap_id = vault.backup([str(src)]).snapshot_id
        if i >= 5:
            prep.kept[snap_id] = tree_digest(src)
    removed = vault.forget(RetentionPolicy(last=3))
    assert len(removed) == 5
    prep.packs = {p.name for p in (vault_dir / "data").rglob("*") if p.is_file()}
    prep.indexes = {p.name for p in (vault_dir / "index").iterdir()}
    assert len(prep.packs) == 8
    yield prep
    vault.close()


def _names(path: Path) -> set[str]:
    return {p.name for p in path.rglob("*") if p.is_file() and not p.name.startswith(".tmp-")}


Trigger = Callable[[Path], bool]


def _triggers(prep: Prepared) -> list[tuple[str, Trigger, bool]]:
    """(label, condition on the vault folder, whether the kill must land mid-prune).

    Once the lock appears prune still has tens of milliseconds of work ahead (read
    trees, repack, write the index, delete), so that kill surely interrupts it. The
    later steps and the seeded random delays may land a little after the last step
    on a loaded machine; the vault must be valid either way.
    """
    rng = random.Random(1234)
    out: list[tuple[str, Trigger, bool]] = [
        ("lock-written", lambda d: bool(_names(d / "locks")), True),
        ("new-pack", lambda d: bool(_names(d / "data") - prep.packs), False),
        ("new-index", lambda d: bool(_names(d / "index") - prep.indexes), False),
        ("old-index-gone", lambda d: bool(prep.indexes - _names(d / "index")), False),
        ("old-pack-gone", lambda d: bool(prep.packs - _names(d / "data")), False),
    ]
    for _ in range(2):
        delay = rng.uniform(0.0, 0.06)  # prune proper takes a few tens of milliseconds
        out.append((f"lock+{delay * 1000:.0f}ms", _after_lock(delay), False))
    return out


def _after_lock(delay: float) -> Trigger:
    """Fires ``delay`` seconds after prune's lock appears: a random point inside prune."""
    seen: list[float] = []

    def fire(vault_dir: Path) -> bool:
        if not seen:
            if _names(vault_dir / "locks"):
                seen.append(time.monotonic())
            return False
        return time.monotonic() - seen[0] >= delay

    return fire


def test_prune_killed_at_each_step_leaves_a_valid_vault(
    prepared: Prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed_mid_way = []
    for n, (label, trigger, must_interrupt) in enumerate(_triggers(prepared)):
        work = tmp_path / f"round-{n}"
        # The killed CLI and this process are one computer: one device id.
        monkeypatch.setenv("KEEPSAKE_CONFIG_DIR", str(work / "config"))
        vault_dir = work / "vault"
        shutil.copytree(prepared.vault_dir, vault_dir)
        proc = subprocess.Popen(
            cli_args("prune", "--repo", str(vault_dir)),
            env=cli_env(work),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            while proc.poll() is None and not trigger(vault_dir):
                time.sleep(0.0002)  # polling the child's effects on disk, not a thread
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        finally:
            _, err = proc.communicate(timeout=60)
        was_killed = proc.returncode == -signal.SIGKILL
        assert was_killed or proc.returncode == 0, (label, err)
        if must_interrupt:
            assert was_killed, f"{label}: prune finished before the kill"
        killed_mid_way.append(was_killed)

        # The vault as the kill left it: `check --read-data` passes and every kept
        # snapshot restores byte-exact. (The CLI costs a key derivation, so every
        # other round asks the engine directly: the same check, without the exit code.)
        with same_keys(prepared.vault, vault_dir, work / "api-cache") as vault:
            if n % 2 == 0:
                check = run_cli(work, "check", "--repo", str(vault_dir), "--read-data")
                assert check.returncode == 0, (label, check.stdout, check.stderr)
            else:
                result = vault.check(read_data=True)
                assert result.ok, (label, result.problems)
            assert {s.id for s in vault.snapshots()} == set(prepared.kept)
            for snap_id, want in prepared.kept.items():
                assert_restores(vault, snap_id, prepared.src, want, work / f"r-{snap_id[:8]}")
            # The next prune completes and the vault is still whole.
            vault.prune()
            assert vault.check(read_data=True).ok, label
            assert_restores(
                vault,
                next(iter(prepared.kept)),
                prepared.src,
                prepared.kept[next(iter(prepared.kept))],
                work / "r-after",
            )
            assert not _names(vault_dir / "locks")
        shutil.rmtree(work)
    assert killed_mid_way[0]  # at least the first kill interrupted a running prune
