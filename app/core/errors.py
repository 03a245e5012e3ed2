"""Errors with a stable code and a message a person can act on.

Frontends (CLI, GUI) map codes to exit statuses and translated texts, so a code is
never renamed once released. Per-file problems are *warnings* (collected, the job goes
on); an ``AppError`` is fatal to the job it escapes from.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable identifiers; the value is what logs and JSON show."""

    GENERIC = "error"
    USAGE = "usage"
    WRONG_PASSWORD = "wrong_password"
    VAULT_NOT_FOUND = "vault_not_found"
    VAULT_EXISTS = "vault_exists"
    VAULT_CORRUPT = "vault_corrupt"
    VAULT_UNSUPPORTED = "vault_unsupported"
    WEAK_KDF = "weak_kdf"
    SNAPSHOT_NOT_FOUND = "snapshot_not_found"
    SNAPSHOT_AMBIGUOUS = "snapshot_ambiguous"
    PATH_NOT_FOUND = "path_not_found"
    STORAGE = "storage"
    STORAGE_FULL = "storage_full"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    AUTH_REQUIRED = "auth_required"
    LOCKED = "locked"
    CANCELLED = "cancelled"
    UNSAFE_PATH = "unsafe_path"
    RESTORE_FAILED = "restore_failed"


class AppError(Exception):
    """A fatal, user-explainable failure.

    ``message`` is one sentence for a person (no traceback, no internals) and should
    say what to do where that is known.
    """

    code: ErrorCode = ErrorCode.GENERIC

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class WrongPasswordError(AppError):
    code = ErrorCode.WRONG_PASSWORD


class VaultNotFoundError(AppError):
    code = ErrorCode.VAULT_NOT_FOUND


class VaultCorruptError(AppError):
    code = ErrorCode.VAULT_CORRUPT


class StorageError(AppError):
    """A storage backend failed in a way retrying did not fix."""

    code = ErrorCode.STORAGE


class NotFoundInStorage(StorageError):
    """The named object does not exist (not retried: absence is an answer)."""

    code = ErrorCode.STORAGE


class StorageFullError(StorageError):
    code = ErrorCode.STORAGE_FULL


class StorageUnavailableError(StorageError):
    code = ErrorCode.STORAGE_UNAVAILABLE


class AuthRequiredError(StorageError):
    """Credentials are missing, expired beyond refresh, or revoked: reconnect."""

    code = ErrorCode.AUTH_REQUIRED


class LockedError(AppError):
    code = ErrorCode.LOCKED


class CancelledError(AppError):
    code = ErrorCode.CANCELLED

    def __init__(self, message: str = "The job was cancelled.") -> None:
        super().__init__(message)


class UnsafePathError(AppError):
    code = ErrorCode.UNSAFE_PATH


class TransientStorageError(StorageError):
    """A failure worth retrying (5xx, reset connection, timeout, truncated body).

    ``retry_after`` is the server's requested wait in seconds, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(TransientStorageError):
    """The service asked us to slow down (HTTP 429)."""
