"""A full restore of many files split over two processes.

Restoring small files is bound by the interpreter, not by the disk: per ~1 KiB note,
five system calls, AES-GCM, zstd and keyed BLAKE3, and the Python around them, all
on one thread (a second thread in the same process only trades the interpreter lock
back and forth, docs/PERFORMANCE.md). A second *process* has its own interpreter:
the snapshot's folders below the first level that branches (``units``) are shared
out, each process taking the next unclaimed one from a shared counter, so the two
finish together however uneven the folders are. The parent restores everything
above the units (and the units it claims) exactly as a single-process restore does.

The helper process gets what it needs to open the vault without the passphrase
(the unwrapped keys travel through the pipe to the child, never to disk), opens
its own cache connection and a descriptor of the target, and walks only the units
it claims with the same planner and writer: same checks, same temp names and
renames, same verification. It reports progress per task, and its warnings and
counts at the end; it is cancelled (and paused) with the parent's token.

Fallback: anything that keeps the helper from starting leaves the restore to the
parent alone; a helper that dies midway leaves its unfinished units to the parent,
which restores them again (their folders are then not new, so an existing file is
replaced the careful way). Only vaults in a local folder are split: from the cloud,
the network bounds a restore, not the interpreter.

Works in the frozen app: the child is started with ``spawn`` everywhere, and the
entry points call ``multiprocessing.freeze_support()``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import AppError, StorageError, VaultCorruptError
from app.core.events import Warning_
from app.engine import codec
from app.engine.cache import Cache
from app.engine.crypto import MasterKeys
from app.engine.repository import Repository
from app.engine.restore_write import TMP_PREFIX
from app.engine.tree import Node
from app.storage.local import LocalStorage
from app.storage.retry import RetryingStorage

Parts = tuple[bytes, ...]
Unit = tuple[Parts, Node, tuple[bytes, ...]]  # folder below the target, its node, ancestors' trees
ChildRestore = Callable[
    [
        Repository,
        bytes,
        Iterator[tuple[int, Unit]],
        Callable[[int, int, bytes | None], None],
        Callable[[int, int, int, list[Warning_]], None],
        CancelToken,
    ],
    None,
]

#: A whole-snapshot restore of at least this many files uses a second process
#: (spawning one costs ~0.2 s of the other core; below this it does not pay).
SPLIT_MIN_FILES = 20_000
#: Fewer first-level folders than this and there is nothing to share out.
MIN_UNITS = 2
TARGET_UNITS = 16
MAX_UNITS = 4096
SPLIT_LEVELS = 2
_JOIN_S = 10.0
_POLL_S = 0.05  # how often the helper looks for a pause or a cancel


@dataclass(frozen=True)
class _Spec:
    """What the helper needs to restore units of this snapshot (pickled to it)."""

    root: str  # the vault's folder
    keys: MasterKeys
    config: dict[str, Any]
    cache_path: str
    target: bytes
    units: list[Unit]
    #: ``restore.child_restore_units``, passed in (pickled by name: the helper
    #: imports it) so this module does not import ``restore``, which imports it.
    restore_units: ChildRestore


def local_root(repo: Repository) -> str | None:
    """The folder of a vault kept in a local folder, else None."""
    storage = repo.storage
    while isinstance(storage, RetryingStorage):
        storage = storage.inner
    return str(storage.root) if isinstance(storage, LocalStorage) else None


def _subdirs(repo: Repository, node: Node) -> list[Node] | None:
    """A folder's safe subfolders, or None when its listing cannot be read or is
    forged (the planner reports and refuses those the usual way)."""
    try:
        children = repo.load_tree(node.subtree_id())
    except (VaultCorruptError, StorageError):
        return None
    names = [c.name for c in children]
    if len(set(names)) != len(names):
        return None
    return [c for c in children if c.is_dir and codec.safe_name(c.name)]


def find_units(repo: Repository, node: Node) -> list[Unit] | None:
    """Folders to share out: below ``node`` (the snapshot's root), the subfolders of
    the first folder that branches, split further (their own subfolders) while
    there are fewer than ``TARGET_UNITS``, so the last unit is a small part of the
    work and both processes finish together. None when the tree never branches."""
    parts: Parts = ()
    ancestors: tuple[bytes, ...] = ()
    for _depth in range(64):
        subdirs = _subdirs(repo, node)
        if subdirs is None:
            return None
        ancestors = (*ancestors, node.subtree_id())
        if len(subdirs) >= MIN_UNITS:
            break
        if len(subdirs) != 1:
            return None
        node = subdirs[0]
        parts = (*parts, node.name)
    else:
        return None
    if len(subdirs) > MAX_UNITS:
        return None  # a folder of that many folders: not worth handing out one by one
    units: list[Unit] = [((*parts, c.name), c, ancestors) for c in subdirs]
    for _level in range(SPLIT_LEVELS):
        if len(units) >= TARGET_UNITS:
            break
        deeper: list[Unit] = []
        for unit_parts, unit, above in units:
            below = _subdirs(repo, unit)
            if below is None:
                return None
            if not below:
                deeper.append((unit_parts, unit, above))  # a leaf stays one unit
                continue
            trees = (*above, unit.subtree_id())
            deeper.extend(((*unit_parts, c.name), c, trees) for c in below)
        if len(deeper) == len(units) or len(deeper) > MAX_UNITS:
            break  # nothing to split further, or too many to hand out (memory, pickling)
        units = deeper
    return units


class Split:
    """The parent's side: the helper process, the shared counter, the messages."""

    def __init__(
        self,
        repo: Repository,
        root: str,
        target: bytes,
        units: list[Unit],
        restore_units: ChildRestore,
    ) -> None:
        self.units = units
        self.unit_parts = {unit[0] for unit in units}
        ctx = multiprocessing.get_context("spawn")
        self._next = ctx.Value("i", 0)
        self._cancelled = ctx.Event()
        self._running = ctx.Event()
        self._running.set()
        self._conn, child_conn = ctx.Pipe(duplex=False)
        spec = _Spec(
            root, repo.keys, repo.config, str(repo.cache.path), target, units, restore_units
        )
        self._process = ctx.Process(
            target=_child_main,
            args=(spec, self._next, self._cancelled, self._running, child_conn),
            name="keepsake-restore",
            daemon=True,
        )
        self._target = target
        self._process.start()
        child_conn.close()
        self._claimed: set[int] = set()  # by the helper, not finished yet
        self._taken: set[int] = set()  # by this process
        self._finished_units: set[int] = set()  # by the helper, whole
        self._finished = False
        self.error: str | None = None
        self.files_done = 0  # progress the helper reported (units not finished included)
        self.bytes_done = 0
        self.restored = 0  # files and bytes of the units the helper finished
        self.restored_bytes = 0
        self.warnings: list[Warning_] = []
        self.current: bytes | None = None

    def claims(self) -> Iterator[Unit]:
        """Units for this process, one at a time, until none is left."""
        while True:
            with self._next.get_lock():
                index = self._next.value
                self._next.value = index + 1
            if index >= len(self.units):
                return
            self._taken.add(index)
            yield self.units[index]

    def mirror(self, cancel: CancelToken) -> None:
        """Pass the parent's pause and cancel on to the helper."""
        if cancel.cancelled:
            self._cancelled.set()
        if cancel.paused:
            self._running.clear()
        else:
            self._running.set()

    def poll(self) -> None:
        """Take in what the helper reported so far (never blocks)."""
        while not self._finished and self._conn.poll():
            self._receive()

    def _receive(self) -> None:
        try:
            message = self._conn.recv()
        except (EOFError, OSError):
            self._finished = True
            return
        kind = message[0]
        if kind == "progress":
            _kind, files, size, current = message
            self.files_done += files
            self.bytes_done += size
            self.current = current
        elif kind == "claim":
            self._claimed.add(message[1])
        elif kind == "unit":  # a unit finished: its outcome counts
            _kind, index, restored, restored_bytes, warnings = message
            self._claimed.discard(index)
            self._finished_units.add(index)
            self.restored += restored
            self.restored_bytes += restored_bytes
            self.warnings.extend(Warning_(path, text) for path, text in warnings)
        elif kind == "error":
            self.error = message[1]
            self._finished = True
        elif kind == "done":
            self._finished = True

    def finish(self, cancel: CancelToken, on_wait: Callable[[], None]) -> list[Unit]:
        """Wait for the helper; the units it claimed and did not finish (it failed),
        for this process to restore again."""
        while not self._finished:
            self.mirror(cancel)
            cancel.check()
            if self._conn.poll(0.1):
                self._receive()
            elif not self._process.is_alive():
                self.poll()
                self._finished = True
            on_wait()
        self._process.join(_JOIN_S)
        self._conn.close()
        # Every unit was handed out (this process's claims ran dry first); the ones
        # neither taken here nor finished by the helper are redone here, including
        # one the helper claimed and died before saying so.
        done = self._taken | self._finished_units
        redo = [unit for i, unit in enumerate(self.units) if i not in done]
        if redo and self._process.pid is not None:
            _remove_temp_files(self._target, [unit[0] for unit in redo], self._process.pid)
        return redo

    def alive(self) -> bool:
        return self._process.is_alive()

    def wait_started(self, timeout: float) -> bool:
        """Wait until the helper has claimed a unit (tests: a small tree is otherwise
        all restored by the parent before the helper has started)."""
        while not self._claimed and not self._finished and self._conn.poll(timeout):
            self._receive()
        return bool(self._claimed) or self.restored > 0

    def kill_for_test(self) -> None:
        """Kill the helper now, as a crash would (tests of the fallback)."""
        self._process.kill()
        self._process.join(_JOIN_S)

    def abort(self) -> None:
        """Stop the helper (the restore failed or was cancelled here)."""
        self._cancelled.set()
        self._running.set()
        self._process.join(_JOIN_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(_JOIN_S)
        self._conn.close()


def _remove_temp_files(target: bytes, folders: list[Parts], pid: int) -> None:
    """A helper killed mid-file leaves its temp file (named with its process id) in
    a unit it had not finished; this process redoes those units, so it removes them
    first (a restore leaves no temp file behind)."""
    mark = b"-%d-" % pid
    for parts in folders:
        top = os.path.join(target, *parts)
        for folder, _dirs, names in os.walk(top):
            for name in names:
                if name.startswith(TMP_PREFIX) and mark in name[len(TMP_PREFIX) :]:
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(folder, name))


def start_split(
    repo: Repository,
    roots: list[tuple[Parts, Node]],
    target: bytes,
    files: int,
    restore_units: ChildRestore,
) -> Split | None:
    """A helper process for a whole-snapshot restore of many files from a local
    vault, or None (the restore then runs in this process alone)."""
    if files < SPLIT_MIN_FILES or (os.cpu_count() or 1) < 2 or len(roots) != 1:
        return None
    if roots[0][0] != () or os.environ.get("KEEPSAKE_RESTORE_PROCESSES") == "1":
        return None
    root = local_root(repo)
    if root is None:
        return None
    units = find_units(repo, roots[0][1])
    if units is None:
        return None
    try:
        return Split(repo, root, target, units, restore_units)
    except (OSError, ValueError, RuntimeError, AppError):
        return None  # no helper: this process restores everything


# --- the helper process ------------------------------------------------------------


class _ProcessCancel(CancelToken):
    """The parent's token, seen through two shared events. Looking at them costs
    locks shared between processes, and the writer asks once per blob: they are
    looked at every ``_POLL_S`` at most."""

    def __init__(self, cancelled: Any, running: Any) -> None:
        super().__init__()
        self._shared_cancelled = cancelled
        self._shared_running = running
        self._next_poll = 0.0

    def check(self) -> None:
        now = time.monotonic()
        if now >= self._next_poll:
            self._next_poll = now + _POLL_S
            if not self._shared_running.is_set():
                self._shared_running.wait()
            if self._shared_cancelled.is_set():
                self.cancel()
        super().check()


def _child_main(spec: _Spec, counter: Any, cancelled: Any, running: Any, conn: Connection) -> None:
    from app.core.process import disable_core_dumps

    # No core file can hold the keys (the parent's RLIMIT_CORE of 0 is inherited);
    # this also makes the helper undumpable and unattachable, as the parent is.
    disable_core_dumps()
    try:
        _child_restore(spec, counter, _ProcessCancel(cancelled, running), conn)
    except BaseException as exc:  # reported to the parent, which redoes the units
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _child_restore(spec: _Spec, counter: Any, cancel: CancelToken, conn: Connection) -> None:
    repo = Repository(
        LocalStorage(spec.root), spec.keys, spec.config, None, cache=Cache(Path(spec.cache_path))
    )
    try:

        def claims() -> Iterator[tuple[int, Unit]]:
            while True:
                with counter.get_lock():
                    index = counter.value
                    counter.value = index + 1
                if index >= len(spec.units):
                    return
                conn.send(("claim", index))
                yield index, spec.units[index]

        def progress(files: int, size: int, current: bytes | None) -> None:
            conn.send(("progress", files, size, current))

        def unit_done(index: int, restored: int, size: int, warnings: list[Warning_]) -> None:
            conn.send(("unit", index, restored, size, [(w.path, w.message) for w in warnings]))

        spec.restore_units(repo, spec.target, claims(), progress, unit_done, cancel)
        conn.send(("done",))
    finally:
        repo.cache.close()
