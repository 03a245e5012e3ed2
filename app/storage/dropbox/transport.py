"""The HTTP session under the SDK and the OAuth flow: TLS trust and upload pacing.

The SDK reads ``REQUESTS_CA_BUNDLE`` and friends in ways that silently replace its
``ca_certs``; we build the TLS context ourselves (the usual roots plus an extra CA
file, for the emulator and TLS-inspecting proxies) and keep requests from swapping
it out. Request bodies go out through the storage ``Limiter`` in 64 KiB pieces, so
the upload limit holds on the wire, across every connection, and follows a rate
change from the next piece on.
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool

from app.core.errors import StorageUnavailableError
from app.storage.dropbox.config import ENV_CA_BUNDLE
from app.storage.limiter import Limiter


def _throttled_pool(limiter: Limiter) -> type[HTTPSConnectionPool]:
    """An HTTPS pool whose connections send request bodies through ``limiter``."""

    class ThrottledConnection(HTTPSConnection):
        def send(self, data: Any) -> None:
            if not isinstance(data, bytes | bytearray | memoryview):
                super().send(data)
                return
            for piece in limiter.paced(data):
                super().send(piece)

    class ThrottledPool(HTTPSConnectionPool):
        ConnectionCls = ThrottledConnection

    return ThrottledPool


class _Adapter(HTTPAdapter):
    """Mounts our TLS context (default roots + extra CA) and the bandwidth limit."""

    def __init__(
        self, ssl_context: ssl.SSLContext | None, limiter: Limiter | None, pool_size: int
    ) -> None:
        self._ssl_context = ssl_context
        self._limiter = limiter
        super().__init__(pool_connections=4, pool_maxsize=pool_size)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **kw: Any
    ) -> None:
        if self._ssl_context is not None:
            kw["ssl_context"] = self._ssl_context
        super().init_poolmanager(connections, maxsize, block, **kw)
        if self._limiter is not None:
            classes = dict(self.poolmanager.pool_classes_by_scheme)
            classes["https"] = _throttled_pool(self._limiter)
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
    limiter: Limiter | None = None,
    pool_size: int = 8,
) -> requests.Session:
    """The HTTP session for the SDK client and the OAuth flow.

    With ``ca_bundle``, certificates are checked against the usual roots (certifi,
    plus ``REQUESTS_CA_BUNDLE`` when set) *and* that file, so the emulator and a
    TLS-inspecting proxy both work without turning verification off. With
    ``limiter``, request bodies are paced by it (its rate may change at any time).
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
    session.mount("https://", _Adapter(context, limiter, pool_size))
    return session
