"""Vault locks: shared for backups (several devices at once), exclusive for prune.

A lock is a sealed object ``locks/<random>`` naming host, pid, device and time. It is
refreshed every few minutes while held, so a lock older than ``STALE_AFTER`` belongs
to a process that died; on the same host a lock whose pid is gone is stale at once.
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
from app.storage.base import Storage

STALE_AFTER = 30 * 60.0
REFRESH_EVERY = 5 * 60.0

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

    def is_stale(self, now: float) -> bool:
        if now - self.time > STALE_AFTER:
            return True
        if self.host != socket.gethostname():
            return False
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

    def _write(self) -> None:
        doc = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "time": time.time(),
            "exclusive": self.exclusive,
        }
        self._storage.put(
            self.name, self._cipher.seal_object(T_LOCK, self.name, json.dumps(doc).encode())
        )

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
        if other.is_stale(time.time()):
            return False
        return self.exclusive or other.exclusive

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_EVERY):
            if not self.still_held():
                return  # removed as stale (we slept?): never resurrect it
            with contextlib.suppress(Exception):
                self._write()

    def still_held(self) -> bool:
        """False once another process removed our lock as stale (this process was
        suspended, or its clock is far behind). A prune may then have deleted data
        this job counted on; transient storage errors read as "held"."""
        if self.lost:
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
        """Call before committing (writing a snapshot): refuse if the lock was lost."""
        if not self.still_held():
            raise LockedError(
                "This backup was paused so long that its vault lock expired and the vault "
                "may have been cleaned up meanwhile; nothing was committed. Run the backup again."
            )

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
    for info in storage.list("locks/"):
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
    removed = 0
    for lock in list_locks(storage, cipher):
        if lock.is_stale(now):
            storage.delete(lock.name)
            removed += 1
    return removed
