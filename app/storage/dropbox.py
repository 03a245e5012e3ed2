"""A vault in the user's Dropbox app folder, through the official SDK.

``dropbox:NAME`` lives at ``/NAME/`` in the app folder and object ``data/ab/<hex>``
at ``/NAME/data/ab/<hex>``. Why the code looks the way it does:

* **Retries are ours.** The SDK retries 5xx with sleeps we cannot shorten or report
  and, by default, retries 429 forever; connection resets and truncated bodies it
  does not retry at all. So the client is built with bounded SDK retries (0 by
  default) and every failure is translated into our error types: transient ones
  (``TransientStorageError``/``RateLimitedError`` with the server's ``retry_after``)
  are retried by ``RetryingStorage`` with capped, jittered backoff and reported
  through ``on_wait`` ("Dropbox is throttling, resuming at 14:05"); answers such as
  not-found, a full Dropbox or a revoked sign-in are raised at once.
* **Every upload is verified.** We compute Dropbox's ``content_hash`` locally, send
  it with each call (the server refuses a body damaged in transit) and compare it
  with the metadata Dropbox returns; a mismatch is retried, never accepted.
  Downloads are checked against size and hash too, so a truncated body is a retry.
* **Big objects use upload sessions** (over ``session_threshold``, 150 MiB by
  default, and over ``flaky_chunk_size`` after a recent transient failure so a
  flaky link resends one chunk, not a whole pack). A failed chunk resumes from the
  offset the server reports; a finish whose reply was lost is confirmed by hash.
* **Hosts and TLS are explicit.** The SDK reads ``DROPBOX_*_HOST`` once at import and
  binds the token-refresh host at definition time, and ``REQUESTS_CA_BUNDLE``
  silently overrides its ``ca_certs``. We read the environment when a storage is
  opened, point the client (and its refresh) at those hosts, and trust an extra CA
  file (``KEEPSAKE_DROPBOX_CA_BUNDLE``) in addition to the usual roots.

Tokens are held only in memory (``DropboxCredentials`` hides them from ``repr``);
they come from the keyring through the caller's ``secret_lookup``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dropbox
import requests
import urllib3
from dropbox import files as dbx_files
from dropbox.exceptions import (
    ApiError,
    AuthError,
    BadInputError,
    HttpError,
    InternalServerError,
    RateLimitError,
)
from dropbox.session import HOST_API, HOST_CONTENT, HOST_NOTIFY
from dropbox.stone_validators import ValidationError
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool

from app.core.errors import (
    AuthRequiredError,
    NotFoundInStorage,
    RateLimitedError,
    StorageError,
    StorageFullError,
    StorageUnavailableError,
    TransientStorageError,
)
from app.storage.base import Capabilities, ObjectInfo, Storage, check_name
from app.storage.content_hash import BLOCK_SIZE, block_digests, combine, content_hash
from app.storage.retry import Backoff, RetryingStorage, WaitCallback

log = logging.getLogger(__name__)

T = TypeVar("T")
# Aliases so annotations inside DropboxStorage (which has a ``list`` method) stay clear.
_Batch = list[tuple[str, str, memoryview, str]]
_Paths = list[str]
_Infos = list[ObjectInfo]
MiB = 1024 * 1024

#: Dropbox refuses request bodies over 150 MiB (files/upload and each session call).
MAX_REQUEST_BYTES = 150 * MiB
#: Entries per delete_batch / finish_batch_v2 call (the API's maximum).
BATCH_LIMIT = 1000
#: Built-in app key for release builds; empty until Keepsake's app is registered.
DEFAULT_APP_KEY = ""
#: Keyring entry names (service ``keepsake``) the backend asks ``secret_lookup`` for.
REFRESH_TOKEN_SECRET = "dropbox-refresh-token"
APP_KEY_SECRET = "dropbox-app-key"

ENV_ACCESS_TOKEN = "KEEPSAKE_DROPBOX_ACCESS_TOKEN"
ENV_APP_KEY = "KEEPSAKE_DROPBOX_APP_KEY"
ENV_CA_BUNDLE = "KEEPSAKE_DROPBOX_CA_BUNDLE"

_VAULT_NAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9 ._-]{0,99}$")
_DISALLOWED = {"desktop.ini", "thumbs.db", ".ds_store", ".dropbox", ".dropbox.attr"}
_FULL_TAGS = {
    "insufficient_space",
    "team_folder_insufficient_space",
    "member_folder_insufficient_space",
    "insufficient_quota",
    "team_folder_insufficient_quota",
    "member_folder_insufficient_quota",
}
_RECONNECT = (
    "Reconnect Dropbox (run `keepsake connect dropbox`, or Settings > Dropbox > Reconnect)."
)


# -- configuration ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DropboxEndpoints:
    """Where the API lives; the emulator replaces all three with ``127.0.0.1:N``."""

    api_host: str = "api.dropboxapi.com"
    content_host: str = "content.dropboxapi.com"
    web_host: str = "www.dropbox.com"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DropboxEndpoints:
        """Read the SDK's own variables now, not at SDK import time."""
        env = os.environ if env is None else env
        default = cls()
        return cls(
            api_host=env.get("DROPBOX_API_HOST") or default.api_host,
            content_host=env.get("DROPBOX_API_CONTENT_HOST") or default.content_host,
            web_host=env.get("DROPBOX_WEB_HOST") or default.web_host,
        )


@dataclass(frozen=True, slots=True)
class DropboxCredentials:
    """Either a fixed access token (scripting, tests) or a refresh token + app key."""

    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    app_key: str | None = None

    def __post_init__(self) -> None:
        if not self.access_token and not (self.refresh_token and self.app_key):
            raise AuthRequiredError(
                "Dropbox is not connected yet. Connect it in Keepsake's settings "
                "or run `keepsake connect dropbox`."
            )


def resolve_credentials(
    env: Mapping[str, str] | None = None,
    secret_lookup: Callable[[str], str | None] | None = None,
) -> DropboxCredentials:
    """Credentials from ``KEEPSAKE_DROPBOX_ACCESS_TOKEN`` or the keyring.

    The app key that issued the refresh token (stored next to it when connecting)
    wins over ``KEEPSAKE_DROPBOX_APP_KEY``, because Dropbox refuses to refresh a
    token for any other app key.
    """
    env = os.environ if env is None else env
    token = env.get(ENV_ACCESS_TOKEN)
    if token:
        return DropboxCredentials(access_token=token)
    lookup = secret_lookup or (lambda _name: None)
    refresh = lookup(REFRESH_TOKEN_SECRET)
    app_key = lookup(APP_KEY_SECRET) or env.get(ENV_APP_KEY) or DEFAULT_APP_KEY
    if refresh and not app_key:
        raise AuthRequiredError(
            f"No Dropbox app key is configured. Set {ENV_APP_KEY} or the app key in "
            f"settings, then reconnect."
        )
    return DropboxCredentials(refresh_token=refresh, app_key=app_key or None)


def check_vault_name(name: str) -> str:
    """A vault name must be one safe Dropbox folder name (no slashes, no trickery)."""
    if not _VAULT_NAME_RE.match(name) or name.endswith((" ", ".")) or name.lower() in _DISALLOWED:
        raise StorageError(
            f"{name!r} is not a usable Dropbox vault name: use up to 100 letters, digits, "
            "spaces, dots, dashes or underscores."
        )
    return name


# -- HTTP session: TLS trust and bandwidth -------------------------------------------


class TokenBucket:
    """Limits bytes per second across every upload connection of one storage.

    ``take`` blocks until the bytes fit; the bucket holds at most ``burst`` bytes so
    an idle period does not let a later upload exceed the limit for long.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate / 4, 64 * 1024)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            debt = -self._tokens
        if debt > 0:
            self._sleep(debt / self.rate)


_SEND_PIECE = 64 * 1024


def _throttled_pool(bucket: TokenBucket) -> type[HTTPSConnectionPool]:
    """An HTTPS pool whose connections send request bodies through ``bucket``."""

    class ThrottledConnection(HTTPSConnection):
        def send(self, data: Any) -> None:
            if not isinstance(data, bytes | bytearray | memoryview):
                super().send(data)
                return
            view = memoryview(data).cast("B")
            for start in range(0, len(view), _SEND_PIECE):
                piece = view[start : start + _SEND_PIECE]
                bucket.take(len(piece))
                super().send(piece)

    class ThrottledPool(HTTPSConnectionPool):
        ConnectionCls = ThrottledConnection

    return ThrottledPool


class _Adapter(HTTPAdapter):
    """Mounts our TLS context (default roots + extra CA) and the bandwidth limit."""

    def __init__(
        self, ssl_context: ssl.SSLContext | None, bucket: TokenBucket | None, pool_size: int
    ) -> None:
        self._ssl_context = ssl_context
        self._bucket = bucket
        super().__init__(pool_connections=4, pool_maxsize=pool_size)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **kw: Any
    ) -> None:
        if self._ssl_context is not None:
            kw["ssl_context"] = self._ssl_context
        super().init_poolmanager(connections, maxsize, block, **kw)
        if self._bucket is not None:
            classes = dict(self.poolmanager.pool_classes_by_scheme)
            classes["https"] = _throttled_pool(self._bucket)
            self.poolmanager.pool_classes_by_scheme = classes

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if self._ssl_context is None:
            super().cert_verify(conn, url, verify, cert)
            return
        # Our context already holds every root we trust; a CA path here would make
        # urllib3 reload certifi into it on each new connection (~0.1 s each).
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None


class _Session(requests.Session):
    """A requests session that keeps our CA choice even if REQUESTS_CA_BUNDLE is set.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace ``verify`` per
    request, which would drop the extra CA; proxies from the environment still apply.
    """

    keep_verify = False

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(
            url, proxies, stream, verify, cert
        )
        if self.keep_verify:
            settings["verify"] = True
        return settings


@functools.lru_cache(maxsize=8)
def _tls_context(extra_pem: bytes, env_bundles: tuple[str, ...]) -> ssl.SSLContext:
    """Default roots (certifi, plus any REQUESTS_CA_BUNDLE) and the extra CA.

    Cached by content: loading ~150 roots takes ~0.1 s and a context is immutable
    once built (our session never passes a CA path for urllib3 to add to it).
    """
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    for path in env_bundles:
        context.load_verify_locations(cafile=path)
    try:
        context.load_verify_locations(cadata=extra_pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError):
        raise StorageUnavailableError(
            f"The CA file given in {ENV_CA_BUNDLE} is not a PEM certificate file."
        ) from None
    return context


def make_session(
    *,
    ca_bundle: str | None = None,
    bandwidth_limit_kib: int | None = None,
    pool_size: int = 8,
) -> requests.Session:
    """The HTTP session for the SDK client and the OAuth flow.

    With ``ca_bundle``, certificates are checked against the usual roots (certifi,
    plus ``REQUESTS_CA_BUNDLE`` when set) *and* that file, so the emulator and a
    TLS-inspecting proxy both work without turning verification off.
    """
    session = _Session()
    context: ssl.SSLContext | None = None
    if ca_bundle:
        try:
            with open(ca_bundle, "rb") as fh:
                pem = fh.read()
        except OSError:
            raise StorageUnavailableError(
                f"The CA file {ca_bundle} ({ENV_CA_BUNDLE}) cannot be read."
            ) from None
        env_bundles = tuple(
            path
            for path in (os.environ.get("REQUESTS_CA_BUNDLE"), os.environ.get("CURL_CA_BUNDLE"))
            if path and os.path.isfile(path)
        )
        context = _tls_context(pem, env_bundles)
        session.keep_verify = True
    bucket = TokenBucket(bandwidth_limit_kib * 1024.0) if bandwidth_limit_kib else None
    session.mount("https://", _Adapter(context, bucket, pool_size))
    return session


# -- the SDK client -----------------------------------------------------------------


class SdkClient(dropbox.Dropbox):  # type: ignore[misc]  # the SDK is untyped
    """``dropbox.Dropbox`` with explicit hosts and one token refresh at a time."""

    def __init__(self, *, endpoints: DropboxEndpoints, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._host_map = {
            HOST_API: endpoints.api_host,
            HOST_CONTENT: endpoints.content_host,
            HOST_NOTIFY: endpoints.api_host,
        }
        self._api_host = endpoints.api_host
        self._refresh_lock = threading.RLock()

    def check_and_refresh_access_token(self) -> None:
        with self._refresh_lock:
            super().check_and_refresh_access_token()

    def refresh_access_token(self, host: str | None = None, scope: Any = None) -> None:
        with self._refresh_lock:
            super().refresh_access_token(host=host or self._api_host, scope=scope)


def _tags(value: Any) -> list[str]:
    """The chain of union tags in an SDK error, e.g. ``['path', 'conflict', 'file']``."""
    out: list[str] = []
    seen = 0
    while value is not None and seen < 8:
        seen += 1
        tag = getattr(value, "_tag", None)
        if isinstance(tag, str):
            out.append(tag)
            value = getattr(value, "_value", None)
            continue
        names = getattr(type(value), "_all_field_names_", None)
        if not names:
            break
        value = next(
            (getattr(value, n) for n in sorted(names) if hasattr(getattr(value, n, None), "_tag")),
            None,
        )
    return out


class _OffsetMismatch(Exception):
    """The server holds a different number of session bytes than we assumed."""

    def __init__(self, correct_offset: int) -> None:
        super().__init__(correct_offset)
        self.correct_offset = correct_offset


class _SessionGone(Exception):
    """The upload session no longer exists (finished, expired, or closed)."""


# -- the backend --------------------------------------------------------------------


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
        """
        self.vault = check_vault_name(vault)
        self._root = f"/{vault}"
        self._root_lower = self._root.lower() + "/"
        for size in (chunk_size, flaky_chunk_size):
            if size <= 0 or size % BLOCK_SIZE or size > MAX_REQUEST_BYTES - BLOCK_SIZE:
                raise ValueError("chunk sizes must be positive multiples of 4 MiB below 148 MiB")
        if session_threshold > MAX_REQUEST_BYTES:
            raise ValueError("session_threshold cannot exceed Dropbox's 150 MiB request limit")
        if max_concurrent_uploads < 1:
            raise ValueError("max_concurrent_uploads must be at least 1")
        self.session_threshold = session_threshold
        self.chunk_size = chunk_size
        self.flaky_chunk_size = flaky_chunk_size
        self.max_concurrent_uploads = max_concurrent_uploads
        self.list_page_size = list_page_size
        self._credentials = credentials
        self._attempts = attempts
        self._sleep = sleep
        self._retry = Backoff(
            attempts=attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            on_wait=on_wait,
            rng=rng,
        )
        self._upload_slots = threading.BoundedSemaphore(max_concurrent_uploads)
        self._flaky_lock = threading.Lock()
        self._flaky_until = 0  # upload successes still to see before leaving flaky mode
        self._session = make_session(
            ca_bundle=ca_bundle,
            bandwidth_limit_kib=bandwidth_limit_kib,
            pool_size=max_concurrent_uploads + 4,
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

    def put(self, name: str, data: bytes | bytearray | memoryview) -> None:
        path = self._path(name)
        view = memoryview(data).cast("B")
        with self._upload_slots:
            if len(view) > self.session_threshold:
                self._session_upload(name, path, view, self.chunk_size)
            elif len(view) > self.flaky_chunk_size and self._is_flaky():
                self._session_upload(name, path, view, self.flaky_chunk_size)
            else:
                self._simple_upload(name, path, data, view)

    def put_many(self, items: Sequence[tuple[str, bytes | bytearray | memoryview]]) -> None:
        """Save many small objects with one commit (``upload_session/finish_batch_v2``).

        Dropbox serialises writes per namespace; committing index and tree objects in
        one batch instead of one call each avoids ``too_many_write_operations``.
        Objects too big for one request go through ``put``.
        """
        small: _Batch = []
        for name, data in items:
            view = memoryview(data).cast("B")
            if len(view) > min(self.session_threshold, self.chunk_size):
                self.put(name, data)
            else:
                small.append((name, self._path(name), view, content_hash(view)))
        for start in range(0, len(small), BATCH_LIMIT):
            self._commit_batch(small[start : start + BATCH_LIMIT])

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
        return iter(self._list(prefix))

    def delete(self, name: str) -> None:
        path = self._path(name)
        with contextlib.suppress(NotFoundInStorage):
            self._sdk(name, lambda: self._client.files_delete_v2(path))

    def delete_many(self, names: Iterable[str]) -> None:
        """Delete many objects with ``delete_batch`` (+ ``check``), 1000 per job.

        Missing objects are fine (as for ``delete``). Entries refused with
        ``too_many_write_operations`` are retried; anything else raises.
        """
        paths = [self._path(n) for n in names]
        for start in range(0, len(paths), BATCH_LIMIT):
            self._delete_batch(paths[start : start + BATCH_LIMIT])

    def stat(self, name: str) -> ObjectInfo:
        path = self._path(name)
        md = self._sdk(name, lambda: self._client.files_get_metadata(path))
        if not isinstance(md, dbx_files.FileMetadata):
            raise NotFoundInStorage(f"{name} does not exist.")
        return ObjectInfo(name, int(md.size))

    def close(self) -> None:
        self._session.close()

    # -- internals: calls and errors ----------------------------------------------

    def _path(self, name: str) -> str:
        return f"{self._root}/{check_name(name)}"

    def _sdk(self, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call, turning every failure into one of our error types."""
        try:
            return fn()
        except Exception as exc:
            raise self._translate(exc, what) from exc

    def _translate(self, exc: BaseException, what: str) -> StorageError:
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, ApiError):
            return self._translate_api(exc, what)
        if isinstance(exc, AuthError):
            return self._translate_auth(exc)
        if isinstance(exc, RateLimitError):
            wait = float(exc.backoff) if exc.backoff is not None else 5.0
            return RateLimitedError("Dropbox is throttling Keepsake.", retry_after=wait)
        if isinstance(exc, InternalServerError):
            return TransientStorageError(f"Dropbox had a server error ({exc.status_code}).")
        if isinstance(exc, BadInputError):
            if "invalid_client" in str(exc.message):
                return AuthRequiredError(
                    f"Dropbox does not recognise Keepsake's app key. Check {ENV_APP_KEY} or "
                    f"the app key in settings, then reconnect."
                )
            return StorageError(f"Dropbox rejected the request for {what}: {exc.message}")
        if isinstance(exc, HttpError):
            if exc.status_code in (408, 425) or exc.status_code >= 500:
                return TransientStorageError(f"Dropbox answered HTTP {exc.status_code}.")
            return StorageError(f"Dropbox answered HTTP {exc.status_code} for {what}.")
        if isinstance(exc, requests.exceptions.SSLError):
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify" in str(exc):
                return StorageUnavailableError(
                    "Could not verify Dropbox's security certificate. If a proxy inspects "
                    f"your traffic, set {ENV_CA_BUNDLE} to its CA file."
                )
            return TransientStorageError("The secure connection to Dropbox was interrupted.")
        if isinstance(
            exc,
            requests.exceptions.ConnectionError
            | requests.exceptions.Timeout
            | requests.exceptions.ChunkedEncodingError
            | requests.exceptions.ContentDecodingError
            | urllib3.exceptions.HTTPError
            | ConnectionError
            | TimeoutError,
        ):
            return TransientStorageError("The connection to Dropbox was interrupted.")
        if isinstance(exc, ValidationError | ValueError | AssertionError | KeyError):
            # The SDK's reply checks (content type, JSON, stone validation) failed: a
            # garbled or cut reply, typically from a proxy or a dropped connection.
            return TransientStorageError(
                f"Dropbox sent an unexpected reply ({type(exc).__name__})."
            )
        return StorageError(f"Dropbox failed on {what}: {exc}")

    def _translate_api(self, exc: ApiError, what: str) -> StorageError:
        tags = _tags(exc.error)
        detail = exc.user_message_text or "/".join(tags)
        if _FULL_TAGS.intersection(tags):
            return StorageFullError(
                f"Your Dropbox is full, so the backup stopped while saving {what}. Everything "
                "saved before is safe. Free up space in Dropbox or upgrade your plan, then "
                "run the backup again."
            )
        if "too_many_write_operations" in tags or "internal_error" in tags:
            return RateLimitedError("Dropbox is busy with other changes to this folder.")
        if "content_hash_mismatch" in tags:
            return TransientStorageError(f"The upload of {what} was damaged on the way.")
        if tags[:1] in (["path"], ["path_lookup"], ["from_lookup"]) and (
            "not_found" in tags or "not_file" in tags
        ):
            return NotFoundInStorage(f"{what} does not exist.")
        if "upload_traffic_limit_reached" in tags:
            return StorageError(
                "Dropbox's upload limit for this account has been reached; try again later."
            )
        return StorageError(f"Dropbox refused {what}: {detail}.")

    def _translate_auth(self, exc: AuthError) -> StorageError:
        tags = _tags(exc.error)
        if "missing_scope" in tags:
            return AuthRequiredError(f"Keepsake lacks a Dropbox permission it needs. {_RECONNECT}")
        if "user_suspended" in tags:
            return AuthRequiredError("This Dropbox account is suspended.")
        if "expired_access_token" in tags and not self._credentials.refresh_token:
            return AuthRequiredError(
                f"The Dropbox access token ({ENV_ACCESS_TOKEN}) has expired. {_RECONNECT}"
            )
        return AuthRequiredError(
            f"Dropbox no longer accepts Keepsake's sign-in (it was revoked or has expired). "
            f"{_RECONNECT}"
        )

    @property
    def on_wait(self) -> WaitCallback | None:
        return self._retry.on_wait

    @on_wait.setter
    def on_wait(self, callback: WaitCallback | None) -> None:
        self._retry.on_wait = callback

    def _backoff(self, exc: TransientStorageError, attempt: int, what: str) -> None:
        self._retry.wait(exc, attempt, what)

    def _retrying(self, what: str, fn: Callable[[], T]) -> T:
        return self._retry.call(what, fn, on_failure=self._note_failure)

    # -- internals: flaky-link mode -------------------------------------------------

    def _is_flaky(self) -> bool:
        with self._flaky_lock:
            return self._flaky_until > 0

    def _note_failure(self) -> None:
        with self._flaky_lock:
            self._flaky_until = 20

    def _note_success(self) -> None:
        with self._flaky_lock:
            self._flaky_until = max(0, self._flaky_until - 1)

    # -- internals: uploads ------------------------------------------------------------

    def _verify(self, name: str, md: Any, size: int, local_hash: str) -> None:
        if int(md.size) != size or md.content_hash != local_hash:
            self._note_failure()
            raise TransientStorageError(
                f"Dropbox stored {name} differently from what was sent; uploading it again."
            )
        self._note_success()

    def _simple_upload(
        self, name: str, path: str, data: bytes | bytearray | memoryview, view: memoryview
    ) -> None:
        body = data if isinstance(data, bytes) else view.tobytes()
        local_hash = content_hash(view)
        try:
            md = self._sdk(
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
            self._note_failure()
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
        started = self._retrying(
            name,
            lambda: self._sdk(
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
                self._note_success()
            except _OffsetMismatch as exc:
                corrections += 1
                if corrections > self._attempts or not 0 <= exc.correct_offset <= total:
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
                self._note_failure()
                failures += 1
                if failures >= self._attempts:
                    raise
                self._backoff(exc, failures, name)

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
            raise self._translate(exc, name) from exc
        except Exception as exc:
            raise self._translate(exc, name) from exc

    def _already_saved(self, name: str, path: str, size: int, local_hash: str) -> bool:
        """After a finish whose reply was lost: did the file land anyway?"""
        try:
            md = self._retrying(
                name, lambda: self._sdk(name, lambda: self._client.files_get_metadata(path))
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
            started = self._retrying(name, functools.partial(self._sdk, name, start))
            cursor = dbx_files.UploadSessionCursor(started.session_id, len(view))
            commit = dbx_files.CommitInfo(path, mode=dbx_files.WriteMode.overwrite, mute=True)
            entries.append(dbx_files.UploadSessionFinishArg(cursor, commit))
        result = self._retrying(
            "a batch of objects",
            lambda: self._sdk(
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
                error = self._translate(ApiError(None, failure, None, None), name)
                if not isinstance(error, TransientStorageError):
                    raise error
            # A refused or mismatched entry: save it on its own (the caller retries that).
            self._simple_upload(name, f"{self._root}/{name}", view, view)

    # -- internals: downloads, listing, deletes -----------------------------------------

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

        return self._sdk(name, call)

    def _list(self, prefix: str) -> _Infos:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        folder_path = f"{self._root}/{folder}" if folder else self._root
        restarts = 0
        while True:
            found: dict[str, ObjectInfo] = {}
            try:
                result = self._sdk(
                    f"listing {prefix or 'the vault'}",
                    lambda: self._client.files_list_folder(
                        folder_path, recursive=True, limit=self.list_page_size
                    ),
                )
            except NotFoundInStorage:
                return []
            while True:
                self._collect(result.entries, prefix, found)
                if not result.has_more:
                    return list(found.values())
                cursor = result.cursor
                try:
                    # A failed page is retried with the same cursor, not the whole listing.
                    result = self._retrying(
                        f"listing {prefix}",
                        functools.partial(self._continue_listing, cursor, prefix),
                    )
                except ApiError as exc:
                    if not exc.error.is_reset():
                        raise self._translate(exc, f"listing {prefix}") from exc
                    restarts += 1
                    if restarts >= self._attempts:
                        raise TransientStorageError(
                            "Dropbox kept invalidating the folder listing."
                        ) from exc
                    break  # the cursor was invalidated: list again from the start
                except Exception as exc:
                    raise self._translate(exc, f"listing {prefix}") from exc

    def _continue_listing(self, cursor: str, prefix: str) -> Any:
        """One page; a cursor reset passes through untranslated so _list can restart."""
        try:
            return self._client.files_list_folder_continue(cursor)
        except ApiError:
            raise
        except Exception as exc:
            raise self._translate(exc, f"listing {prefix}") from exc

    def _collect(self, entries: Iterable[Any], prefix: str, found: dict[str, ObjectInfo]) -> None:
        for entry in entries:
            if not isinstance(entry, dbx_files.FileMetadata):
                continue
            lower = entry.path_lower or (entry.path_display or "").lower()
            if not lower.startswith(self._root_lower):
                continue
            name = lower[len(self._root_lower) :]
            if name.startswith(prefix):
                found[name] = ObjectInfo(name, int(entry.size))

    def _delete_batch(self, paths: _Paths) -> None:
        pending = paths
        attempt = 0
        while pending:
            entries = [dbx_files.DeleteArg(p) for p in pending]
            launch_call = functools.partial(self._client.files_delete_batch, entries)
            launch = self._retrying(
                "deleting old objects",
                functools.partial(self._sdk, "deleting old objects", launch_call),
            )
            if launch.is_complete():
                status = launch.get_complete()
            else:
                status = self._wait_for_job(launch.get_async_job_id())
            retry: _Paths = []
            if status is None:
                retry = pending  # the whole job failed with too_many_write_operations
            else:
                for path, outcome in zip(pending, status.entries, strict=True):
                    if outcome.is_success():
                        continue
                    error = self._translate(ApiError(None, outcome.get_failure(), None, None), path)
                    if isinstance(error, NotFoundInStorage):
                        continue
                    if isinstance(error, TransientStorageError):
                        retry.append(path)
                    else:
                        raise error
            pending = retry
            if pending:
                attempt += 1
                if attempt >= self._attempts:
                    raise RateLimitedError("Dropbox is too busy to delete old objects now.")
                self._backoff(RateLimitedError("Dropbox is busy."), attempt, "deleting old objects")

    def _wait_for_job(self, job_id: str) -> Any:
        """Poll a delete_batch job; ``None`` means it failed and should be re-run."""
        delay = 0.05
        deadline = time.monotonic() + 600
        while True:
            status = self._retrying(
                "deleting old objects",
                lambda: self._sdk(
                    "deleting old objects", lambda: self._client.files_delete_batch_check(job_id)
                ),
            )
            if status.is_complete():
                return status.get_complete()
            if status.is_failed():
                return None
            if time.monotonic() > deadline:
                raise TransientStorageError("Dropbox took too long to delete old objects.")
            self._sleep(delay)
            delay = min(delay * 2, 2.0)


#: The retrying decorator typed with its Dropbox backend (``.inner`` is one).
DropboxRetryingStorage = RetryingStorage[DropboxStorage]


def open_dropbox_storage(
    vault: str,
    *,
    on_wait: WaitCallback | None = None,
    secret_lookup: Callable[[str], str | None] | None = None,
    env: Mapping[str, str] | None = None,
    max_concurrent_uploads: int = 4,
    bandwidth_limit_kib: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RetryingStorage[DropboxStorage]:
    """Open ``dropbox:VAULT`` from the environment and the keyring (via ``secret_lookup``).

    Raises ``AuthRequiredError`` when Dropbox is not connected. The result retries
    transient failures (8 attempts, 0.5 s doubling to 30 s, jittered; a 429 waits as
    long as Dropbox asks) and reports each wait through ``on_wait``.
    """
    env = os.environ if env is None else env
    storage = DropboxStorage(
        vault,
        credentials=resolve_credentials(env, secret_lookup),
        endpoints=DropboxEndpoints.from_env(env),
        ca_bundle=env.get(ENV_CA_BUNDLE) or None,
        max_concurrent_uploads=max_concurrent_uploads,
        bandwidth_limit_kib=bandwidth_limit_kib,
        sleep=sleep,
        on_wait=on_wait,
    )
    return RetryingStorage(
        storage, attempts=8, base_delay=0.5, max_delay=30.0, sleep=sleep, on_wait=on_wait
    )
