"""Turn a REPO string from the CLI or settings into a Storage.

``dropbox:NAME`` is a vault folder inside the app's Dropbox folder, ``s3:BUCKET/PREFIX``
a key prefix in an S3-compatible bucket; anything else is a local path. The Dropbox
SDK and boto3 are imported only when such a vault is opened, so local backups start
fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from app.storage.base import Storage
from app.storage.limiter import LimitedStorage, Limiter
from app.storage.local import LocalStorage
from app.storage.retry import RetryingStorage, WaitCallback

DROPBOX_PREFIX = "dropbox:"
S3_PREFIX = "s3:"


def is_dropbox(repo: str) -> bool:
    return repo.startswith(DROPBOX_PREFIX)


def is_s3(repo: str) -> bool:
    return repo.startswith(S3_PREFIX)


def is_remote(repo: str) -> bool:
    """A cloud vault (no local folder to create or check)."""
    return is_dropbox(repo) or is_s3(repo)


def describe_repo(repo: str) -> str:
    if is_dropbox(repo):
        return f"Dropbox: {repo[len(DROPBOX_PREFIX) :]}"
    if is_s3(repo):
        return f"S3: {repo[len(S3_PREFIX) :].strip('/')}"
    return str(Path(repo).expanduser())


def open_storage(
    repo: str,
    *,
    on_wait: WaitCallback | None = None,
    secret_lookup: Callable[[str], str | None] | None = None,
    max_concurrent_uploads: int = 4,
    bandwidth_limit_kib: int | None = None,
    s3_endpoint: str | None = None,
    limiter: Limiter | None = None,
) -> Storage:
    """Open the backend for ``repo``; the caller owns (and closes) the result.

    The upload settings apply to cloud backends (a local folder needs neither);
    ``s3_endpoint`` is the app's setting (``KEEPSAKE_S3_ENDPOINT`` wins over it).
    ``limiter`` paces uploads and may be shared by several storages; whoever keeps
    it can change the rate while a backup runs (``Limiter.set_rate``). Without it,
    ``bandwidth_limit_kib`` sets a fixed limit. Dropbox paces request bodies on the
    wire; S3 goes through the ``LimitedStorage`` decorator (whole puts paced).
    """
    if is_s3(repo):
        from app.storage.s3 import open_s3_storage

        storage: Storage = open_s3_storage(
            repo[len(S3_PREFIX) :],
            on_wait=on_wait,
            secret_lookup=secret_lookup,
            endpoint=s3_endpoint,
            max_concurrent_uploads=max_concurrent_uploads,
        )
        if limiter is None and bandwidth_limit_kib:
            limiter = Limiter.from_kib(bandwidth_limit_kib)
        return storage if limiter is None else LimitedStorage(storage, limiter)
    if is_dropbox(repo):
        from app.storage.dropbox.factory import open_dropbox_storage

        return open_dropbox_storage(
            repo[len(DROPBOX_PREFIX) :],
            on_wait=on_wait,
            secret_lookup=secret_lookup,
            max_concurrent_uploads=max_concurrent_uploads,
            bandwidth_limit_kib=bandwidth_limit_kib or None,
            limiter=limiter,
        )
    path = Path(os.path.expanduser(repo)).absolute()
    return RetryingStorage(LocalStorage(path), attempts=3, base_delay=0.2, on_wait=on_wait)
