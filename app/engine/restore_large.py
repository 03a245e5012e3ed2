"""Restore's large-file path: a big file's blobs verified and written by two threads.

One thread restoring file after file uses one core. For chunks of about a megabyte,
reading a sealed blob, decrypting it (AES-GCM), inflating it (zstd), checking its id
(keyed BLAKE3) and writing it are each one long call that releases the GIL, so a
second thread doing the same for the next chunk runs on the other core. So a large
file's blobs are jobs on one queue, served by the writer thread (between its tasks)
and one helper thread. A job reads one sealed blob into its thread's reused buffer,
decrypts and inflates it into two more (no fresh pages, no allocation per chunk),
checks it, and writes it where it belongs in the file with one ``pwrite``. The
thread that finishes a file's last blob gives it its mode and times and renames it
into place; the one that finishes a task's last file completes the task's future.
Small files stay on the writer thread's own path (``Writer.write_task``): a hand-off
per file would cost more than the file, and a second thread making small system
calls turns each into a GIL hand-off.

The guarantees are the writer's: every blob is decrypted and its keyed hash checked
before a byte of it is written; the file is written under a temp name, removed if
any blob fails, renamed only when all of it verified, flushed first when it replaces
a file. A per-file problem becomes that file's outcome (the other files go on);
anything else (storage failing, cancellation) stops every queued job, and the files
already begun are removed before the error reaches the caller.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from concurrent.futures import Future

from app.core.errors import CancelledError, NotFoundInStorage, UnsafePathError, VaultCorruptError
from app.engine.restore_plan import FileItem, Task
from app.engine.restore_read import (
    BlobLocation,
    decrypt_buffer,
    read_buffer,
    unpack_buffer,
)
from app.engine.restore_write import Writer
from app.engine.tree import Node

# Files at least this big take the two-thread path (a minimum-size chunk or more:
# their work per blob is far above the cost of handing a job over).
LARGE_FILE = 256 * 1024
# Jobs the writer thread leaves queued for the helper when it goes back to its tasks
# (so the helper never waits while the writer opens the next task's files).
BACKLOG = 2
# Where there is no pwrite (Windows), blobs must be written in order: one thread.
PARALLEL = hasattr(os, "pwrite")

Outcome = int | Exception
_PER_FILE = (VaultCorruptError, OSError, UnsafePathError, NotFoundInStorage)


def is_large(item: FileItem) -> bool:
    return PARALLEL and item.blobs is not None and item.size >= LARGE_FILE


class _TaskRun:
    """A task in progress: outcomes by file position, parts still to finish."""

    __slots__ = ("task", "parent", "outcomes", "left", "future")

    def __init__(self, task: Task, parent: int) -> None:
        self.task = task
        self.parent = parent
        self.outcomes: list[Outcome] = [0] * len(task.files)
        self.left = 1  # the small files' part; one more per large file
        self.future: Future[list[Outcome]] = Future()


class _FileRun:
    """A large file being written: its temp file and the blobs still to write."""

    __slots__ = ("run", "index", "item", "fd", "tmp", "direct", "left", "error")

    def __init__(self, run: _TaskRun, index: int, item: FileItem) -> None:
        self.run = run
        self.index = index
        self.item = item
        self.fd = -1
        self.tmp = b""
        self.direct = False
        self.left = 0
        self.error: BaseException | None = None


_Job = tuple[_FileRun, BlobLocation, int]  # the file, the blob, its offset in the file


class Writers:
    """The restore's writing side: ``Writer`` for small files and links, plus the
    large files' blob queue served by the calling writer thread and a helper.

    ``begin`` runs on the writer thread (one task at a time, in order); ``write_task``
    is the same, waited for, for callers without a writer thread; ``close`` stops
    the helper (and cleans up whatever a failure left queued).
    """

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._cond = threading.Condition()
        self._jobs: deque[_Job] = deque()
        self._helper: threading.Thread | None = None
        self._closing = False
        self._fatal: BaseException | None = None

    def write_links(self, task: Task) -> list[tuple[Node, Exception]]:
        return self.writer.write_links(task)

    def write_task(self, task: Task) -> list[Outcome]:
        """Write a task and return its outcomes (one-task restores, retries)."""
        future = self.begin(task)
        self._help(0)
        return future.result()

    def begin(self, task: Task) -> Future[list[Outcome]]:
        """Start a task: its large files' blobs are queued for both threads, its small
        files written here; then this thread works on the queue until only a few jobs
        are left for the helper. The future completes when the last file is in place.
        Storage failures other than a missing pack are raised (here or by the future)."""
        writer = self.writer
        large = [i for i, item in enumerate(task.files) if is_large(item)]
        if not large:
            done: Future[list[Outcome]] = Future()
            done.set_result(writer.write_task(task))
            return done
        try:
            parent = writer.dirs.acquire(task.parts)
        except (OSError, UnsafePathError) as exc:
            failed: Future[list[Outcome]] = Future()
            failed.set_result([exc] * len(task.files))
            return failed
        run = _TaskRun(task, parent)
        jobs: list[_Job] = []
        try:
            for index in large:
                jobs.extend(self._open(run, index, task.files[index]))
        finally:
            self._queue(jobs)
        try:
            if len(large) < len(task.files):
                chosen = set(large)
                small = [i for i in range(len(task.files)) if i not in chosen]
                part = Task(task.parts, [task.files[i] for i in small], task.fresh)
                for index, outcome in zip(small, writer.write_task(part), strict=True):
                    run.outcomes[index] = outcome
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            self._part_done(run)
        self._help(BACKLOG if self._helper is not None else 0)
        return run.future

    def _open(self, run: _TaskRun, index: int, item: FileItem) -> list[_Job]:
        """The temp file of a large file, and its blobs as jobs."""
        blobs = item.blobs
        assert blobs is not None
        if sum(where[5] for where in blobs) != item.size:
            run.outcomes[index] = VaultCorruptError("its size does not match the snapshot")
            return []
        try:
            fd, tmp, direct = self.writer.create_temp(run.parent, item)
        except (OSError, UnsafePathError) as exc:
            run.outcomes[index] = exc
            return []
        file = _FileRun(run, index, item)
        file.fd, file.tmp, file.direct = fd, tmp, direct
        file.left = len(blobs)
        run.left += 1
        if not blobs:  # cannot be (a large file has data); finish it all the same
            self._finish(file)
            return []
        jobs: list[_Job] = []
        offset = 0
        for where in blobs:
            jobs.append((file, where, offset))
            offset += where[5]
        return jobs

    def _queue(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        with self._cond:
            self._jobs.extend(jobs)
            self._cond.notify()
            start = self._helper is None and len(self._jobs) > 1 and not self._closing
            if start:
                self._helper = threading.Thread(
                    target=self._serve, name="restore-blobs", daemon=True
                )
        if start:
            assert self._helper is not None
            self._helper.start()

    def _serve(self) -> None:
        """The helper thread: jobs until closed."""
        cond = self._cond
        jobs = self._jobs
        while True:
            with cond:
                while not jobs:
                    if self._closing:
                        return
                    cond.wait()
                job = jobs.popleft()
            self._do(job)

    def _help(self, backlog: int) -> None:
        """This thread takes jobs while more than ``backlog`` are queued."""
        cond = self._cond
        jobs = self._jobs
        while True:
            with cond:
                if len(jobs) <= backlog:
                    return
                job = jobs.popleft()
            self._do(job)

    def _do(self, job: _Job) -> None:
        file, where, offset = job
        if file.error is None:
            if self._fatal is not None:
                file.error = self._fatal
            else:
                try:
                    self._write_blob(file.fd, where, offset)
                except _PER_FILE as exc:
                    file.error = exc
                except BaseException as exc:  # storage failing, cancelled: stop all
                    file.error = exc
                    self._fail(exc)
        with self._cond:
            file.left -= 1
            last = not file.left
        if last:
            self._finish(file)

    def _write_blob(self, fd: int, where: BlobLocation, offset: int) -> None:
        """Read, decrypt, inflate and check one blob, then write it at ``offset``."""
        writer = self.writer
        writer.cancel.check()
        blob_id, blob_type, pack, pack_offset, length, raw_length = where
        buf = read_buffer()
        out = buf[:length] if length <= len(buf) else memoryview(bytearray(length))
        sealed = writer.reader.read_into(pack, pack_offset, out)
        data = writer.repo.open_sealed_blob_into(
            blob_type, blob_id, sealed, raw_length, decrypt_buffer(), unpack_buffer()
        )
        view = memoryview(data)
        while view:
            n = os.pwrite(fd, view, offset)
            view = view[n:]
            offset += n

    def _finish(self, file: _FileRun) -> None:
        """Settle and rename a file whose blobs are all written, or remove it."""
        run = file.run
        item = file.item
        error = file.error
        outcome: Outcome = item.size
        if error is None:
            try:
                try:
                    replacing = self.writer.settle(
                        run.task, item.name, item, run.parent, file.fd, direct=file.direct
                    )
                finally:
                    os.close(file.fd)
                os.replace(file.tmp, item.name, src_dir_fd=run.parent, dst_dir_fd=run.parent)
                if replacing:
                    self.writer.dirs.note_replaced(run.task.parts)
            except _PER_FILE as exc:
                error = exc
            except BaseException as exc:
                error = exc
                self._fail(exc)
        else:
            with contextlib.suppress(OSError):
                os.close(file.fd)
        if error is not None:
            with contextlib.suppress(OSError):
                os.unlink(file.tmp, dir_fd=run.parent)
            outcome = error if isinstance(error, Exception) else CancelledError()
        run.outcomes[file.index] = outcome
        self._part_done(run)

    def _part_done(self, run: _TaskRun) -> None:
        with self._cond:
            run.left -= 1
            done = not run.left
        if not done:
            return
        self.writer.dirs.release(run.task.parts)
        fatal = self._fatal
        if fatal is not None:
            run.future.set_exception(fatal)
        else:
            run.future.set_result(run.outcomes)

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc

    def close(self) -> None:
        """Stop the helper. Jobs still queued (only after a failure) are not written:
        their files are removed."""
        with self._cond:
            self._closing = True
            if self._jobs and self._fatal is None:
                self._fatal = CancelledError()
            self._cond.notify_all()
            helper = self._helper
        if helper is not None:
            helper.join()
        self._help(0)
