"""Connect a Dropbox account (OAuth 2 PKCE) for the wizard, without blocking the GUI.

Wraps ``app.storage.dropbox_auth`` (imported lazily: it pulls in the Dropbox SDK).
The refresh token goes to the keyring as ``dropbox-refresh-token``; it never
reaches settings or logs.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import Callable
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import AppError
from app.services.jobs import JobOutcome, JobRunner
from app.store.secrets import DROPBOX_REFRESH_TOKEN

log = logging.getLogger(__name__)


class DropboxConnector:
    def __init__(
        self,
        runner: JobRunner,
        save_secret: Callable[[str, str], None],
        app_key: Callable[[], str] = lambda: os.environ.get("KEEPSAKE_DROPBOX_APP_KEY", ""),
    ) -> None:
        self._runner = runner
        self._save_secret = save_secret
        self._app_key = app_key
        self._flow: Any = None

    @staticmethod
    def available() -> bool:
        try:
            return importlib.util.find_spec("app.storage.dropbox_auth") is not None
        except (ImportError, ValueError):
            return False

    def start(self) -> str:
        """Begin the PKCE flow; returns the URL the user opens to allow access."""
        dropbox_auth: Any = importlib.import_module("app.storage.dropbox_auth")

        starter = getattr(dropbox_auth, "start_flow", None) or dropbox_auth.start
        key = self._app_key()
        try:
            self._flow = starter(key) if key else starter()
        except TypeError:
            self._flow = starter()
        url = getattr(self._flow, "authorize_url", None) or getattr(self._flow, "url", None)
        if url is None and isinstance(self._flow, tuple):
            url = next((x for x in self._flow if isinstance(x, str)), None)
        if not url:
            raise AppError("Could not start the Dropbox sign-in.")
        return str(url)

    def finish(self, code: str, done: Callable[[JobOutcome], None]) -> None:
        """Exchange the code for tokens on the worker thread and store the refresh token."""
        flow = self._flow

        def work(_: CancelToken) -> bool:
            dropbox_auth: Any = importlib.import_module("app.storage.dropbox_auth")

            if flow is None:
                raise AppError("Start the Dropbox sign-in first.")
            finisher = getattr(flow, "finish", None)
            tokens = finisher(code) if finisher else dropbox_auth.finish(flow, code)
            refresh = getattr(tokens, "refresh_token", None)
            if refresh is None and isinstance(tokens, dict):
                refresh = tokens.get("refresh_token")
            if not refresh:
                raise AppError("Dropbox did not return a refresh token; please try again.")
            self._save_secret(DROPBOX_REFRESH_TOKEN, str(refresh))
            return True

        self._runner.call("dropbox_connect", work, done)
