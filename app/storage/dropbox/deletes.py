"""Deleting many objects: ``delete_batch`` jobs of up to 1,000 paths, polled to the end.

Missing objects are fine (as for ``delete``). Entries refused with
``too_many_write_operations`` (Dropbox serialises writes per namespace) are
retried after a backoff; any other refusal raises.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from dropbox import files as dbx_files
from dropbox.exceptions import ApiError

from app.core.errors import NotFoundInStorage, RateLimitedError, TransientStorageError
from app.storage.dropbox import config
from app.storage.dropbox.calls import DropboxCalls


def delete_paths(calls: DropboxCalls, paths: list[str]) -> None:
    """Delete every path (full Dropbox paths), ``BATCH_LIMIT`` per job."""
    for start in range(0, len(paths), config.BATCH_LIMIT):
        _delete_batch(calls, paths[start : start + config.BATCH_LIMIT])


def _delete_batch(calls: DropboxCalls, paths: list[str]) -> None:
    pending = paths
    attempt = 0
    while pending:
        entries = [dbx_files.DeleteArg(p) for p in pending]
        launch_call = functools.partial(calls.client.files_delete_batch, entries)
        launch = calls.retrying(
            "deleting old objects",
            functools.partial(calls.sdk, "deleting old objects", launch_call),
        )
        if launch.is_complete():
            status = launch.get_complete()
        else:
            status = _wait_for_job(calls, launch.get_async_job_id())
        retry: list[str] = []
        if status is None:
            retry = pending  # the whole job failed with too_many_write_operations
        else:
            for path, outcome in zip(pending, status.entries, strict=True):
                if outcome.is_success():
                    continue
                error = calls.translate(ApiError(None, outcome.get_failure(), None, None), path)
                if isinstance(error, NotFoundInStorage):
                    continue
                if isinstance(error, TransientStorageError):
                    retry.append(path)
                else:
                    raise error
        pending = retry
        if pending:
            attempt += 1
            if attempt >= calls.attempts:
                raise RateLimitedError("Dropbox is too busy to delete old objects now.")
            calls.wait(RateLimitedError("Dropbox is busy."), attempt, "deleting old objects")


def _wait_for_job(calls: DropboxCalls, job_id: str) -> Any:
    """Poll a delete_batch job; ``None`` means it failed and should be re-run."""
    delay = 0.05
    deadline = time.monotonic() + 600
    while True:
        status = calls.retrying(
            "deleting old objects",
            lambda: calls.sdk(
                "deleting old objects", lambda: calls.client.files_delete_batch_check(job_id)
            ),
        )
        if status.is_complete():
            return status.get_complete()
        if status.is_failed():
            return None
        if time.monotonic() > deadline:
            raise TransientStorageError("Dropbox took too long to delete old objects.")
        calls.sleep(delay)
        delay = min(delay * 2, 2.0)
