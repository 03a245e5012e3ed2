"""Vault locks: shared for backups (several devices at once), exclusive for prune.

A lock is a sealed object ``locks/<random>`` naming host, pid, device and time. It is
refreshed every few minutes while held, so a lock older than ``STALE_AFTER`` belongs
to a process that died; on the same *device* (not merely the same host name: two
computers may share one) a lock whose pid is gone is stale at once. A lock without a
device id (older versions) is only ever stale by age.

A backup commits only if it can prove its lock is still there and was refreshed
recently enough that nobody could have judged it stale; "cannot tell" (a storage
error) is not proof.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass

from app.core.errors import LockedError, NotFoundInStorage, VaultCorruptError
from app.engine.crypto import T_LOCK, Cipher
from app.engine.device import device_id
from app.engine.names import list_objects
from app.storage.base import Storage

STALE_AFTER = 30 * 60.0
REFRESH_EVERY = 5 * 60.0
# A holder whose last refresh is older than this may already look stale to others
# (clocks differ a little): it no longer counts on its lock.
TRUST_FOR = STALE_AFTER - 5 * 60.0

# Locks this process holds right now. A lock naming this host and this pid that is
# not in here was left by a job of ours whose release failed (e.g. the drive
# errored on delete): it is stale, or a long-running app would block itself.
_HELD: set[str] = set()


@dataclass(frozen=True)
class LockInfo:
    name: str
    host: str
    pid: int
    time: float
    exclusive: bool
    device: str = ""

    def is_stale(self, now: float, device: str | None = None) -> bool:
        """``device``: this computer's id (looked up when not given)."""
        if now - self.time > STALE_AFTER:
            return True
        if not self.device or self.device != (device if device is not None else device_id()):
            return False  # another computer (or one that did not say): only age counts
        if self.pid == os.getpid():
            return self.name not in _HELD
        return not _pid_alive(self.pid)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class VaultLock:
    def __init__(self, storage: Storage, cipher: Cipher, exclusive: bool) -> None:
        self._storage = storage
        self._cipher = cipher
        self.exclusive = exclusive
        self.name = f"locks/{secrets.token_hex(16)}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False
        self.device = device_id()
        # When our last write started, by the wall clock and by the monotonic one
        # (the larger elapsed time counts: either may stand still or jump).
        self._written_at = (0.0, 0.0)

    def _write(self) -> None:
        started = (time.time(), time.monotonic())
        doc = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "time": started[0],
            "exclusive": self.exclusive,
            "device": self.device,
        }
        self._storage.put(
            self.name, self._cipher.seal_object(T_LOCK, self.name, json.dumps(doc).encode())
        )
        self._written_at = started

    def _age(self) -> float:
        """Seconds since our last successful write began."""
        wall, mono = self._written_at
        return max(time.time() - wall, time.monotonic() - mono)

    def acquire(self) -> VaultLock:
        conflicts = [lk for lk in list_locks(self._storage, self._cipher) if self._conflicts(lk)]
        if conflicts:
            raise _locked_error(conflicts[0], self.exclusive)
        _HELD.add(self.name)  # before it is visible, so our other threads see it held
        try:
            self._write()
        except BaseException:
            _HELD.discard(self.name)
            raise
        # Re-check after writing: two writers racing both see each other and back off.
        conflicts = [
            lk
            for lk in list_locks(self._storage, self._cipher)
            if lk.name != self.name and self._conflicts(lk)
        ]
        if conflicts:
            _HELD.discard(self.name)
            self._storage.delete(self.name)
            raise _locked_error(conflicts[0], self.exclusive)
        self._thread = threading.Thread(target=self._refresh_loop, name="lock-refresh", daemon=True)
        self._thread.start()
        return self

    def _conflicts(self, other: LockInfo) -> bool:
        if other.is_stale(time.time(), self.device):
            return False
        return self.exclusive or other.exclusive

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_EVERY):
            if not self.still_held():
                return  # removed as stale (we slept?): never resurrect it
            with contextlib.suppress(Exception):
                self._write()

    def still_held(self) -> bool:
        """False once our lock may have been judged stale (not refreshed for
        ``TRUST_FOR``: this process was suspended, or storage writes kept failing) or
        another process removed it. A prune may then have deleted data this job
        counted on. A transient storage error reads as "held" here, so the refresh
        loop keeps trying; ``ensure_held`` demands proof."""
        if self.lost:
            return False
        if self._age() > TRUST_FOR:
            self.lost = True
            return False
        try:
            self._storage.stat(self.name)
        except NotFoundInStorage:
            self.lost = True
            return False
        except Exception:  # cannot tell now: the commit-time check decides
            return True
        return True

    def ensure_held(self) -> None:
        """Call before committing (writing a snapshot): refuse unless the lock is
        provably still there and fresh. A storage error while checking is no proof."""
        if self.lost or self._age() > TRUST_FOR:
            self.lost = True
            raise LockedError(
                "This backup was paused so long that its vault lock expired and the vault "
                "may have been cleaned up meanwhile; nothing was committed. Run the backup again."
            )
        try:
            self._storage.stat(self.name)
        except NotFoundInStorage:
            self.lost = True
            raise LockedError(
                "This backup's vault lock was removed by another computer (it may have "
                "cleaned up the vault meanwhile); nothing was committed. Run the backup again."
            ) from None
        except Exception as exc:
            raise LockedError(
                f"Could not confirm this backup's vault lock ({exc}); nothing was committed, "
                "so a clean-up running elsewhere cannot have removed data it needs. "
                "Run the backup again."
            ) from exc

    def release(self) -> None:
        _HELD.discard(self.name)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._storage.delete(self.name)

    def __enter__(self) -> VaultLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _locked_error(lock: LockInfo, exclusive: bool) -> LockedError:
    when = time.strftime("%H:%M", time.localtime(lock.time))
    if lock.exclusive:
        return LockedError(
            f"The vault is being cleaned up (pruned) by {lock.host} since {when}; try again later."
        )
    return LockedError(
        f"A backup from {lock.host} (started {when}) is running; prune needs the vault alone. "
        "Try again when it has finished."
    )


def list_locks(storage: Storage, cipher: Cipher) -> list[LockInfo]:
    locks = []
    for info in list_objects(storage, "locks/"):
        try:
            raw = cipher.open_object(T_LOCK, info.name, storage.get(info.name))
            doc = json.loads(raw)
            locks.append(
                LockInfo(
                    info.name,
                    str(doc["host"]),
                    int(doc["pid"]),
                    float(doc["time"]),
                    bool(doc["exclusive"]),
                    str(doc.get("device", "")),
                )
            )
        except NotFoundInStorage:
            continue
        except (VaultCorruptError, ValueError, KeyError, TypeError):
            # An unreadable lock cannot block anyone forever: treat it as stale.
            continue
    return locks


def remove_stale_locks(storage: Storage, cipher: Cipher) -> int:
    now = time.time()
    device = device_id()
    removed = 0
    for lock in list_locks(storage, cipher):
        if lock.is_stale(now, device):
            storage.delete(lock.name)
            removed += 1
    return removed
