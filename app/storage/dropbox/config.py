"""Where and as whom: API hosts, credentials, limits and vault names.

Nothing here talks to the network or imports the SDK: the CLI and the desktop
wizard read these names (keyring entries, environment variables) without paying
for the SDK import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.core.errors import AuthRequiredError, StorageError

MiB = 1024 * 1024

#: Dropbox refuses request bodies over 150 MiB (files/upload and each session call).
MAX_REQUEST_BYTES = 150 * MiB
#: Entries per delete_batch / finish_batch_v2 call (the API's maximum).
BATCH_LIMIT = 1000


def _built_in_app_key() -> str:
    """The app key a packager baked into this build (``installers/build.py`` writes
    ``app/core/_build_config.py`` from ``KEEPSAKE_DROPBOX_APP_KEY``); '' otherwise."""
    try:
        from app.core import _build_config  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return ""
    return str(getattr(_build_config, "DROPBOX_APP_KEY", "") or "")


#: Built-in app key of this build; empty when the packager set none (the desktop
#: wizard then guides the user through registering an app of their own).
DEFAULT_APP_KEY = _built_in_app_key()
#: Keyring entry names (service ``keepsake``) the backend asks ``secret_lookup`` for.
REFRESH_TOKEN_SECRET = "dropbox-refresh-token"
APP_KEY_SECRET = "dropbox-app-key"

ENV_ACCESS_TOKEN = "KEEPSAKE_DROPBOX_ACCESS_TOKEN"
ENV_APP_KEY = "KEEPSAKE_DROPBOX_APP_KEY"
ENV_CA_BUNDLE = "KEEPSAKE_DROPBOX_CA_BUNDLE"

_VAULT_NAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9 ._-]{0,99}$")
_DISALLOWED = {"desktop.ini", "thumbs.db", ".ds_store", ".dropbox", ".dropbox.attr"}


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
