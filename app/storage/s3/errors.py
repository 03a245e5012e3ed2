"""botocore's exceptions, turned into Keepsake's error types with messages people act on.

botocore retries are switched off (``total_max_attempts=1``) so that every failure
lands here: throttling (503 SlowDown, 429) becomes ``RateLimitedError`` and 5xx,
dropped connections and cut bodies ``TransientStorageError``, which the shared
``Backoff`` retries and reports; wrong keys, a missing bucket or a missing permission
become answers that are raised at once and say what to fix.
"""

from __future__ import annotations

from typing import Any

from botocore import exceptions as bex
from urllib3 import exceptions as u3ex

from app.core.errors import (
    AuthRequiredError,
    NotFoundInStorage,
    RateLimitedError,
    StorageError,
    StorageFullError,
    StorageUnavailableError,
    TransientStorageError,
)

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_THROTTLED = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequests",
    "RequestThrottled",
    "ServiceUnavailable",
    "503",
}
_TRANSIENT = {
    "InternalError",
    "RequestTimeout",
    "BadDigest",  # Content-MD5 mismatch: the body was damaged on the way
    "XAmzContentSHA256Mismatch",
    "IncompleteBody",
    "OperationAborted",
}
_BAD_KEY = {"InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException"}
_BAD_SECRET = {"SignatureDoesNotMatch"}
_EXPIRED = {"ExpiredToken", "InvalidToken", "TokenRefreshRequired", "ExpiredTokenException"}
_DENIED = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden", "AccountProblem"}
_FULL = {"QuotaExceeded", "StorageQuotaExceeded", "StorageCapExceeded", "InsufficientStorage"}


def _retry_after(headers: dict[str, Any]) -> float | None:
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def translate(exc: BaseException, what: str, *, bucket: str, where: str) -> StorageError:
    """Our error for a botocore/urllib3 failure while doing ``what`` in ``bucket``."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, bex.ClientError):
        return _client_error(exc, what, bucket=bucket, where=where)
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return AuthRequiredError(
            "No S3 credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE), or enter the keys in Settings > Storage."
        )
    if isinstance(exc, bex.ProfileNotFound):
        return AuthRequiredError(f"{exc}: check AWS_PROFILE and ~/.aws/config.")
    if isinstance(exc, bex.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify" in str(exc):
            return StorageUnavailableError(
                f"Could not verify the security certificate of {where}. For a server with "
                "its own certificate authority, set KEEPSAKE_S3_CA_BUNDLE to its CA file."
            )
        return TransientStorageError(f"The secure connection to {where} was interrupted.")
    if isinstance(exc, bex.EndpointConnectionError | bex.ConnectTimeoutError):
        return TransientStorageError(f"Could not connect to {where}.")
    if isinstance(
        exc,
        bex.ConnectionClosedError
        | bex.ReadTimeoutError
        | bex.ResponseStreamingError
        | bex.IncompleteReadError
        | bex.HTTPClientError
        | u3ex.HTTPError
        | ConnectionError
        | TimeoutError,
    ):
        return TransientStorageError(f"The connection to {where} was interrupted.")
    if isinstance(exc, bex.ResponseParserError):
        # A reply cut or garbled on the way (a proxy, a dropped connection).
        return TransientStorageError(f"{where} sent an unreadable reply.")
    if isinstance(exc, bex.ParamValidationError):
        return StorageError(f"Keepsake built an invalid S3 request for {what}: {exc}")
    return StorageError(f"S3 failed on {what}: {exc}")


def _client_error(exc: bex.ClientError, what: str, *, bucket: str, where: str) -> StorageError:
    response: dict[str, Any] = exc.response
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "") or "")
    meta = response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode", 0) or 0)
    headers: dict[str, Any] = meta.get("HTTPHeaders", {}) or {}
    if code in _NOT_FOUND:
        return NotFoundInStorage(f"{what} does not exist.")
    if code == "NoSuchBucket":
        return StorageUnavailableError(
            f"The bucket {bucket} does not exist at {where}. Create it in your provider's "
            "console, or check the bucket name, the endpoint and the region."
        )
    if code == "NoSuchUpload":
        return TransientStorageError(f"The upload of {what} was cancelled by the server.")
    if code == "InvalidRange":
        return NotFoundInStorage(f"{what}: the range is past the end of the object.")
    if code in _THROTTLED or status in (429, 503):
        return RateLimitedError(
            f"{where} asks Keepsake to slow down.", retry_after=_retry_after(headers)
        )
    if code in _TRANSIENT or status >= 500 or status in (408, 425):
        return TransientStorageError(f"{where} had a temporary problem ({code or status}).")
    if code in _FULL or "cap exceeded" in message.lower() or "quota" in message.lower():
        return StorageFullError(
            f"The S3 account at {where} is out of space or over its cap, so saving {what} "
            "failed. Everything saved before is safe. Raise the cap or free space, then run "
            "the backup again."
        )
    if code in _BAD_KEY:
        return AuthRequiredError(
            f"{where} does not know this S3 access key ID. Check AWS_ACCESS_KEY_ID (or the "
            "key in Settings > Storage) and the endpoint."
        )
    if code in _BAD_SECRET:
        return AuthRequiredError(
            f"{where} refused the S3 secret key (the signature does not match). Check "
            "AWS_SECRET_ACCESS_KEY (or the key in Settings > Storage)."
        )
    if code in _EXPIRED:
        return AuthRequiredError(
            f"The S3 session token for {where} has expired: get new credentials."
        )
    if code in _DENIED or status == 403:
        return AuthRequiredError(
            f"{where} refused {what} in bucket {bucket}: the key is wrong or lacks permission "
            "(Keepsake needs to list, read, write and delete objects in the bucket)."
        )
    if code == "RequestTimeTooSkewed":
        return StorageError(
            f"{where} refused the request because this computer's clock is wrong: set the "
            "date and time correctly."
        )
    if code in (
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
    ):
        return StorageUnavailableError(
            f"The bucket {bucket} is in another region than the one Keepsake used: set "
            "AWS_DEFAULT_REGION to the bucket's region (or use the region's endpoint)."
        )
    return StorageError(f"{where} refused {what}: {code or status} {message}".strip())
