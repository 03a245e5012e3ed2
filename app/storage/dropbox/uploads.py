"""Uploads: one request for most objects, sessions for big ones, batches for many.

* **Every upload is verified.** Dropbox's ``content_hash`` is computed locally, sent
  with each call (the server refuses a body damaged in transit) and compared with
  the metadata Dropbox returns; a mismatch is retried, never accepted.
* **Big objects use upload sessions** (over ``session_threshold``, 150 MiB by
  default, and over ``flaky_chunk_size`` in flaky-link mode so a flaky link resends
  one chunk, not a whole pack). A failed chunk resumes from the offset the server
  reports; a finish whose reply was lost is confirmed by hash.
* **Many small objects share one commit** (``upload_session/finish_batch_v2``):
  Dropbox serialises writes per namespace, and one commit instead of one per
  object avoids ``too_many_write_operations``.
* At most ``max_concurrent_uploads`` uploads run at once, whoever calls.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dropbox import files as dbx_files
from dropbox.exceptions import ApiError

from app.core.errors import NotFoundInStorage, TransientStorageError
from app.storage.base import Data
from app.storage.content_hash import BLOCK_SIZE, block_digests, combine, content_hash
from app.storage.dropbox import config
from app.storage.dropbox.calls import DropboxCalls

log = logging.getLogger(__name__)

T = TypeVar("T")
#: (name, Dropbox path, bytes, content hash) of an object waiting for a batch commit.
_Batch = list[tuple[str, str, memoryview, str]]


class _OffsetMismatch(Exception):
    """The server holds a different number of session bytes than we assumed."""

    def __init__(self, correct_offset: int) -> None:
        super().__init__(correct_offset)
        self.correct_offset = correct_offset


class _SessionGone(Exception):
    """The upload session no longer exists (finished, expired, or closed)."""


def check_sizes(
    *, session_threshold: int, chunk_size: int, flaky_chunk_size: int, max_concurrent_uploads: int
) -> None:
    """Refuse sizes Dropbox would refuse, before anything is built.

    ``chunk_size`` and ``flaky_chunk_size`` must be multiples of 4 MiB (so chunk
    content hashes reuse the block digests) and at most 148 MiB.
    """
    for size in (chunk_size, flaky_chunk_size):
        if size <= 0 or size % BLOCK_SIZE or size > config.MAX_REQUEST_BYTES - BLOCK_SIZE:
            raise ValueError("chunk sizes must be positive multiples of 4 MiB below 148 MiB")
    if session_threshold > config.MAX_REQUEST_BYTES:
        raise ValueError("session_threshold cannot exceed Dropbox's 150 MiB request limit")
    if max_concurrent_uploads < 1:
        raise ValueError("max_concurrent_uploads must be at least 1")


class Uploader:
    """Puts objects for one ``DropboxStorage``; safe to share between threads."""

    def __init__(
        self,
        calls: DropboxCalls,
        path: Callable[[str], str],
        *,
        session_threshold: int,
        chunk_size: int,
        flaky_chunk_size: int,
        max_concurrent_uploads: int,
    ) -> None:
        """Sizes as checked by ``check_sizes`` (the backend checks them first)."""
        self._calls = calls
        self._client = calls.client
        self._link = calls.link
        self._path = path
        self.session_threshold = session_threshold
        self.chunk_size = chunk_size
        self.flaky_chunk_size = flaky_chunk_size
        self._slots = threading.BoundedSemaphore(max_concurrent_uploads)

    def put(self, name: str, data: Data) -> None:
        path = self._path(name)
        view = memoryview(data).cast("B")
        with self._slots:
            if len(view) > self.session_threshold:
                self._session_upload(name, path, view, self.chunk_size)
            elif len(view) > self.flaky_chunk_size and self._link.is_flaky():
                self._session_upload(name, path, view, self.flaky_chunk_size)
            else:
                self._simple_upload(name, path, data, view)

    def put_many(self, items: Sequence[tuple[str, Data]]) -> None:
        """Save many small objects with one commit per ``BATCH_LIMIT``; objects too
        big for one request go through ``put``."""
        small: _Batch = []
        for name, data in items:
            view = memoryview(data).cast("B")
            if len(view) > min(self.session_threshold, self.chunk_size):
                self.put(name, data)
            else:
                small.append((name, self._path(name), view, content_hash(view)))
        for start in range(0, len(small), config.BATCH_LIMIT):
            self._commit_batch(small[start : start + config.BATCH_LIMIT])

    def _verify(self, name: str, md: Any, size: int, local_hash: str) -> None:
        if int(md.size) != size or md.content_hash != local_hash:
            self._link.note_failure()
            raise TransientStorageError(
                f"Dropbox stored {name} differently from what was sent; uploading it again."
            )
        self._link.note_success()

    def _simple_upload(
        self, name: str, path: str, data: bytes | bytearray | memoryview, view: memoryview
    ) -> None:
        body = data if isinstance(data, bytes) else view.tobytes()
        local_hash = content_hash(view)
        try:
            md = self._calls.sdk(
                name,
                lambda: self._client.files_upload(
                    body,
                    path,
                    mode=dbx_files.WriteMode.overwrite,
                    mute=True,
                    content_hash=local_hash,
                ),
            )
        except TransientStorageError:
            self._link.note_failure()
            raise
        self._verify(name, md, len(view), local_hash)

    def _session_upload(self, name: str, path: str, view: memoryview, chunk: int) -> None:
        """Upload through a session, resuming from the server's offset after a failure.

        Chunk-level failures are retried here (a 300 MiB object should not start over
        because one 32 MiB chunk hit a reset); a lost session raises a transient
        error so the caller's retry starts a fresh one.
        """
        total = len(view)
        digests = block_digests(view)
        local_hash = combine(digests)

        def piece_hash(start: int, end: int) -> str:
            if start % BLOCK_SIZE == 0 and (end % BLOCK_SIZE == 0 or end == total):
                return combine(digests[start // BLOCK_SIZE : -(-end // BLOCK_SIZE)])
            return content_hash(view[start:end])

        first_end = min(chunk, total)
        first = view[:first_end].tobytes()
        first_hash = piece_hash(0, first_end)
        started = self._calls.retrying(
            name,
            lambda: self._calls.sdk(
                name,
                lambda: self._client.files_upload_session_start(first, content_hash=first_hash),
            ),
        )
        session_id = started.session_id
        offset = first_end
        commit = dbx_files.CommitInfo(path, mode=dbx_files.WriteMode.overwrite, mute=True)
        failures = 0
        corrections = 0
        finishing = False
        while True:
            try:
                cursor = dbx_files.UploadSessionCursor(session_id, offset)
                if total - offset > chunk:
                    end = offset + chunk
                    append = functools.partial(
                        self._client.files_upload_session_append_v2,
                        view[offset:end].tobytes(),
                        cursor,
                        content_hash=piece_hash(offset, end),
                    )
                    self._session_call(name, append)
                    offset = end
                else:
                    finishing = True
                    finish = functools.partial(
                        self._client.files_upload_session_finish,
                        view[offset:].tobytes(),
                        cursor,
                        commit,
                        content_hash=piece_hash(offset, total),
                    )
                    md = self._session_call(name, finish)
                    self._verify(name, md, total, local_hash)
                    return
                failures = 0
                self._link.note_success()
            except _OffsetMismatch as exc:
                corrections += 1
                if corrections > self._calls.attempts or not 0 <= exc.correct_offset <= total:
                    raise TransientStorageError(
                        f"The Dropbox upload session for {name} lost track of its data."
                    ) from None
                log.info("Resuming upload of %s at byte %d", name, exc.correct_offset)
                offset = exc.correct_offset
            except _SessionGone:
                if finishing and self._already_saved(name, path, total, local_hash):
                    return
                raise TransientStorageError(
                    f"The Dropbox upload session for {name} expired; starting it again."
                ) from None
            except TransientStorageError as exc:
                self._link.note_failure()
                failures += 1
                if failures >= self._calls.attempts:
                    raise
                self._calls.wait(exc, failures, name)

    def _session_call(self, name: str, fn: Callable[[], T]) -> T:
        """An append or finish; offset and session problems become our signals."""
        try:
            return fn()
        except ApiError as exc:
            error = exc.error
            lookup = error
            if getattr(error, "is_lookup_failed", lambda: False)():
                lookup = error.get_lookup_failed()
            if getattr(lookup, "is_incorrect_offset", lambda: False)():
                raise _OffsetMismatch(int(lookup.get_incorrect_offset().correct_offset)) from None
            if (
                getattr(lookup, "is_not_found", lambda: False)()
                or getattr(lookup, "is_closed", lambda: False)()
            ):
                raise _SessionGone() from None
            raise self._calls.translate(exc, name) from exc
        except Exception as exc:
            raise self._calls.translate(exc, name) from exc

    def _already_saved(self, name: str, path: str, size: int, local_hash: str) -> bool:
        """After a finish whose reply was lost: did the file land anyway?"""
        try:
            md = self._calls.retrying(
                name, lambda: self._calls.sdk(name, lambda: self._client.files_get_metadata(path))
            )
        except NotFoundInStorage:
            return False
        return (
            isinstance(md, dbx_files.FileMetadata)
            and int(md.size) == size
            and md.content_hash == local_hash
        )

    def _commit_batch(self, batch: _Batch) -> None:
        entries = []
        for name, path, view, digest in batch:
            body = view.tobytes()
            start = functools.partial(
                self._client.files_upload_session_start, body, close=True, content_hash=digest
            )
            started = self._calls.retrying(name, functools.partial(self._calls.sdk, name, start))
            cursor = dbx_files.UploadSessionCursor(started.session_id, len(view))
            commit = dbx_files.CommitInfo(path, mode=dbx_files.WriteMode.overwrite, mute=True)
            entries.append(dbx_files.UploadSessionFinishArg(cursor, commit))
        result = self._calls.retrying(
            "a batch of objects",
            lambda: self._calls.sdk(
                "a batch of objects",
                lambda: self._client.files_upload_session_finish_batch_v2(entries),
            ),
        )
        for (name, _path, view, digest), outcome in zip(batch, result.entries, strict=True):
            if outcome.is_success():
                md = outcome.get_success()
                if int(md.size) == len(view) and md.content_hash == digest:
                    continue
            else:
                failure = outcome.get_failure()
                error = self._calls.translate(ApiError(None, failure, None, None), name)
                if not isinstance(error, TransientStorageError):
                    raise error
            # A refused or mismatched entry: save it on its own (the caller retries that).
            self._simple_upload(name, self._path(name), view, view)
