"""Issue 11, item 3: locks name the device, and a backup commits only with proof.

* Two computers with the same host name: a live lock of the other one (whose pid
  means nothing here) is never removed as stale, and prune refuses to run past it.
* A backup whose lock cannot be confirmed at commit time (the storage errors on the
  check) does not commit; nor does one whose lock was not refreshed for so long
  that others may have judged it stale.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.errors import LockedError, StorageError
from app.engine.crypto import T_LOCK
from app.engine.device import device_id
from app.engine.locks import STALE_AFTER, VaultLock, list_locks, remove_stale_locks
from app.engine.vault import Vault
from app.storage.base import ObjectInfo
from app.storage.local import LocalStorage
from tests.reliability.harness import VaultTemplate, write_tree


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _plant_lock(vault: Vault, name: str, **fields: object) -> None:
    doc = {"host": socket.gethostname(), "pid": 1, "time": time.time(), "exclusive": False}
    doc.update(fields)
    vault.storage.put(name, vault.cipher.seal_object(T_LOCK, name, json.dumps(doc).encode()))


def test_lock_of_another_computer_with_the_same_host_name_is_live(
    template: VaultTemplate, tmp_path: Path
) -> None:
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c") as vault:
        # Same host name, a pid that is not running here, another device: a live
        # backup on the other computer.
        other = "locks/" + "a" * 32
        _plant_lock(vault, other, pid=_dead_pid(), device="f" * 32)
        # The same on this very device: a killed backup of ours, stale at once.
        ours = "locks/" + "b" * 32
        _plant_lock(vault, ours, pid=_dead_pid(), device=device_id())
        # Written by an older version (no device): only its age can make it stale.
        old = "locks/" + "c" * 32
        _plant_lock(vault, old, pid=_dead_pid())
        assert remove_stale_locks(vault.storage, vault.cipher) == 1
        assert {lk.name for lk in list_locks(vault.storage, vault.cipher)} == {other, old}
        with pytest.raises(LockedError):
            vault.prune()
        assert (vault_dir / other).exists()


def test_locks_name_the_device(template: VaultTemplate, tmp_path: Path) -> None:
    vault_dir = template.copy_to(tmp_path / "vault")
    with (
        template.open(vault_dir, tmp_path / "c") as vault,
        VaultLock(vault.storage, vault.cipher, exclusive=False) as lock,
    ):
        (info,) = list_locks(vault.storage, vault.cipher)
        assert info.name == lock.name and info.device == device_id()
        assert not info.is_stale(time.time())


class _LockStatFails(LocalStorage):
    """The storage answers everything except the lock check (a network blip)."""

    def stat(self, name: str) -> ObjectInfo:
        if name.startswith("locks/"):
            raise StorageError("the connection was reset")
        return super().stat(name)


def test_backup_that_cannot_confirm_its_lock_does_not_commit(
    template: VaultTemplate, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    write_tree(src, random.Random(31), files=5, max_size=20_000)
    vault_dir = template.copy_to(tmp_path / "vault")
    with (
        template.open(vault_dir, tmp_path / "c", _LockStatFails(vault_dir)) as vault,
        pytest.raises(LockedError, match="nothing was committed"),
    ):
        vault.backup([str(src)])
    assert not list(vault_dir.glob("snapshots/*"))
    with template.open(vault_dir, tmp_path / "c2") as vault:  # and the next run works
        assert vault.backup([str(src)]).snapshot_id


def test_lock_not_refreshed_for_too_long_is_not_trusted(
    template: VaultTemplate, tmp_path: Path
) -> None:
    """The process slept (or every refresh failed) for longer than others wait before
    calling a lock stale: the lock is still in storage but proves nothing."""
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c") as vault:
        lock = VaultLock(vault.storage, vault.cipher, exclusive=False).acquire()
        try:
            lock.ensure_held()
            wall, mono = lock._written_at
            lock._written_at = (wall - STALE_AFTER, mono)  # suspended half an hour
            assert not lock.still_held()
            with pytest.raises(LockedError):
                lock.ensure_held()
        finally:
            lock.release()
