"""Restore: recreate files from a snapshot, verified, never over a good file with a bad one.

Every blob is decrypted (AEAD) and its keyed hash recomputed before a byte reaches the
disk; a file is written under a temp name in its destination folder and renamed into
place only when all of it verified. Names from the vault are untrusted: anything that
could escape the target (``..``, ``/``, NUL, duplicate names, symlinked parents,
tree cycles, absurd depth) is refused and reported.

Durability: when a file replaces an existing one, its data is flushed to disk
(fdatasync) before the rename and its folder is flushed after, so a power loss
leaves the old copy or the whole new one, never an empty file in place of a good
one. New names are not flushed one by one (about 6 ms per file on an ext4 disk, 17x
the cost of writing a small file); like ``cp``, the restore leaves them to the
system's write-back.

Permissions: owners are not stored, so the restored files belong to whoever runs
the restore; the setuid and setgid bits are therefore never restored (restoring as
root would otherwise create setuid-root programs out of a user's files).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.errors import (
    AppError,
    ErrorCode,
    UnsafePathError,
    VaultCorruptError,
)
from app.core.events import Phase, ProgressCallback, RestoreResult, Warning_, ignore_progress
from app.core.models import SnapshotInfo
from app.engine import codec
from app.engine.locmap import LocationMap
from app.engine.progress import ProgressMeter
from app.engine.repository import Repository
from app.engine.restore_large import Outcome, Writers
from app.engine.restore_plan import FileItem, Parts, Planner, Task, locate_one
from app.engine.restore_read import PackMissing, PackReader
from app.engine.restore_split import Unit, start_split
from app.engine.restore_write import WRITERS, Writer, _Dirs, _set_dir_metadata
from app.engine.tree import Node, resolve, split_path

# Tasks planned ahead of the writers: enough to keep both busy, few enough that
# memory does not follow the size of the snapshot.
IN_FLIGHT = 8
# A full restore of at least this many files reads the whole index into memory
# (``LocationMap``) when it has at most so many locations per file to restore, and
# at most so many in all (49 bytes each: ~120 MiB at the cap).
MAP_MIN_FILES = 5_000
MAP_ROWS_PER_FILE = 4
MAP_MAX_ROWS = 2_500_000


def _reader(repo: Repository) -> PackReader:
    return PackReader(repo.storage, pack_size=repo.pack_size, spill_dir=str(repo.cache.path.parent))


def run_restore(
    repo: Repository,
    snapshot: SnapshotInfo,
    target: str,
    paths: Sequence[str],
    *,
    on_progress: ProgressCallback,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RestoreResult:
    started = time.monotonic()
    target_b = os.path.normpath(os.fsencode(os.path.abspath(os.path.expanduser(target))))
    warnings: list[Warning_] = []
    meter = ProgressMeter(on_progress, Phase.RESTORING)
    selections = list(paths) or ["/"]
    roots: list[tuple[Parts, Node]] = []
    for selection in selections:
        parts = split_path(selection)
        node = resolve(repo, bytes.fromhex(snapshot.tree), selection)
        if node is None:
            raise AppError(
                f"{selection} is not in snapshot {snapshot.short_id}.",
                code=ErrorCode.PATH_NOT_FOUND,
            )
        if not all(codec.safe_name(p) for p in parts):
            raise UnsafePathError(f"{selection} is not a safe path.")
        roots.append((tuple(parts), node))
    if selections == ["/"]:  # the whole snapshot: its totals are known up front
        meter.files_total = snapshot.files
        meter.bytes_total = snapshot.bytes
    dirs = _Dirs(target_b)
    try:
        return _restore(repo, roots, dirs, meter, warnings, cancel, started)
    finally:
        dirs.close()


def restore_node_as(
    repo: Repository,
    node: Node,
    dest: bytes,
    *,
    on_progress: ProgressCallback,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RestoreResult:
    """Restore ``node`` (a file or a whole folder) to exactly ``dest``, under that
    name: the version browser's "restore as" and its drag-out staging. Verified and
    written under temp names like every restore."""
    parent, name = os.path.split(dest)
    if not codec.safe_name(name):
        raise UnsafePathError(f"{os.fsdecode(dest)} is not a safe place to restore to.")
    warnings: list[Warning_] = []
    dirs = _Dirs(parent)
    meter = ProgressMeter(on_progress, Phase.RESTORING)
    try:
        return _restore(repo, [((name,), node)], dirs, meter, warnings, cancel, time.monotonic())
    finally:
        dirs.close()


def _retry_elsewhere(repo: Repository, writer: Writers, task: Task) -> list[Outcome]:
    """Files that hit a pack missing from storage, written again from the other
    locations the index names for their blobs (the missing packs are forgotten
    first). An index object put back after prune names such packs."""
    out: list[int | Exception] = []
    for item in task.files:
        outcome: int | Exception = VaultCorruptError("part of its data is missing from the vault")
        for _attempt in range(8):
            item.blobs = locate_one(repo, item.content)
            (outcome,) = writer.write_task(Task(task.parts, [item], task.fresh))
            if isinstance(outcome, PackMissing):
                repo.forget_packs({outcome.pack})
                continue
            break
        out.append(outcome)
    return out


class _Run:
    """One restore's bookkeeping on the calling thread: outcomes into counts,
    warnings and progress."""

    def __init__(self, meter: ProgressMeter, warnings: list[Warning_]) -> None:
        self.meter = meter
        self.warnings = warnings
        self.restored = 0
        self.restored_bytes = 0
        self.retry: list[Task] = []
        self.gone_packs: set[bytes] = set()  # missing from storage: forget, then retry

    def outcomes(self, task: Task, outcomes: list[int | Exception], *, final: bool) -> None:
        meter = self.meter
        missing = []
        done = 0
        for item, outcome in zip(task.files, outcomes, strict=True):
            if type(outcome) is int:  # the common case first: a file restored
                done += 1
                self.restored_bytes += outcome
                meter.bytes_done += outcome
                continue
            assert isinstance(outcome, Exception)
            if isinstance(outcome, PackMissing) and not final:
                self.gone_packs.add(outcome.pack)
                missing.append(item)
                continue
            if isinstance(outcome, VaultCorruptError):
                how = "damaged in the vault" if final else "damaged in the repo"
                message = f"{how}, not restored: {outcome}"
            else:
                message = f"could not be restored: {outcome}"
            self.warnings.append(Warning_(task.original(item.name), message))
        self.restored += done
        meter.files_done += done
        if task.files:
            meter.current_raw = b"/" + b"/".join((*task.parts, task.files[-1].name))
        if missing:
            self.retry.append(Task(task.parts, missing, task.fresh))

    def links(self, task: Task, failed: list[tuple[Node, Exception]]) -> None:
        for node, exc in failed:
            self.warnings.append(
                Warning_(task.original(node.name), f"could not create link: {exc}")
            )


_Begun = Future[Future[list[Outcome]]]  # a task handed to the writer thread
_T = TypeVar("_T")


def _write_in_parallel(
    tasks: Iterator[Task],
    writers: Writers,
    run: _Run,
    account: Callable[[Task, list[Outcome]], None],
    cancel: CancelToken,
) -> None:
    """The writer thread takes tasks of large files while this thread plans the next
    ones, at most ``IN_FLIGHT`` ahead, and writes tasks of small files itself (see
    ``_restore``); outcomes are accounted in order. A task's large files are finished
    by the writer and the large-file helper (``restore_large``), so a task is done
    when the future its ``begin`` returned is. No thread starts until a task needs one."""

    def ready(begun: _Begun) -> bool:
        return begun.done() and (begun.exception() is not None or begun.result().done())

    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="restore") as pool:
        pending: deque[tuple[Task, _Begun]] = deque()
        try:
            for task in tasks:
                cancel.check()
                if task.files:
                    if task.small_files:  # written here: see _restore
                        pending.append((task, _done(_done(writers.writer.write_task(task)))))
                    else:
                        pending.append((task, pool.submit(writers.begin, task)))
                if task.links:
                    run.links(task, writers.write_links(task))
                while len(pending) > IN_FLIGHT or (pending and ready(pending[0][1])):
                    done, begun = pending.popleft()
                    account(done, begun.result().result())
            while pending:
                done, begun = pending.popleft()
                account(done, begun.result().result())
        except BaseException:
            for _task, future in pending:
                future.cancel()  # queued tasks never start; running ones finish
            raise


def _done(value: _T) -> Future[_T]:
    done: Future[_T] = Future()
    done.set_result(value)
    return done


def _locations(repo: Repository, files: int) -> LocationMap | None:
    """The whole index in memory, when a restore will look up most of it: one scan
    (~2 µs per location) instead of a B-tree search per blob (~4-5 µs, on the
    planning thread), at 49 bytes per location (``app.engine.locmap``)."""
    if files < MAP_MIN_FILES:
        return None
    rows = repo.cache.index_rows()
    if rows > MAP_MAX_ROWS or rows > MAP_ROWS_PER_FILE * files:
        return None  # a vault of many other files: querying what is needed costs less
    return LocationMap(repo.cache.blob_rows_in_id_order())


def _restore(
    repo: Repository,
    roots: list[tuple[Parts, Node]],
    dirs: _Dirs,
    meter: ProgressMeter,
    warnings: list[Warning_],
    cancel: CancelToken,
    started: float,
) -> RestoreResult:
    """Plan and write folder by folder: the planner (this thread) stays a few tasks
    ahead of the writer threads, so both cores work and memory stays flat.

    Tasks of small files are written on this thread: for a ~1 KiB note the work is
    Python and five system calls, each of which hands the interpreter lock to the
    other thread and waits to get it back; done here, a 20,000-note restore took
    less CPU and less wall time than with a writer thread beside the planning
    (docs/PERFORMANCE.md, round 3). Large files still go to the writer, whose
    AES-GCM, zstd and BLAKE3 run without the lock, beside the planning."""
    meter.emit(force=True)
    split = start_split(repo, roots, dirs.target, meter.files_total, child_restore_units)
    # Split, each process looks up about half the blobs: scanning the whole index in
    # each would cost more than the queries it saves (and its memory twice).
    locations = _locations(repo, meter.files_total) if split is None else None
    planner = Planner(repo, dirs, warnings, locations)
    reader = _reader(repo)
    writer = Writers(Writer(repo, dirs, reader, cancel))
    run = _Run(meter, warnings)
    known_totals = meter.files_total > 0
    absorbed = [0, 0]  # the helper's progress already in the meter

    def absorb() -> None:
        """The helper process's progress into the meter (``restore_split``)."""
        if split is None:
            return
        split.mirror(cancel)
        split.poll()
        meter.files_done += split.files_done - absorbed[0]
        meter.bytes_done += split.bytes_done - absorbed[1]
        absorbed[:] = [split.files_done, split.bytes_done]
        if split.current is not None:
            meter.current_raw = split.current

    def tasks() -> Iterator[Task]:
        if split is None:
            for parts, node in roots:
                yield from planner.tasks(parts, node)
            return
        planner.skip = split.unit_parts  # everything above the units, then units
        for parts, node in roots:
            yield from planner.tasks(parts, node)
        planner.skip = set()
        for parts, node, ancestors in split.claims():
            yield from planner.tasks(parts, node, ancestors)

        def waiting() -> None:
            absorb()
            meter.emit()

        for parts, node, ancestors in split.finish(cancel, waiting):  # the helper failed
            yield from planner.tasks(parts, node, ancestors)
        absorb()

    def account(task: Task, outcomes: list[Outcome]) -> None:
        run.outcomes(task, outcomes, final=False)
        absorb()
        if not known_totals:
            meter.files_total = max(planner.files_planned, meter.files_done)
            meter.bytes_total = max(planner.bytes_planned, meter.bytes_done)
        meter.emit()

    try:
        planned = tasks()
        ahead = list(itertools.islice(planned, 2))
        if len(ahead) < 2:  # one file, or one small folder: no threads to start
            for task in ahead:
                run.links(task, writer.write_links(task))
                account(task, writer.write_task(task))
        else:
            _write_in_parallel(itertools.chain(ahead, planned), writer, run, account, cancel)
        repo.forget_packs(run.gone_packs)
        for task in run.retry:
            run.outcomes(task, _retry_elsewhere(repo, writer, task), final=True)
    except BaseException:
        if split is not None:
            split.abort()
        raise
    finally:
        writer.close()
        reader.close()
    if split is not None:
        run.restored += split.restored
        run.restored_bytes += split.restored_bytes
        warnings.extend(split.warnings)
    dirs.flush_replaced()
    for folder in reversed(planner.folders):  # deepest first, so parents keep their times
        with contextlib.suppress(OSError, UnsafePathError):
            _set_dir_metadata(folder, dirs)
    meter.emit(final=True)
    return RestoreResult(
        run.restored, run.restored_bytes, time.monotonic() - started, tuple(warnings)
    )


def child_restore_units(
    repo: Repository,
    target: bytes,
    claims: Iterator[tuple[int, Unit]],
    progress: Callable[[int, int, bytes | None], None],
    unit_done: Callable[[int, int, int, list[Warning_]], None],
    cancel: CancelToken,
) -> None:
    """The helper process's part of a split restore (``app.engine.restore_split``):
    the units it claims, planned and written here exactly as the parent does its
    own (on this one thread: the helper exists to have an interpreter of its own).
    Each unit's outcome is reported once the unit is whole, folder times included,
    so a helper that dies leaves only unfinished units to redo."""
    dirs = _Dirs(target)
    reader = _reader(repo)
    writer = Writers(Writer(repo, dirs, reader, cancel))
    warnings: list[Warning_] = []
    meter = ProgressMeter(ignore_progress, Phase.RESTORING)
    try:
        planner = Planner(repo, dirs, warnings)  # no location map: see _restore
        for index, (parts, node, ancestors) in claims:
            run = _Run(meter, warnings)
            for task in planner.tasks(parts, node, ancestors):
                cancel.check()
                if task.files:
                    run.outcomes(task, writer.write_task(task), final=False)
                    progress(len(task.files), task.size, task.original_raw(task.files[-1].name))
                if task.links:
                    run.links(task, writer.write_links(task))
            repo.forget_packs(run.gone_packs)
            for task in run.retry:
                run.outcomes(task, _retry_elsewhere(repo, writer, task), final=True)
            dirs.flush_replaced()
            for folder in reversed(planner.folders):
                with contextlib.suppress(OSError, UnsafePathError):
                    _set_dir_metadata(folder, dirs)
            planner.folders.clear()
            unit_done(index, run.restored, run.restored_bytes, warnings)
            warnings.clear()
    finally:
        writer.close()
        reader.close()
        dirs.close()


def restore_one_file(
    repo: Repository, snapshot: SnapshotInfo, path: str, dest: str, *, cancel: CancelToken
) -> None:
    """Restore one file version to an exact path (drag-out, "restore to...")."""
    node = resolve(repo, bytes.fromhex(snapshot.tree), path)
    if node is None or not node.is_file:
        raise AppError(
            f"{path} is not a file in snapshot {snapshot.short_id}.", code=ErrorCode.PATH_NOT_FOUND
        )
    dest_b = os.fsencode(os.path.abspath(dest))
    parent, name = os.path.split(dest_b)
    dirs = _Dirs(parent)
    reader = _reader(repo)
    writer = Writers(Writer(repo, dirs, reader, cancel))
    task = Task((), [], fresh=False)
    task.files.append(FileItem.of(name, node, locate_one(repo, node.content)))
    try:
        (outcome,) = writer.write_task(task)
        if isinstance(outcome, PackMissing):
            repo.forget_packs({outcome.pack})
            (outcome,) = _retry_elsewhere(repo, writer, task)
        if isinstance(outcome, Exception):
            if isinstance(outcome, VaultCorruptError):
                raise VaultCorruptError(
                    f"{path} is damaged in the vault and was not restored: {outcome}"
                ) from outcome
            raise outcome
        dirs.flush_replaced()
    finally:
        writer.close()
        reader.close()
        dirs.close()
