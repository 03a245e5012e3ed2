"""Every SDK failure becomes one of our error types, with words a person can act on.

Transient failures (5xx, 429 with the server's ``retry_after``, resets, cut or
garbled replies, ``too_many_write_operations``) become ``TransientStorageError``
or ``RateLimitedError`` so a retry follows; answers (not found, a full Dropbox, a
revoked sign-in, a refused request) are raised at once. The SDK's own retries are
turned off (see ``DropboxStorage``) because it retries 429 forever and 5xx with
sleeps we can neither shorten nor report.
"""

from __future__ import annotations

from typing import Any

import requests
import urllib3
from dropbox.exceptions import (
    ApiError,
    AuthError,
    BadInputError,
    HttpError,
    InternalServerError,
    RateLimitError,
)
from dropbox.stone_validators import ValidationError

from app.core.errors import (
    AuthRequiredError,
    NotFoundInStorage,
    RateLimitedError,
    StorageError,
    StorageFullError,
    StorageUnavailableError,
    TransientStorageError,
)
from app.storage.dropbox.config import ENV_ACCESS_TOKEN, ENV_APP_KEY, ENV_CA_BUNDLE

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


def union_tags(value: Any) -> list[str]:
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


def translate(exc: BaseException, what: str, *, refreshable: bool) -> StorageError:
    """Our error for ``exc`` raised while working on ``what`` (an object name or a
    task such as "listing index/"). ``refreshable``: the credentials hold a refresh
    token, so an expired access token is not the user's problem."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, ApiError):
        return _translate_api(exc, what)
    if isinstance(exc, AuthError):
        return _translate_auth(exc, refreshable=refreshable)
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
        return TransientStorageError(f"Dropbox sent an unexpected reply ({type(exc).__name__}).")
    return StorageError(f"Dropbox failed on {what}: {exc}")


def _translate_api(exc: ApiError, what: str) -> StorageError:
    tags = union_tags(exc.error)
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


def _translate_auth(exc: AuthError, *, refreshable: bool) -> StorageError:
    tags = union_tags(exc.error)
    if "missing_scope" in tags:
        return AuthRequiredError(f"Keepsake lacks a Dropbox permission it needs. {_RECONNECT}")
    if "user_suspended" in tags:
        return AuthRequiredError("This Dropbox account is suspended.")
    if "expired_access_token" in tags and not refreshable:
        return AuthRequiredError(
            f"The Dropbox access token ({ENV_ACCESS_TOKEN}) has expired. {_RECONNECT}"
        )
    return AuthRequiredError(
        f"Dropbox no longer accepts Keepsake's sign-in (it was revoked or has expired). "
        f"{_RECONNECT}"
    )
