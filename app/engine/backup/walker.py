"""The depth-first pass of a backup over the file system.

The calling thread lists a folder, hands the files that changed to a pool of readers
(chunk, hash, compress, encrypt), descends into the subfolders, then collects its
files' results and writes the folder's tree. Memory therefore follows the depth of
the tree and a bounded number of in-flight reads, not the number of files. Unchanged
files (same size, mtime, ctime and inode as the cache remembers for that folder, with
all chunks still indexed) are never opened.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from app.core.cancel import CancelToken
from app.core.events import Warning_
from app.engine.backup.blobs import BlobSink
from app.engine.backup.reader import FileOutcome, FileReader
from app.engine.backup.scan import DIR_FLAGS, DIR_FOLLOW_FLAGS, Wanted, list_folder, wanted_tree
from app.engine.backup.trees import K_DIR, K_FILE, K_LINK, Row, TreeWriter
from app.engine.cache import FileState
from app.engine.crypto import ID_LEN
from app.engine.oslimits import raise_open_files_limit
from app.engine.progress import ProgressMeter
from app.engine.repository import Repository

READERS = 2
MAX_INFLIGHT_READS = 16  # batches
BATCH_BYTES = 8 * 1024 * 1024
SMALL_BATCH = 128  # files of one chunk read in a row on the walk's thread

Pending = tuple[Row, bytes, os.stat_result]  # a file's row, name and scanned stat
# One folder's backup as a generator: yields (path, fd, only) per subfolder, is sent
# the subfolder's tree id, and returns the folder's own tree id.
DirSteps = Generator[tuple[bytes, int, "Wanted | None"], bytes, bytes]


class Walker:
    """One backup's walk: counters for the result, warnings, and the reader pool."""

    def __init__(
        self,
        repo: Repository,
        roots: list[bytes],
        excludes: Sequence[str],
        meter: ProgressMeter,
        cancel: CancelToken,
    ) -> None:
        self.cache = repo.cache
        self.roots = roots
        self.excludes = list(excludes)
        self.meter = meter
        self.cancel = cancel
        self.warnings: list[Warning_] = []
        self.notes: list[Warning_] = []
        self.abort = threading.Event()  # our own stop flag: never cancel the caller's token
        self.sink = BlobSink(repo)
        self.reader = FileReader(
            self.sink, repo.cipher, repo.chunker_params, meter, cancel, self.abort
        )
        self.trees = TreeWriter(repo.cache, self.sink, repo.cipher)
        self.pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="backup-reader")
        self.read_slots = threading.BoundedSemaphore(MAX_INFLIGHT_READS)
        self.has_states = self.cache.has_file_states()
        self.small_limit = repo.chunker_params.min_size  # one chunk: read inline
        # Set by the job when only the file count is known up front (a first backup).
        self.estimate_bytes = False
        self.files_new = self.files_changed = self.files_unchanged = 0
        self.dirs = 0
        self.bytes_read = 0
        self.bytes_added = 0
        self.total_files = 0
        self.total_bytes = 0

    def run(self) -> bytes:
        """Walk from ``/`` through the roots' ancestors into each root; the root tree id."""
        wanted = wanted_tree(self.roots)
        raise_open_files_limit()
        root_fd = os.open("/", DIR_FLAGS)
        try:
            # Backing up "/" itself means the whole walk is inside a root.
            tree = self._walk(b"/", root_fd, None if b"/" in self.roots else wanted)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            os.close(root_fd)
        return tree

    def _walk(self, path: bytes, fd: int, only: Wanted | None) -> bytes:
        """Run ``_process_dir`` without recursion: each folder is a generator that
        yields the subfolders it wants backed up and is sent back their tree ids, and
        this loop keeps the stack of open folders. Python's recursion limit (about
        1000 levels) therefore never stops a deep tree. An error in a subfolder is
        thrown into its parent, exactly where a recursive call would have raised."""
        stack: list[DirSteps] = [self._process_dir(path, fd, only)]
        result: bytes | None = None
        error: BaseException | None = None
        while stack:
            top = stack[-1]
            try:
                if error is not None:
                    thrown, error = error, None
                    request = top.throw(thrown)
                else:
                    request = top.send(result)  # type: ignore[arg-type]
            except StopIteration as done:
                stack.pop()
                result = done.value
                continue
            except BaseException as exc:
                stack.pop()
                if not stack:
                    raise
                error = exc
                continue
            result = None
            stack.append(self._process_dir(*request))
        assert result is not None
        return result

    def warn(self, path: bytes, message: str) -> None:
        self.warnings.append(Warning_(os.fsdecode(path), message))

    def _process_dir(self, path: bytes, fd: int, only: Wanted | None) -> DirSteps:
        """Back up one folder and return its tree id; each subfolder is yielded as
        ``(path, fd, only)`` to ``_walk``, which sends back its tree id. ``fd`` is the
        folder's open descriptor: everything below is reached relative to it, so
        paths longer than PATH_MAX work and a folder swapped for a symlink mid-run
        is not followed."""
        self.cancel.check()
        self.dirs += 1
        prefix = path if path.endswith(b"/") else path + b"/"
        entries = list_folder(path, fd, only, self.excludes, self.warn)
        states = self.cache.dir_file_states(path)
        # One row per entry, in name order.
        rows: list[Row] = []
        subdirs: list[tuple[Row, bytes, Wanted | None]] = []
        to_read: list[Pending] = []
        # The folder's file states after this backup; rewritten (one cache row) only
        # when a file is new, changed or gone.
        kept: list[tuple[bytes, FileState]] = []
        changed = False
        moved_from: list[dict[int, FileState]] = []  # by inode, looked up once
        known = self.sink.known
        meter = self.meter
        for name, est in entries:
            mode = est.st_mode
            row: Row
            if stat.S_ISDIR(mode):
                sub = only.get(name) if only is not None else None
                # A folder on the way to a chosen one is not backed up itself: its
                # mtime changes with every file created beside ours, and keeping it
                # would make every backup write new folder listings for nothing.
                mtime = 0 if isinstance(sub, dict) else est.st_mtime_ns
                row = Row(name, K_DIR, mode, mtime, 0, b"")
                subdirs.append((row, prefix + name, None if sub is True or sub is None else sub))
            elif only is not None and only.get(name) is not True:
                continue  # an ancestor we expected to be a folder is not one
            elif stat.S_ISREG(mode):
                size = est.st_size
                self.total_files += 1
                self.total_bytes += size
                row = Row(name, K_FILE, mode, est.st_mtime_ns, size, b"")
                state = states.get(name)
                if (
                    state is not None
                    and state[0] == size
                    and state[1] == est.st_mtime_ns
                    and state[2] == est.st_ctime_ns
                    and state[3] == est.st_ino
                    and (
                        state[4] in known
                        if len(state[4]) == ID_LEN
                        else self.sink.all_known(state[4])
                    )
                ):
                    self.files_unchanged += 1
                    row.payload = state[4]
                    meter.files_done += 1
                    meter.bytes_done += size
                    kept.append((name, state))
                elif (
                    state is None
                    and self.has_states
                    and est.st_ino
                    and (moved := self._moved_here(path, fd, states, est, moved_from)) is not None
                ):
                    # Same inode, size and times under another name: a renamed file or
                    # folder. New to this path, but its chunks are known: no read.
                    self.files_new += 1
                    row.payload = moved
                    meter.files_done += 1
                    meter.bytes_done += size
                    kept.append((name, (size, est.st_mtime_ns, est.st_ctime_ns, est.st_ino, moved)))
                    changed = True
                else:
                    if state is None:
                        self.files_new += 1
                    else:
                        self.files_changed += 1
                    to_read.append((row, name, est))
            elif stat.S_ISLNK(mode):
                try:
                    target = os.readlink(name, dir_fd=fd)
                except OSError as exc:
                    self.warn(prefix + name, f"cannot read link: {exc.strerror}")
                    continue
                row = Row(name, K_LINK, mode, est.st_mtime_ns, 0, target)
            else:
                # FIFOs, sockets and devices hold no data: noted, not backed up, never opened.
                self.notes.append(
                    Warning_(os.fsdecode(prefix + name), "special file, not backed up")
                )
                continue
            rows.append(row)
        self._progress(prefix)
        batches = self._submit_reads(prefix, fd, to_read)
        for dir_row, subpath, sub_only in subdirs:
            try:
                flags = DIR_FLAGS if only is None else DIR_FOLLOW_FLAGS
                sub_fd = os.open(dir_row.name, flags, dir_fd=fd)
            except OSError as exc:
                self.warn(subpath, f"cannot open folder: {exc.strerror}")
                dir_row.kind = None
                continue
            try:
                dir_row.payload = yield (subpath, sub_fd, sub_only)
            finally:
                os.close(sub_fd)
        for items, future in batches:
            for (file_row, name, est), outcome in zip(
                items, self._wait(future, prefix), strict=True
            ):
                if outcome.warning is not None:
                    self.warn(prefix + name, outcome.warning)
                if outcome.skipped:
                    self.total_files -= 1
                    self.total_bytes -= est.st_size
                    file_row.kind = None
                    continue
                file_row.mode = outcome.mode
                file_row.mtime_ns = outcome.mtime_ns
                file_row.size = outcome.size
                file_row.payload = outcome.content
                self.bytes_read += outcome.size
                self.bytes_added += outcome.bytes_added
                meter.files_done += 1
                meter.bytes_done += outcome.size
                if outcome.warning is None:
                    kept.append(
                        (
                            name,
                            (
                                outcome.size,
                                outcome.mtime_ns,
                                outcome.ctime_ns,
                                outcome.inode,
                                outcome.content,
                            ),
                        )
                    )
            self._progress(prefix)
        rows = [row for row in rows if row.kind is not None]
        if to_read or changed or len(kept) != len(states):
            self.cache.put_dir_states([(path, os.fstat(fd).st_ino, kept)])
        return self.trees.tree_for(path, rows)

    def _wait(self, future: Future[list[FileOutcome]], prefix: bytes) -> list[FileOutcome]:
        """A batch's outcomes; while a big file is still being read, progress keeps
        going out (the readers count its bytes as they go)."""
        while True:
            try:
                return future.result(timeout=self.meter.interval)
            except FutureTimeout:
                self._progress(prefix)

    def _progress(self, prefix: bytes) -> None:
        meter = self.meter
        if self.estimate_bytes and self.total_files:
            # A first backup counted files but not their size: the bytes of the files
            # listed so far, plus the files not listed yet at their average size.
            meter.files_total = max(meter.files_total, self.total_files)
            unseen = meter.files_total - self.total_files
            meter.bytes_total = self.total_bytes + unseen * self.total_bytes // self.total_files
        meter.files_total = max(meter.files_total, meter.files_done)
        meter.bytes_total = max(meter.bytes_total, meter.bytes_done)
        meter.current_raw = prefix
        meter.emit()

    def _submit_reads(
        self, prefix: bytes, fd: int, items: list[Pending]
    ) -> list[tuple[list[Pending], Future[list[FileOutcome]]]]:
        """Queue reads in batches (up to 32 files or 8 MiB): one hand-off per batch
        keeps thread overhead low for folders of many small files."""
        batches: list[tuple[list[Pending], Future[list[FileOutcome]]]] = []
        limit = self.small_limit
        small = [item for item in items if item[2].st_size <= limit]
        # Files of one chunk are read right here, on the walk's thread: for them the
        # system calls and the hashing are cheaper than handing each batch to a
        # reader thread and back (each hand-off of the GIL costs a context switch on
        # both sides, and a reader waits up to the switch interval to get it back).
        # Their compression and sealing still leave this thread (BlobSink.add_small).
        for start in range(0, len(small), SMALL_BATCH):
            batch = small[start : start + SMALL_BATCH]
            done: Future[list[FileOutcome]] = Future()
            done.set_result(self.reader.read_batch(fd, [(name, est) for _row, name, est in batch]))
            batches.append((batch, done))
        items = [item for item in items if item[2].st_size > limit] if small else items
        start = 0
        while start < len(items):
            end, size = start, 0
            while end < len(items) and end - start < 32 and (size < BATCH_BYTES or end == start):
                size += items[end][2].st_size
                end += 1
            batch = items[start:end]
            self.read_slots.acquire()  # bounds in-flight reads across the whole walk
            try:
                future = self.pool.submit(
                    self.reader.read_batch, fd, [(name, est) for _row, name, est in batch]
                )
            except BaseException:
                self.read_slots.release()
                raise
            future.add_done_callback(lambda _f: self.read_slots.release())
            batches.append((batch, future))
            start = end
        return batches

    def _moved_candidates(
        self, path: bytes, fd: int, states: dict[bytes, FileState]
    ) -> dict[int, FileState]:
        """States a file new to this folder may have come from, by inode: the
        folder's own (a file renamed in place) or, for a folder new at this path,
        those last stored for the same folder (same inode) under its old path."""
        if not states:
            states = self.cache.moved_dir_states(path, os.fstat(fd).st_ino)
        return {state[3]: state for state in states.values()}

    def _moved_here(
        self,
        path: bytes,
        fd: int,
        states: dict[bytes, FileState],
        est: os.stat_result,
        candidates: list[dict[int, FileState]],
    ) -> bytes | None:
        """The chunk ids of a file that was here under another name (same inode,
        size and times, chunks still indexed). ``candidates`` keeps the folder's
        look-up: filled on its first new file."""
        if not candidates:
            candidates.append(self._moved_candidates(path, fd, states))
        state = candidates[0].get(est.st_ino)
        if (
            state is None
            or (state[0], state[1], state[2]) != (est.st_size, est.st_mtime_ns, est.st_ctime_ns)
            or not self.sink.all_known(state[4])
        ):
            return None
        return state[4]
