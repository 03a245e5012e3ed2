"""Connect a Dropbox account (OAuth 2 with PKCE) for the wizard, off the GUI thread.

Wraps ``app.storage.dropbox.auth``: ``start`` builds the authorize URL (no network),
``finish`` trades the pasted code for tokens on the worker thread. The refresh token
and the app key that issued it go to the keyring (``dropbox-refresh-token``,
``dropbox-app-key``), never to settings or logs. Only ``app.main`` imports this
module; the wizard sees it through a small protocol.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from app.core.cancel import CancelToken
from app.core.errors import AppError
from app.services.gateway import DROPBOX_MODULES, prewarm
from app.services.jobs import JobKind, JobOutcome, JobRunner
from app.store.secrets import DROPBOX_REFRESH_TOKEN

if TYPE_CHECKING:  # imported when the user connects, so the SDK never slows start-up
    from app.storage.dropbox.auth import ConnectFlow

log = logging.getLogger(__name__)

DROPBOX_APP_KEY = "dropbox-app-key"


def built_in_app_key() -> str:
    """The key a packager built in (see installers/README.md), or ''."""
    try:
        from app.storage.dropbox.config import DEFAULT_APP_KEY
    except ImportError:  # a build without the Dropbox SDK
        return ""
    return DEFAULT_APP_KEY


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
        self._flow: ConnectFlow | None = None

    @staticmethod
    def available() -> bool:
        """True when the Dropbox SDK and our connect code are installed."""
        try:
            return all(
                importlib.util.find_spec(name) is not None
                for name in ("dropbox", "app.storage.dropbox.auth")
            )
        except (ImportError, ValueError):
            return False

    def start(self) -> str:
        """Begin the PKCE flow; returns the URL the user opens to allow access.

        Raises AppError when no app key is configured.
        """
        prewarm(DROPBOX_MODULES + ("app.storage.dropbox.auth",))
        from app.storage.dropbox.auth import start_connect

        self._flow = start_connect(self.app_key())
        return str(self._flow.authorize_url)

    def app_key(self) -> str:
        """The key connecting will use: settings, environment, or built into this build."""
        return self._app_key() or built_in_app_key()

    def check_key(self, key: str, done: Callable[[JobOutcome[None]], None]) -> None:
        """Ask Dropbox (on the worker thread) whether ``key`` is a registered app's."""
        prewarm(DROPBOX_MODULES + ("app.storage.dropbox.auth",))

        def work(_: CancelToken) -> None:
            from app.storage.dropbox.auth import check_app_key

            check_app_key(key)

        self._runner.call(JobKind.DROPBOX_CONNECT, work, done)

    def finish(self, code: str, done: Callable[[JobOutcome[str]], None]) -> None:
        """Exchange the code for tokens on the worker thread and keep them in the keyring."""
        flow = self._flow

        def work(_: CancelToken) -> str:
            if flow is None:
                raise AppError(
                    QCoreApplication.translate(
                        "Dropbox", "Open Dropbox in the browser first, then paste its code."
                    )
                )
            tokens = flow.finish(code)
            self._save_secret(DROPBOX_REFRESH_TOKEN, tokens.refresh_token)
            self._save_secret(DROPBOX_APP_KEY, tokens.app_key)
            return str(tokens.account_id)

        self._runner.call(JobKind.DROPBOX_CONNECT, work, done)
