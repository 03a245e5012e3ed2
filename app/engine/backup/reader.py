"""Reading changed files on worker threads: chunk, hash, and hand chunks to the sink.

A file is read through its folder's descriptor with O_NOFOLLOW (a file swapped for a
link mid-run is not followed), small files into a per-thread buffer (no allocation
per file), and compared with a stat taken after reading, so a file that changed
while it was read is retried once and then reported, never silently stored torn.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from dataclasses import dataclass

from app.core.cancel import CancelToken
from app.core.errors import CancelledError
from app.engine import codec
from app.engine.backup.blobs import BlobSink
from app.engine.chunker import Chunker, ChunkerParams
from app.engine.crypto import B_DATA, Cipher
from app.engine.progress import ProgressMeter

SMALL_FILE = 4 * 1024 * 1024


@dataclass(slots=True)
class FileOutcome:
    content: bytes  # concatenated ids
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    mode: int
    bytes_added: int
    warning: str | None = None
    skipped: bool = False


def _skipped(warning: str) -> FileOutcome:
    return FileOutcome(b"", 0, 0, 0, 0, 0, 0, warning, True)


class FileReader:
    """Chunks files into a ``BlobSink``; one instance is shared by the reader threads."""

    def __init__(
        self,
        sink: BlobSink,
        cipher: Cipher,
        params: ChunkerParams,
        meter: ProgressMeter,
        cancel: CancelToken,
        abort: threading.Event,
    ) -> None:
        self.sink = sink
        self.cipher = cipher
        self.params = params
        self.meter = meter
        self.cancel = cancel
        self.abort = abort  # the job's own stop flag (never cancel the caller's token)
        self.local = threading.local()

    def chunker(self) -> Chunker:
        chunker: Chunker | None = getattr(self.local, "chunker", None)
        if chunker is None:
            chunker = Chunker(self.params)
            self.local.chunker = chunker
        return chunker

    def read_batch(self, fd: int, files: list[tuple[bytes, os.stat_result]]) -> list[FileOutcome]:
        """Read one batch of a folder's files (a reader thread).

        Files no bigger than the chunker's minimum are one chunk each: they take a
        short path that reads, checks and hashes every file of the batch, decides
        under one lock which chunks are new, then compresses those and hands them to
        the packer in one call. Per small file that saves most of the Python
        overhead and two lock hand-offs between the reader threads (the initial
        backup of a home folder is mostly such files). Anything unusual (a read
        error, a file that changed, grew or is bigger) takes the general path.
        """
        self.cancel.check()
        if self.abort.is_set():
            raise CancelledError("The backup stopped.")
        limit = self.params.min_size
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        blob_id_of = self.cipher.blob_id
        outcomes: list[FileOutcome] = []
        staged: list[tuple[FileOutcome, bytes, bytes]] = []  # outcome, blob id, data
        for name, est in files:
            if est.st_size > limit:
                outcomes.append(self.read_file(name, fd, est))
                continue
            try:
                file_fd = os.open(name, flags, dir_fd=fd)
                try:
                    # Exactly the size the scan saw, straight into a new bytes object
                    # (it is kept until sealed): a file that grew, shrank or was
                    # replaced meanwhile is caught by the stat taken after reading.
                    piece = os.read(file_fd, est.st_size)
                    after = os.fstat(file_fd)
                finally:
                    os.close(file_fd)
            except OSError:
                outcomes.append(self.read_file(name, fd, est))  # reports or retries it
                continue
            if (
                not stat.S_ISREG(after.st_mode)
                or len(piece) != after.st_size
                or (est.st_size, est.st_mtime_ns, est.st_ino)
                != (after.st_size, after.st_mtime_ns, after.st_ino)
            ):
                outcomes.append(self.read_file(name, fd, est))  # changed: the general path
                continue
            blob_id = blob_id_of(piece)
            outcome = FileOutcome(
                blob_id, len(piece), after.st_mtime_ns, after.st_ctime_ns, after.st_ino,
                after.st_mode, 0,
            )  # fmt: skip
            outcomes.append(outcome)
            staged.append((outcome, blob_id, piece))
        if staged:
            stored = self.sink.add_small([(blob_id, piece) for _o, blob_id, piece in staged])
            for (outcome, _id, piece), new in zip(staged, stored, strict=True):
                if new:
                    outcome.bytes_added = len(piece)
        return outcomes

    def read_file(self, name: bytes, dir_fd: int, scanned: os.stat_result) -> FileOutcome:
        for attempt in range(2):
            try:
                if attempt:  # it changed since the scan: compare the retry with a fresh stat
                    scanned = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                outcome = self._read_once(name, dir_fd, scanned)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return _skipped("vanished before it could be read")
                return _skipped(f"cannot read: {exc.strerror}")
            if outcome.warning is None or attempt == 1:
                return outcome
        return outcome

    def _read_small(self, fd: int, expected: int) -> memoryview | None:
        """Read a whole small file into this thread's reusable buffer (no allocation,
        no page faults per file). None if it turned out bigger than SMALL_FILE.

        It stops at the size the scan saw rather than reading on to EOF: a file that
        grew meanwhile is caught by the stat taken after reading.
        """
        buf: bytearray | None = getattr(self.local, "buf", None)
        if buf is None:
            buf = bytearray(SMALL_FILE + 1)
            self.local.buf = buf
        view = memoryview(buf)
        filled = 0
        while filled <= SMALL_FILE:
            n = os.readv(fd, [view[filled:]])
            if n == 0:
                return view[:filled]
            filled += n
            if filled == expected:
                return view[:filled]
        return None

    def _read_once(self, name: bytes, dir_fd: int, before: os.stat_result) -> FileOutcome:
        """Chunk and store one file. ``before`` is the scan's stat of it: compared with
        a stat taken after reading, it catches a file changed or replaced meanwhile
        (one syscall fewer per file than a stat of our own before reading)."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(name, flags, dir_fd=dir_fd)
        size = 0
        cell: list[int] | None = None
        try:
            ids: list[bytes] = []
            added = 0
            compress: bool | None = None
            chunker = self.chunker()
            cell = getattr(self.local, "cell", None)
            if cell is None:
                cell = self.local.cell = self.meter.reading_cell()
            data = self._read_small(fd, before.st_size) if before.st_size <= SMALL_FILE else None
            if data is not None:
                pieces = chunker.chunks_of_buffer(data)
            else:
                os.lseek(fd, 0, os.SEEK_SET)
                stream = open(fd, "rb", buffering=0, closefd=False)  # noqa: SIM115
                pieces = chunker.chunks_of_stream(stream)
            for piece in pieces:
                self.cancel.check()
                if self.abort.is_set():
                    raise CancelledError("The backup stopped.")
                if compress is None:
                    compress = not codec.looks_incompressible(piece)
                blob_id = self.cipher.blob_id(piece)
                ids.append(blob_id)
                added += self.sink.add_blob(B_DATA, blob_id, piece, compress)
                size += len(piece)
                cell[0] += len(piece)  # only this thread writes its cell: no lock
            after = os.fstat(fd)
        finally:
            os.close(fd)
            if cell is not None:
                cell[0] -= size  # the finished (or failed) file leaves the in-flight count
        if not stat.S_ISREG(after.st_mode):
            return _skipped("is no longer a regular file")
        warning = None
        seen = (before.st_size, before.st_mtime_ns, before.st_ino)
        if seen != (after.st_size, after.st_mtime_ns, after.st_ino) or size != after.st_size:
            warning = "changed while it was being read; the copy may be inconsistent"
        return FileOutcome(
            b"".join(ids),
            size,
            after.st_mtime_ns,
            after.st_ctime_ns,
            after.st_ino,
            after.st_mode,
            added,
            warning,
        )
