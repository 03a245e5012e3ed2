"""The Storage protocol over an S3-compatible object store, through boto3.

Object ``data/ab/<hex>`` of ``s3:BUCKET/PREFIX`` is key ``PREFIX/data/ab/<hex>``.
Why the code looks the way it does:

* **Retries are ours.** botocore's own retries are off; every failure is translated
  (``errors.translate``) and transient ones are retried by the shared ``Backoff``:
  per page of a listing and per part of an upload inside this class, per operation
  in the ``RetryingStorage`` around it. A 503 SlowDown honours ``Retry-After``.
* **Checksums are the portable kind.** Every PUT and part carries ``Content-MD5``,
  which AWS, B2, Wasabi, R2, MinIO, Garage and rclone all verify, so a body damaged
  on the way is refused (``BadDigest``) and sent again. boto3's newer CRC trailers are
  switched to ``when_required``: several S3-compatible services refuse them. Downloads
  are length-checked (a cut body is a retry); their content is authenticated by the
  vault format itself, so an ETag that is not an MD5 (SSE-KMS, multipart) never
  fails a restore.
* **Big objects go up in parts** (over ``multipart_threshold``; after a recent
  transient failure also anything over ``flaky_part_size``, so a flaky link resends
  one part, not a pack). Parts are sent in order (rclone streams them; AWS does not
  care). An interrupted upload is resumed: the next attempt asks the server which
  parts it has (``ListParts``) and skips those whose ETag is our MD5. A completion
  whose reply was lost is confirmed by the multipart ETag we can compute ourselves.
* **Deletes are batched** (``DeleteObjects``, 1000 keys a call) and listings are
  paginated (``ListObjectsV2``); a missing key is not an error for either.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from app.core.errors import NotFoundInStorage, StorageError, TransientStorageError
from app.storage.base import Capabilities, ObjectInfo, Storage, check_name
from app.storage.retry import Backoff, WaitCallback
from app.storage.s3.config import S3Location, S3Settings
from app.storage.s3.errors import translate

T = TypeVar("T")
_Infos = list[ObjectInfo]
_Parts = dict[int, tuple[str, int]]
_Pending = list[tuple[str, str]]
_Keys = list[str]
_PartList = list[dict[str, Any]]
_Digests = list[bytes]
MiB = 1024 * 1024

#: S3's smallest part (all but the last) and most parts per upload.
MIN_PART = 5 * MiB
MAX_PARTS = 10_000
#: Keys per DeleteObjects call (the API's maximum).
DELETE_BATCH = 1000
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def _md5(data: bytes | memoryview) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


_loader_lock = threading.Lock()
_loader: Any = None


def _botocore_session(profile: str | None) -> Any:
    """A fresh botocore session (credentials are read anew) sharing one model loader:
    parsing S3's service model costs ~0.4 s, and a process may open many storages."""
    global _loader
    session = botocore.session.Session(profile=profile)
    with _loader_lock:
        if _loader is None:
            _loader = session.get_component("data_loader")
        else:
            session.register_component("data_loader", _loader)
    return session


class ViewReader(io.RawIOBase):
    """A seekable, read-only file over a memoryview: boto3 sends a pack straight from
    the engine's buffer instead of a 16 MiB copy per upload in flight."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._view)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        piece = self._view[self._pos : self._pos + len(buffer)]
        n = len(piece)
        memoryview(buffer).cast("B")[:n] = piece
        self._pos += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._pos + size
        piece = self._view[self._pos : end].tobytes()
        self._pos += len(piece)
        return piece


def make_client(settings: S3Settings, *, pool_size: int, timeouts: tuple[float, float]) -> Any:
    """A boto3 client with retries off and checksums the whole ecosystem accepts."""
    creds = settings.credentials
    if creds.explicit:
        session = boto3.session.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            botocore_session=_botocore_session(None),
        )
    else:
        session = boto3.session.Session(botocore_session=_botocore_session(creds.profile))
    config = Config(
        region_name=settings.region,
        signature_version="s3v4",
        # A custom endpoint (MinIO, a NAS, rclone) rarely has wildcard DNS per bucket;
        # B2, Wasabi and R2 accept paths too. AWS itself gets virtual-hosted names
        # ("auto": except for bucket names with dots, which TLS cannot cover).
        s3={"addressing_style": "path" if settings.endpoint else "auto"},
        retries={"total_max_attempts": 1},
        connect_timeout=timeouts[0],
        read_timeout=timeouts[1],
        max_pool_connections=pool_size,
        tcp_keepalive=True,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_appid="keepsake",
    )
    return session.client(
        "s3",
        endpoint_url=settings.endpoint,
        config=config,
        verify=settings.ca_bundle or True,
    )


class S3Storage(Storage):
    """The Storage protocol over one bucket and prefix. Safe to share between threads."""

    def __init__(
        self,
        location: S3Location,
        *,
        settings: S3Settings,
        multipart_threshold: int = 64 * MiB,
        part_size: int = 16 * MiB,
        flaky_part_size: int = MIN_PART,
        max_concurrent_uploads: int = 4,
        list_page_size: int = 1000,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Build the client; no network call happens until the first operation.

        ``attempts`` bounds the retries of one page or one part inside an operation;
        whole-operation retries belong to the ``RetryingStorage`` around this.
        """
        if min(part_size, flaky_part_size) < MIN_PART:
            raise ValueError("S3 parts must be at least 5 MiB")
        if max_concurrent_uploads < 1:
            raise ValueError("max_concurrent_uploads must be at least 1")
        self.location = location
        self.settings = settings
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.flaky_part_size = flaky_part_size
        self.max_concurrent_uploads = max_concurrent_uploads
        self.list_page_size = list_page_size
        self._root = location.root
        self._retry = Backoff(
            attempts=attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            on_wait=on_wait,
            rng=rng,
        )
        self._upload_slots = threading.BoundedSemaphore(max_concurrent_uploads)
        self._lock = threading.Lock()
        self._flaky_until = 0  # uploads still to see succeed before leaving flaky mode
        self._uploads: dict[str, tuple[str, int]] = {}  # name -> (upload id, part size)
        #: API calls made, by operation name (for the docs' "calls per GiB" figures).
        self.calls: Counter[str] = Counter()
        self.bytes_sent = 0
        self.bytes_received = 0
        self._client = self._call(
            "connecting",
            lambda: make_client(
                settings,
                pool_size=max_concurrent_uploads + 4,
                timeouts=(connect_timeout, read_timeout),
            ),
        )
        self._client.meta.events.register("before-call.s3", self._count_call)

    # -- Storage protocol ------------------------------------------------------------

    @property
    def description(self) -> str:
        return f"S3: {self.location}"

    @property
    def capabilities(self) -> Capabilities:
        """Every call is an HTTP request with real latency: parallel uploads, whole-pack
        reads, deletes 1000 at a time. No batch put: S3 has no multi-object PUT."""
        return Capabilities(
            connections=self.max_concurrent_uploads,
            cheap_ranged_reads=False,
            batch_delete=True,
        )

    def put(self, name: str, data: bytes | bytearray | memoryview) -> None:
        key = self._key(name)
        view = memoryview(data).cast("B")
        with self._upload_slots:
            try:
                if name in self._uploads_snapshot():
                    self._multipart(name, key, view, self._uploads_snapshot()[name][1])
                elif len(view) > self.multipart_threshold:
                    self._multipart(name, key, view, self._part_size_for(len(view)))
                elif len(view) > self.flaky_part_size and self._is_flaky():
                    self._multipart(name, key, view, self.flaky_part_size)
                else:
                    self._put_object(name, key, view)
            except TransientStorageError:
                self._note_failure()
                raise
        self._note_success()

    def get(self, name: str) -> bytes:
        key = self._key(name)
        resp = self._call(name, lambda: self._client.get_object(Bucket=self._bucket, Key=key))
        data = self._read_body(name, resp)
        if len(data) != int(resp.get("ContentLength", len(data))):
            raise TransientStorageError(f"The download of {name} was cut short.")
        return data

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        key = self._key(name)
        if offset < 0 or length < 0:
            raise StorageError(f"{name}: invalid range {offset}+{length}.")
        if length == 0:
            if offset > self.stat(name).size:
                raise NotFoundInStorage(f"{name}: range {offset}+0 is past the end.")
            return b""
        byte_range = f"bytes={offset}-{offset + length - 1}"
        resp = self._call(
            name, lambda: self._client.get_object(Bucket=self._bucket, Key=key, Range=byte_range)
        )
        data = self._read_body(name, resp)
        if len(data) == length:
            return data
        match = _CONTENT_RANGE.match(str(resp.get("ContentRange", "")))
        total = int(match.group(3)) if match and match.group(3) != "*" else None
        if total is not None and offset + length > total:
            raise NotFoundInStorage(f"{name}: range {offset}+{length} is past the end ({total}).")
        raise TransientStorageError(f"The download of {name} was cut short.")

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return iter(self._list(prefix))

    def delete(self, name: str) -> None:
        key = self._key(name)
        self._call(name, lambda: self._client.delete_object(Bucket=self._bucket, Key=key))

    def delete_many(self, names: Iterable[str]) -> None:
        """Delete with one ``DeleteObjects`` call per 1000 names."""
        keys = [self._key(n) for n in names]
        for start in range(0, len(keys), DELETE_BATCH):
            self._delete_batch(keys[start : start + DELETE_BATCH])

    def stat(self, name: str) -> ObjectInfo:
        key = self._key(name)
        resp = self._call(name, lambda: self._client.head_object(Bucket=self._bucket, Key=key))
        return ObjectInfo(name, int(resp["ContentLength"]))

    def close(self) -> None:
        self._client.close()

    # -- housekeeping ------------------------------------------------------------------

    def remove_stale_temp_files(self) -> int:
        """Abort unfinished multipart uploads under the prefix (prune calls this with
        the vault's exclusive lock held, so they are leftovers of killed writers that
        the provider would otherwise bill for); returns how many went."""
        removed = 0
        for key, upload_id in self._pending_uploads():
            self._call(
                key,
                lambda k=key, u=upload_id: self._client.abort_multipart_upload(  # type: ignore[misc]
                    Bucket=self._bucket, Key=k, UploadId=u
                ),
            )
            removed += 1
        with self._lock:
            self._uploads.clear()
        return removed

    def check_access(self) -> None:
        """One cheap listing call: raises the clear error for wrong keys, a missing
        bucket or no permission (the settings' connection test)."""
        self._call(
            "listing the bucket",
            lambda: self._client.list_objects_v2(Bucket=self._bucket, Prefix=self._root, MaxKeys=1),
        )

    # -- retries ------------------------------------------------------------------------

    @property
    def on_wait(self) -> WaitCallback | None:
        return self._retry.on_wait

    @on_wait.setter
    def on_wait(self, callback: WaitCallback | None) -> None:
        self._retry.on_wait = callback

    @property
    def retries(self) -> int:
        return self._retry.retries

    # -- internals ------------------------------------------------------------------------

    @property
    def _bucket(self) -> str:
        return self.location.bucket

    def _key(self, name: str) -> str:
        return self._root + check_name(name)

    def _count_call(self, model: Any = None, **_kwargs: Any) -> None:
        if model is not None:
            with self._lock:
                self.calls[str(model.name)] += 1

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one boto3 call, turning every failure into one of our error types."""
        try:
            return fn()
        except Exception as exc:
            raise translate(exc, what, bucket=self._bucket, where=self.settings.where) from exc

    def _read_body(self, name: str, resp: dict[str, Any]) -> bytes:
        data: bytes = self._call(name, lambda: resp["Body"].read())
        with self._lock:
            self.bytes_received += len(data)
        return data

    def _put_object(self, name: str, key: str, view: memoryview) -> None:
        digest = _b64(_md5(view))
        self._call(
            name,
            lambda: self._client.put_object(
                Bucket=self._bucket, Key=key, Body=ViewReader(view), ContentMD5=digest
            ),
        )
        with self._lock:
            self.bytes_sent += len(view)

    # -- multipart ------------------------------------------------------------------------

    def _part_size_for(self, size: int) -> int:
        per_part = -(-size // MAX_PARTS)
        return max(self.part_size, -(-per_part // MiB) * MiB)

    def _uploads_snapshot(self) -> dict[str, tuple[str, int]]:
        with self._lock:
            return dict(self._uploads)

    def _multipart(self, name: str, key: str, view: memoryview, part_size: int) -> None:
        """Upload in parts, resuming the upload an earlier attempt left unfinished."""
        pending = self._uploads_snapshot().get(name)
        done: _Parts = {}
        if pending is not None:
            upload_id = pending[0]
            try:
                done = self._list_parts(name, key, upload_id)
            except StorageError as exc:
                if not _is_no_such_upload(exc):
                    raise
                pending = None  # the upload is gone (aborted, expired): start over
        if pending is None:
            resp = self._call(
                name,
                lambda: self._client.create_multipart_upload(Bucket=self._bucket, Key=key),
            )
            upload_id = str(resp["UploadId"])
            with self._lock:
                self._uploads[name] = (upload_id, part_size)
        parts: _PartList = []
        digests: _Digests = []
        for number, start in enumerate(range(0, len(view), part_size), 1):
            chunk = view[start : start + part_size]
            digest = _md5(chunk)
            digests.append(digest)
            etag = f'"{digest.hex()}"'
            if done.get(number) != (etag, len(chunk)):
                etag = self._retry.call(
                    name,
                    lambda c=chunk, n=number, d=digest: self._upload_part(  # type: ignore[misc]
                        name, key, upload_id, n, c, d
                    ),
                    on_failure=self._note_failure,
                )
            parts.append({"PartNumber": number, "ETag": etag})
        self._complete(name, key, upload_id, parts, digests, len(view))
        with self._lock:
            self._uploads.pop(name, None)

    def _upload_part(
        self, name: str, key: str, upload_id: str, number: int, chunk: memoryview, digest: bytes
    ) -> str:
        resp = self._call(
            f"{name} (part {number})",
            lambda: self._client.upload_part(
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=ViewReader(chunk),
                ContentMD5=_b64(digest),
            ),
        )
        with self._lock:
            self.bytes_sent += len(chunk)
        return str(resp["ETag"])

    def _list_parts(self, name: str, key: str, upload_id: str) -> _Parts:
        found: _Parts = {}
        marker = 0
        while True:
            resp = self._call(
                name,
                lambda m=marker: self._client.list_parts(  # type: ignore[misc]
                    Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumberMarker=m
                ),
            )
            for part in resp.get("Parts", []):
                found[int(part["PartNumber"])] = (str(part["ETag"]), int(part["Size"]))
            if not resp.get("IsTruncated"):
                return found
            marker = int(resp["NextPartNumberMarker"])

    def _complete(
        self,
        name: str,
        key: str,
        upload_id: str,
        parts: _PartList,
        digests: _Digests,
        size: int,
    ) -> None:
        expected = f'"{_md5(b"".join(digests)).hex()}-{len(digests)}"'
        try:
            self._call(
                name,
                lambda: self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                ),
            )
        except StorageError as exc:
            # An earlier completion may have succeeded with its reply lost on the way:
            # then the upload is gone and the object is there, with our ETag.
            if not _is_no_such_upload(exc) or not self._already_saved(key, size, expected):
                raise

    def _already_saved(self, key: str, size: int, etag: str) -> bool:
        try:
            resp = self._call(key, lambda: self._client.head_object(Bucket=self._bucket, Key=key))
        except NotFoundInStorage:
            return False
        return int(resp["ContentLength"]) == size and str(resp.get("ETag")) == etag

    def _pending_uploads(self) -> _Pending:
        found: _Pending = []
        markers: dict[str, str] = {}
        while True:
            try:
                resp = self._call(
                    "listing unfinished uploads",
                    lambda m=dict(markers): self._client.list_multipart_uploads(  # type: ignore[misc]
                        Bucket=self._bucket, Prefix=self._root, **m
                    ),
                )
            except StorageError as exc:
                if _is_no_such_upload(exc):
                    return found  # rclone's answer for "there are none"
                raise
            for upload in resp.get("Uploads", []):
                found.append((str(upload["Key"]), str(upload["UploadId"])))
            if not resp.get("IsTruncated"):
                return found
            markers = {
                "KeyMarker": str(resp.get("NextKeyMarker", "")),
                "UploadIdMarker": str(resp.get("NextUploadIdMarker", "")),
            }

    # -- listing and deleting ------------------------------------------------------------

    def _list(self, prefix: str) -> _Infos:
        found: _Infos = []
        token: str | None = None
        cut = len(self._root)
        while True:
            kwargs: dict[str, Any] = {
                "Bucket": self._bucket,
                "Prefix": self._root + prefix,
                "MaxKeys": self.list_page_size,
            }
            if token:
                kwargs["ContinuationToken"] = token
            resp = self._retry.call(
                f"listing {prefix or 'the vault'}",
                lambda kw=kwargs: self._call(  # type: ignore[misc]
                    "listing", lambda: self._client.list_objects_v2(**kw)
                ),
            )
            for obj in resp.get("Contents", []):
                found.append(ObjectInfo(str(obj["Key"])[cut:], int(obj["Size"])))
            if not resp.get("IsTruncated"):
                return found
            token = str(resp["NextContinuationToken"])

    def _delete_batch(self, keys: _Keys) -> None:
        if not keys:
            return
        request = {"Objects": [{"Key": k} for k in keys], "Quiet": True}
        resp = self._retry.call(
            "deleting old objects",
            lambda: self._call(
                "deleting old objects",
                lambda: self._client.delete_objects(Bucket=self._bucket, Delete=request),
            ),
        )
        failed = [e for e in resp.get("Errors", []) if e.get("Code") != "NoSuchKey"]
        if failed:
            first = failed[0]
            error = ClientError(
                {"Error": {"Code": first.get("Code", ""), "Message": first.get("Message", "")}},
                "DeleteObjects",
            )
            raise translate(
                error,
                f"deleting {first.get('Key')}",
                bucket=self._bucket,
                where=self.settings.where,
            )

    # -- flaky-link mode -----------------------------------------------------------------

    def _is_flaky(self) -> bool:
        with self._lock:
            return self._flaky_until > 0

    def _note_failure(self) -> None:
        with self._lock:
            self._flaky_until = 20

    def _note_success(self) -> None:
        with self._lock:
            self._flaky_until = max(0, self._flaky_until - 1)


def _is_no_such_upload(exc: StorageError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == (
        "NoSuchUpload"
    )
