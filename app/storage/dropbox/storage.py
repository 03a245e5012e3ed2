"""The Storage protocol over Dropbox: the backend the engine sees.

``dropbox:NAME`` lives at ``/NAME/`` in the app folder and object ``data/ab/<hex>``
at ``/NAME/data/ab/<hex>``. This module wires the parts together (client, session,
uploads, listing, deletes) and does the reads itself. Downloads are checked
against Dropbox's size and content hash, so a truncated or damaged body is a
retry, never data.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import dropbox
from dropbox import files as dbx_files
from dropbox.exceptions import HttpError

from app.core.errors import NotFoundInStorage, StorageError, TransientStorageError
from app.storage.base import Capabilities, Data, ObjectInfo, Storage, check_name
from app.storage.content_hash import content_hash
from app.storage.dropbox.calls import DropboxCalls
from app.storage.dropbox.client import SdkClient
from app.storage.dropbox.config import (
    MAX_REQUEST_BYTES,
    DropboxCredentials,
    DropboxEndpoints,
    MiB,
    check_vault_name,
)
from app.storage.dropbox.deletes import delete_paths
from app.storage.dropbox.flaky import FlakyLink
from app.storage.dropbox.listing import Lister
from app.storage.dropbox.transport import make_session
from app.storage.dropbox.uploads import Uploader, check_sizes
from app.storage.limiter import Limiter
from app.storage.retry import Backoff, WaitCallback


class DropboxStorage(Storage):
    """The Storage protocol over Dropbox. Safe to share between threads."""

    def __init__(
        self,
        vault: str,
        *,
        credentials: DropboxCredentials,
        endpoints: DropboxEndpoints | None = None,
        ca_bundle: str | None = None,
        session_threshold: int = MAX_REQUEST_BYTES,
        chunk_size: int = 32 * MiB,
        flaky_chunk_size: int = 8 * MiB,
        max_concurrent_uploads: int = 4,
        bandwidth_limit_kib: int | None = None,
        limiter: Limiter | None = None,
        list_page_size: int = 2000,
        timeout: float = 100.0,
        sdk_max_retries_on_error: int = 0,
        sdk_max_retries_on_rate_limit: int = 0,
        attempts: int = 8,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitCallback | None = None,
        rng: random.Random | None = None,
        user_agent: str = "Keepsake",
    ) -> None:
        """Build the client; no network call happens until the first operation.

        ``chunk_size`` and ``flaky_chunk_size`` must be multiples of 4 MiB (so chunk
        content hashes reuse the block digests) and at most 148 MiB; the emulator
        tests use small ``session_threshold`` values to exercise sessions quickly.
        ``attempts``/``base_delay``/``max_delay`` bound the in-session chunk retries;
        whole-operation retries belong to the ``RetryingStorage`` around this.
        Uploads are paced by ``limiter`` (shared, changeable at run time), or by a
        private one at ``bandwidth_limit_kib`` when only that is given.
        """
        self.vault = check_vault_name(vault)
        check_sizes(
            session_threshold=session_threshold,
            chunk_size=chunk_size,
            flaky_chunk_size=flaky_chunk_size,
            max_concurrent_uploads=max_concurrent_uploads,
        )
        self._root = f"/{vault}"
        if limiter is None and bandwidth_limit_kib:
            limiter = Limiter.from_kib(bandwidth_limit_kib)
        self.limiter = limiter
        self.max_concurrent_uploads = max_concurrent_uploads
        self._credentials = credentials
        self._retry = Backoff(
            attempts=attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            on_wait=on_wait,
            rng=rng,
        )
        self._session = make_session(
            ca_bundle=ca_bundle, limiter=limiter, pool_size=max_concurrent_uploads + 4
        )
        self._client = SdkClient(
            endpoints=endpoints or DropboxEndpoints(),
            oauth2_access_token=credentials.access_token,
            oauth2_refresh_token=credentials.refresh_token,
            app_key=credentials.app_key,
            max_retries_on_error=sdk_max_retries_on_error,
            max_retries_on_rate_limit=sdk_max_retries_on_rate_limit,
            user_agent=user_agent,
            session=self._session,
            timeout=timeout,
        )
        self._calls = DropboxCalls(
            self._client,
            refreshable=bool(credentials.refresh_token),
            backoff=self._retry,
            link=FlakyLink(),
            sleep=sleep,
        )
        self._uploads = Uploader(
            self._calls,
            self._path,
            session_threshold=session_threshold,
            chunk_size=chunk_size,
            flaky_chunk_size=flaky_chunk_size,
            max_concurrent_uploads=max_concurrent_uploads,
        )
        self._lister = Lister(self._calls, self._root, page_size=list_page_size)

    # -- Storage protocol ------------------------------------------------------------

    @property
    def description(self) -> str:
        return f"Dropbox: {self.vault}"

    @property
    def capabilities(self) -> Capabilities:
        """Every call is an HTTPS request: parallel uploads, whole-pack reads, batches."""
        return Capabilities(
            connections=self.max_concurrent_uploads,
            cheap_ranged_reads=False,
            batch_delete=True,
            batch_put=True,
        )

    def put(self, name: str, data: Data) -> None:
        self._uploads.put(name, data)

    def put_many(self, items: Sequence[tuple[str, Data]]) -> None:
        """Save many small objects with one commit (``upload_session/finish_batch_v2``).

        Dropbox serialises writes per namespace; committing index objects in one
        batch instead of one call each avoids ``too_many_write_operations``.
        Objects too big for one request go through ``put``.
        """
        self._uploads.put_many(items)

    def get(self, name: str) -> bytes:
        path = self._path(name)
        md, data, _status = self._download(name, path, None)
        if len(data) != md.size:
            raise TransientStorageError(f"The download of {name} from Dropbox was cut short.")
        if md.content_hash and content_hash(data) != md.content_hash:
            raise TransientStorageError(f"The download of {name} from Dropbox was damaged.")
        return data

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        path = self._path(name)
        if offset < 0 or length < 0:
            raise StorageError(f"Invalid range {offset}+{length} for {name}.")
        if length == 0:
            self.stat(name)
            return b""
        md, data, status = self._download(name, path, (offset, offset + length - 1))
        if offset + length > md.size:
            raise NotFoundInStorage(f"{name}: range {offset}+{length} is past the end.")
        if status == 200 and len(data) == md.size:
            data = data[offset : offset + length]  # the server ignored Range
        if len(data) != length:
            raise TransientStorageError(f"The download of {name} from Dropbox was cut short.")
        return data

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return iter(self._lister.objects(prefix))

    def delete(self, name: str) -> None:
        path = self._path(name)
        with contextlib.suppress(NotFoundInStorage):
            self._calls.sdk(name, lambda: self._client.files_delete_v2(path))

    def delete_many(self, names: Iterable[str]) -> None:
        """Delete many objects with ``delete_batch`` (+ ``check``), 1000 per job.

        Missing objects are fine (as for ``delete``). Entries refused with
        ``too_many_write_operations`` are retried; anything else raises.
        """
        delete_paths(self._calls, [self._path(n) for n in names])

    def stat(self, name: str) -> ObjectInfo:
        path = self._path(name)
        md = self._calls.sdk(name, lambda: self._client.files_get_metadata(path))
        if not isinstance(md, dbx_files.FileMetadata):
            raise NotFoundInStorage(f"{name} does not exist.")
        return ObjectInfo(name, int(md.size))

    def close(self) -> None:
        self._session.close()

    # -- tuning and reporting --------------------------------------------------------

    @property
    def session_threshold(self) -> int:
        return self._uploads.session_threshold

    @property
    def chunk_size(self) -> int:
        return self._uploads.chunk_size

    @property
    def flaky_chunk_size(self) -> int:
        return self._uploads.flaky_chunk_size

    @property
    def list_page_size(self) -> int:
        return self._lister.page_size

    @property
    def on_wait(self) -> WaitCallback | None:
        return self._retry.on_wait

    @on_wait.setter
    def on_wait(self, callback: WaitCallback | None) -> None:
        self._retry.on_wait = callback

    # -- internals -------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return f"{self._root}/{check_name(name)}"

    def _download(
        self, name: str, path: str, byte_range: tuple[int, int] | None
    ) -> tuple[Any, bytes, int]:
        headers = dropbox.build_range_headers(byte_range) if byte_range else None

        def call() -> tuple[Any, bytes, int]:
            try:
                md, resp = self._client.files_download(path, extra_headers=headers)
            except HttpError as exc:
                if exc.status_code == 416:
                    raise NotFoundInStorage(
                        f"{name}: the requested range is past the end."
                    ) from None
                raise
            with contextlib.closing(resp):
                return md, resp.content, int(resp.status_code)

        return self._calls.sdk(name, call)
