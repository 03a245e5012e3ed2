"""Concurrency: several devices at once, backup against prune, stale locks.

* Two devices back up into one vault at the same moment (real CLI processes with
  their own device ids and caches, and in-process threads started by a barrier):
  both snapshots complete, and data one device stored is not stored again.
* A backup running while prune is attempted: prune refuses (exclusive lock), and
  nothing the backup wrote is lost; races of the two in threads never lose data.
* A lock left by a process killed with SIGKILL is recognised as stale and cleared;
  a live lock of another computer is never cleared.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from app.core.errors import LockedError
from app.engine.crypto import T_LOCK
from app.engine.locks import STALE_AFTER, VaultLock, list_locks, remove_stale_locks
from app.engine.retention import RetentionPolicy
from tests.reliability.harness import (
    VaultTemplate,
    assert_same_tree,
    cli_args,
    cli_env,
    kill_when,
    restored_root,
    scale,
    write_tree,
)


def _data_bytes(vault_dir: Path) -> int:
    return sum(p.stat().st_size for p in (vault_dir / "data").rglob("*") if p.is_file())


def test_two_devices_back_up_at_once_with_the_cli(template: VaultTemplate, tmp_path: Path) -> None:
    rng = random.Random(21)
    shared = rng.randbytes(3 * 1024 * 1024)
    sources = []
    for device in ("laptop", "desktop"):
        src = tmp_path / device
        write_tree(src, rng, files=10, max_size=300_000)
        (src / "shared-photo.jpg").write_bytes(shared)
        sources.append(src)
    vault_dir = template.copy_to(tmp_path / "vault")
    # The laptop stored the shared photo yesterday.
    first = subprocess.run(
        cli_args("backup", "--repo", str(vault_dir), str(sources[0] / "shared-photo.jpg")),
        env=cli_env(tmp_path / "home-laptop"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    before = _data_bytes(vault_dir)
    procs = [
        subprocess.Popen(
            cli_args("backup", "--repo", str(vault_dir), str(src), "--json"),
            env=cli_env(tmp_path / f"home-{src.name}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for src in sources
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert json.loads(out)["snapshot"]
    added = _data_bytes(vault_dir) - before
    unique = sum(p.stat().st_size for s in sources for p in s.rglob("*") if p.is_file())
    assert added < unique - len(shared), "the shared photo was stored again"
    with template.open(vault_dir, tmp_path / "verify") as vault:
        assert vault.check(read_data=True).ok
        snaps = vault.snapshots()
        assert len(snaps) == 3
        assert len({s.device_id for s in snaps}) == 2
        for src in sources:
            snap = next(s for s in reversed(snaps) if s.paths == (str(src),))
            vault.restore(snap.id, str(tmp_path / "t"))
            assert_same_tree(src, restored_root(tmp_path / "t", src))


def test_devices_race_in_threads(template: VaultTemplate, tmp_path: Path) -> None:
    """Rounds of two devices starting together (a barrier, not a sleep), each round
    changing both trees; every snapshot restores and the vault checks clean."""
    vault_dir = template.copy_to(tmp_path / "vault")
    rng = random.Random(22)
    sources = [tmp_path / "a", tmp_path / "b"]
    for src in sources:
        write_tree(src, rng, files=6, max_size=200_000)
    vaults = [template.open(vault_dir, tmp_path / f"cache-{i}") for i in range(2)]
    try:
        for round_ in range(3 * scale()):
            for i, src in enumerate(sources):
                (src / f"round-{round_}.bin").write_bytes(rng.randbytes(400_000 + i))
            barrier = threading.Barrier(2)
            outcome: dict[int, object] = {}

            def run(
                i: int, barrier: threading.Barrier = barrier, outcome: dict[int, object] = outcome
            ) -> None:
                try:
                    barrier.wait()
                    outcome[i] = vaults[i].backup([str(sources[i])]).snapshot_id
                except BaseException as exc:
                    outcome[i] = exc

            threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for value in outcome.values():
                assert isinstance(value, str), value
    finally:
        for vault in vaults:
            vault.close()
    with template.open(vault_dir, tmp_path / "verify") as vault:
        assert vault.check(read_data=True).ok
        assert len(vault.snapshots()) == 2 * 3 * scale()
        for i, src in enumerate(sources):
            latest = [s for s in vault.snapshots() if s.paths == (str(src),)][-1]
            target = tmp_path / f"t{i}"
            assert not vault.restore(latest.id, str(target)).warnings
            assert_same_tree(src, restored_root(target, src))


def test_prune_refuses_while_a_cli_backup_runs(template: VaultTemplate, tmp_path: Path) -> None:
    rng = random.Random(23)
    src = tmp_path / "src"
    write_tree(src, rng, files=40, max_size=600_000)
    vault_dir = template.copy_to(tmp_path / "vault")
    home = tmp_path / "home"
    proc = subprocess.Popen(
        cli_args("backup", "--repo", str(vault_dir), str(src)),
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    refused = False
    with template.open(vault_dir, tmp_path / "pruner") as pruner:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            locks = vault_dir / "locks"
            held = locks.exists() and any(not p.name.startswith(".tmp-") for p in locks.iterdir())
            if held:  # the backup's lock object is complete: it holds the vault
                try:
                    pruner.prune()
                except LockedError as exc:
                    assert "backup" in exc.message
                    refused = True
                    break
            time.sleep(0.0005)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    if not refused:
        pytest.skip("the backup finished before prune could try")
    with template.open(vault_dir, home / "cache") as vault:
        assert vault.check(read_data=True).ok
        vault.restore("latest", str(tmp_path / "t"))
    assert_same_tree(src, restored_root(tmp_path / "t", src))


def test_backup_and_prune_race_in_threads(template: VaultTemplate, tmp_path: Path) -> None:
    """Each round one device backs up while another forgets and prunes, started
    together: each job finishes or is refused with LockedError; no data is lost."""
    vault_dir = template.copy_to(tmp_path / "vault")
    rng = random.Random(24)
    src = tmp_path / "src"
    write_tree(src, rng, files=6, max_size=200_000)
    backer = template.open(vault_dir, tmp_path / "c-backup")
    pruner = template.open(vault_dir, tmp_path / "c-prune")
    stats = {"backup": 0, "prune": 0, "refused": 0}
    try:
        backer.backup([str(src)])
        for round_ in range(4 * scale()):
            (src / f"r{round_}.bin").write_bytes(rng.randbytes(300_000))
            if round_ % 2:
                (src / f"r{round_ - 1}.bin").unlink()
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def backup(
                barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
            ) -> None:
                barrier.wait()
                try:
                    backer.backup([str(src)])
                    stats["backup"] += 1
                except LockedError:
                    stats["refused"] += 1
                except BaseException as exc:
                    errors.append(exc)

            def prune(
                barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
            ) -> None:
                barrier.wait()
                try:
                    pruner.forget(RetentionPolicy(last=1))
                    pruner.prune()
                    stats["prune"] += 1
                except LockedError:
                    stats["refused"] += 1
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=backup), threading.Thread(target=prune)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors, errors
            backer.backup([str(src)])  # make sure the newest state is saved
            assert backer.check(read_data=True).ok
            target = tmp_path / f"t{round_}"
            assert not backer.restore("latest", str(target)).warnings
            assert_same_tree(src, restored_root(target, src))
    finally:
        backer.close()
        pruner.close()
    print(f"backup/prune races: {stats}")


def test_stale_lock_of_a_killed_process_is_cleared(template: VaultTemplate, tmp_path: Path) -> None:
    rng = random.Random(25)
    src = tmp_path / "src"
    write_tree(src, rng, files=30, max_size=500_000)
    vault_dir = template.copy_to(tmp_path / "vault")
    home = tmp_path / "home"
    locks = vault_dir / "locks"
    killed, _code = kill_when(
        cli_args("backup", "--repo", str(vault_dir), str(src)),
        cli_env(home),
        lambda: locks.exists() and any(not p.name.startswith(".tmp-") for p in locks.iterdir()),
    )
    assert killed
    with template.open(vault_dir, home / "cache") as vault:
        left = list_locks(vault.storage, vault.cipher)
        assert len(left) == 1 and left[0].is_stale(time.time())
        # A live lock of another computer, and an abandoned one from long ago.
        for name, host, age in (
            ("locks/" + "a" * 32, "other-computer", 60.0),
            ("locks/" + "b" * 32, "old-computer", STALE_AFTER + 60),
        ):
            doc = {"host": host, "pid": 1, "time": time.time() - age, "exclusive": False}
            vault.storage.put(
                name, vault.cipher.seal_object(T_LOCK, name, json.dumps(doc).encode())
            )
        assert remove_stale_locks(vault.storage, vault.cipher) == 2
        remaining = {lk.host for lk in list_locks(vault.storage, vault.cipher)}
        assert remaining == {"other-computer"}
        with pytest.raises(LockedError):  # prune must not run past a live backup
            vault.prune()
        vault.storage.delete("locks/" + "a" * 32)
        result = vault.backup([str(src)])
        assert not result.warnings
        vault.prune()
        assert vault.check(read_data=True).ok
        assert not [p for p in locks.iterdir() if not p.name.startswith(".tmp-")]
        vault.restore("latest", str(tmp_path / "t"))
    assert_same_tree(src, restored_root(tmp_path / "t", src))


def test_exclusive_lock_blocks_backups(template: VaultTemplate, tmp_path: Path) -> None:
    vault_dir = template.copy_to(tmp_path / "vault")
    src = tmp_path / "src"
    write_tree(src, random.Random(26), files=3, max_size=10_000)
    with template.open(vault_dir, tmp_path / "c") as vault:
        with VaultLock(vault.storage, vault.cipher, exclusive=True), pytest.raises(LockedError):
            vault.backup([str(src)])
        assert vault.backup([str(src)]).snapshot_id
