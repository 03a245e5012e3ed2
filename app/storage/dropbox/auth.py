"""Connecting a Dropbox account: OAuth 2 with PKCE and an offline refresh token.

A desktop app cannot keep an app secret, so we use PKCE (RFC 7636): ``start_connect``
makes a one-time verifier and returns the authorize URL; the user approves in a
browser and pastes the code Dropbox shows; ``ConnectFlow.finish`` trades the code
(plus the verifier) for tokens. ``token_access_type=offline`` gets a long-lived
refresh token, which is the only thing worth storing: access tokens last four hours
and the backend refreshes them itself.

Nothing here touches the keyring (that belongs to ``app.store``): the CLI and the
desktop wizard store ``DropboxTokens.refresh_token`` and ``app_key`` themselves.
Hosts and TLS follow the same explicit rules as the backend (``client``, ``transport``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dropbox
import requests
from dropbox.exceptions import AuthError

from app.core.errors import AppError, AuthRequiredError, StorageUnavailableError
from app.storage.dropbox.client import SdkClient
from app.storage.dropbox.config import ENV_CA_BUNDLE, DropboxCredentials, DropboxEndpoints
from app.storage.dropbox.transport import make_session


@dataclass(frozen=True, slots=True)
class DropboxTokens:
    """What a finished connect yields. ``repr`` never shows the tokens."""

    refresh_token: str = field(repr=False)
    access_token: str = field(repr=False)
    expires_at: datetime | None
    account_id: str
    app_key: str


class _Flow(dropbox.DropboxOAuth2FlowNoRedirect):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's no-redirect flow with our hosts (it froze them at import) and session."""

    def __init__(self, endpoints: DropboxEndpoints, session: requests.Session, **kw: Any) -> None:
        super().__init__(**kw)
        self._endpoints = endpoints
        self.requests_session = session

    def build_url(self, target: str, params: Any = None, host: str | None = None) -> str:
        if target == "/oauth2/authorize":
            host = self._endpoints.web_host
        else:
            host = self._endpoints.api_host
        return f"https://{host}{self.build_path(target, params)}"


class ConnectFlow:
    """One connect attempt; keep it between showing the URL and reading the code."""

    def __init__(self, flow: _Flow, app_key: str, authorize_url: str) -> None:
        self._flow = flow
        self.app_key = app_key
        self.authorize_url = authorize_url

    def finish(self, code: str) -> DropboxTokens:
        """Trade the pasted code for tokens.

        Raises ``AuthRequiredError`` when Dropbox refuses the code (mistyped, used
        twice, or older than ten minutes: start again) and
        ``StorageUnavailableError`` when Dropbox cannot be reached.
        """
        code = code.strip()
        if not code:
            raise AppError(
                "No code was entered. Copy the code Dropbox shows after you click Allow."
            )
        try:
            result = self._flow.finish(code)
        except requests.HTTPError as exc:
            raise AuthRequiredError(
                "Dropbox did not accept that code. Codes work once and expire after a few "
                "minutes; start connecting again."
            ) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise StorageUnavailableError(
                "Could not reach Dropbox. Check the internet connection and try again."
            ) from exc
        except (KeyError, ValueError) as exc:
            raise StorageUnavailableError("Dropbox sent an unexpected reply; try again.") from exc
        if not result.refresh_token:
            raise AuthRequiredError("Dropbox did not grant offline access; start connecting again.")
        expires = result.expires_at.replace(tzinfo=UTC) if result.expires_at else None
        return DropboxTokens(
            refresh_token=result.refresh_token,
            access_token=result.access_token,
            expires_at=expires,
            account_id=result.account_id,
            app_key=self.app_key,
        )


def start_connect(
    app_key: str,
    *,
    endpoints: DropboxEndpoints | None = None,
    ca_bundle: str | None = None,
    timeout: float = 30.0,
) -> ConnectFlow:
    """Begin connecting: returns the flow whose ``authorize_url`` the user must open."""
    if not app_key:
        raise AppError(
            "No Dropbox app key is configured. Set KEEPSAKE_DROPBOX_APP_KEY or the app key "
            "in settings."
        )
    endpoints = endpoints or DropboxEndpoints.from_env()
    if ca_bundle is None:  # the same extra CA the backend trusts (tests, proxies)
        ca_bundle = os.environ.get(ENV_CA_BUNDLE) or None
    flow = _Flow(
        endpoints,
        make_session(ca_bundle=ca_bundle),
        consumer_key=app_key,
        use_pkce=True,
        token_access_type="offline",
        timeout=timeout,
    )
    return ConnectFlow(flow, app_key, str(flow.start()))


def check_app_key(
    app_key: str,
    *,
    endpoints: DropboxEndpoints | None = None,
    ca_bundle: str | None = None,
    timeout: float = 15.0,
) -> None:
    """Ask Dropbox whether ``app_key`` belongs to a registered app, before sending the
    user off to sign in with it. A token request with a made-up code is refused
    either way, but as ``invalid_grant`` for a real app and ``invalid_client`` for an
    unknown key; nothing is granted. Raises ``AuthRequiredError`` for an unknown key
    and ``StorageUnavailableError`` when Dropbox cannot be reached."""
    endpoints = endpoints or DropboxEndpoints.from_env()
    if ca_bundle is None:
        ca_bundle = os.environ.get(ENV_CA_BUNDLE) or None
    session = make_session(ca_bundle=ca_bundle)
    try:
        reply = session.post(
            f"https://{endpoints.api_host}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": "keepsake-app-key-check",
                "client_id": app_key,
                "code_verifier": "k" * 64,
            },
            timeout=timeout,
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise StorageUnavailableError(
            "Could not reach Dropbox to check the app key. Check the internet connection."
        ) from exc
    finally:
        session.close()
    try:
        error = str(reply.json().get("error", ""))
    except ValueError:
        error = ""
    if error == "invalid_client" or reply.status_code == 401:
        raise AuthRequiredError(
            "Dropbox does not know this app key. Copy the App key (not the App secret) "
            "from your app's Settings page."
        )


def finish_connect(flow: ConnectFlow, code: str) -> DropboxTokens:
    """Function form of ``ConnectFlow.finish`` for callers that prefer it."""
    return flow.finish(code)


def account_email(
    credentials: DropboxCredentials,
    *,
    endpoints: DropboxEndpoints | None = None,
    ca_bundle: str | None = None,
) -> str:
    """The connected account's e-mail, to show "Connected as ann@example.com".

    Also proves the tokens work end to end (refresh included).
    """
    client = SdkClient(
        endpoints=endpoints or DropboxEndpoints.from_env(),
        oauth2_access_token=credentials.access_token,
        oauth2_refresh_token=credentials.refresh_token,
        app_key=credentials.app_key,
        max_retries_on_error=1,
        max_retries_on_rate_limit=1,
        session=make_session(ca_bundle=ca_bundle),
        timeout=30.0,
    )
    try:
        return str(client.users_get_current_account().email)
    except AuthError as exc:
        raise AuthRequiredError(
            "Dropbox no longer accepts Keepsake's sign-in. Connect Dropbox again."
        ) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise StorageUnavailableError("Could not reach Dropbox.") from exc
    finally:
        client.close()


# Short names for callers that prefer them (the desktop connector looks these up).
start_flow = start_connect
finish = finish_connect
