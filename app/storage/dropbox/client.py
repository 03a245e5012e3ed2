"""The official SDK client with our hosts and one token refresh at a time.

The SDK reads ``DROPBOX_*_HOST`` once at import and binds the token-refresh host
at definition time; this subclass takes the hosts when a storage is opened, and
serialises refreshes so several upload threads hitting an expired token at once
refresh it once.
"""

from __future__ import annotations

import threading
from typing import Any

import dropbox
from dropbox.session import HOST_API, HOST_CONTENT, HOST_NOTIFY

from app.storage.dropbox.config import DropboxEndpoints


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
