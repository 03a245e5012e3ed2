"""Fault injection around the real local backend, and small tmpfs mounts.

``FaultyStorage`` wraps a real ``LocalStorage`` and, on chosen calls, raises what
``LocalStorage`` raises for the same OS error (through its own errno translation),
so the engine sees exactly what a full or failing drive would give it. It is a fault
injector in front of the real backend, not a stand-in for it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.storage.base import ObjectInfo, Storage
from app.storage.local import LocalStorage, _translate


@dataclass
class FaultPlan:
    """Which calls fail: the ``after``-th and later calls of the named methods
    (``sticky``: every one after, like a full disk) or just that one, or each call
    with probability ``rate``; only for object names starting with ``prefix``."""

    methods: tuple[str, ...]
    error: int = errno.EIO
    after: int | None = None
    sticky: bool = True
    rate: float = 0.0
    prefix: str = ""
    seed: int = 0
    action: Callable[[], None] | None = None  # run instead of raising (once)


@dataclass
class FaultyStorage(Storage):
    inner: LocalStorage
    plan: FaultPlan
    calls: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.plan.seed)
        self._lock = threading.Lock()
        self._count = 0

    @property
    def description(self) -> str:
        return self.inner.description

    def _maybe_fail(self, method: str, name: str) -> None:
        plan = self.plan
        if method not in plan.methods or not name.startswith(plan.prefix):
            return
        with self._lock:
            self.calls[method] += 1
            self._count += 1
            count = self._count
            fail = False
            if plan.after is not None:
                fail = count >= plan.after if plan.sticky else count == plan.after
            if plan.rate and self._rng.random() < plan.rate:
                fail = True
            if not fail:
                return
            self.injected[f"{method}:{errno.errorcode[plan.error]}"] += 1
            action, plan.action = plan.action, None
        if action is not None:
            action()
            return
        raise _translate(OSError(plan.error, os.strerror(plan.error)), name)

    def put(self, name: str, data: bytes | bytearray | memoryview) -> None:
        self._maybe_fail("put", name)
        self.inner.put(name, data)

    def get(self, name: str) -> bytes:
        self._maybe_fail("get", name)
        return self.inner.get(name)

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        self._maybe_fail("get_range", name)
        return self.inner.get_range(name, offset, length)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self._maybe_fail("list", prefix)
        return self.inner.list(prefix)

    def delete(self, name: str) -> None:
        self._maybe_fail("delete", name)
        self.inner.delete(name)

    def stat(self, name: str) -> ObjectInfo:
        self._maybe_fail("stat", name)
        return self.inner.stat(name)

    def close(self) -> None:
        self.inner.close()


def can_mount() -> bool:
    return os.geteuid() == 0 and os.path.exists("/bin/mount") or os.path.exists("/usr/bin/mount")


@contextlib.contextmanager
def tmpfs(mountpoint: Path, size: str) -> Iterator[Path]:
    """A small tmpfs (root only): a real drive that really fills up."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise OSError(errno.EPERM, f"cannot mount tmpfs: {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, check=False)


def remount(mountpoint: Path, options: str) -> None:
    subprocess.run(
        ["mount", "-o", f"remount,{options}", str(mountpoint)], check=True, capture_output=True
    )
