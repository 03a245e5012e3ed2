"""One SDK call at a time: translated errors, retries inside one operation.

Whole operations are retried by ``RetryingStorage`` around the backend; some
operations are long enough to deserve retries of their own parts (an upload
session's chunk, a listing page, a delete job's status poll). Those go through
``DropboxCalls.retrying``, with the same capped, jittered ``Backoff`` and the same
``on_wait`` report, and every failure also switches on flaky-link mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from app.core.errors import StorageError, TransientStorageError
from app.storage.dropbox.client import SdkClient
from app.storage.dropbox.errors import translate
from app.storage.dropbox.flaky import FlakyLink
from app.storage.retry import Backoff

T = TypeVar("T")


class DropboxCalls:
    """What the upload, listing and delete helpers share with the backend."""

    def __init__(
        self,
        client: SdkClient,
        *,
        refreshable: bool,
        backoff: Backoff,
        link: FlakyLink,
        sleep: Callable[[float], None],
    ) -> None:
        self.client = client
        self.backoff = backoff
        self.link = link
        self.sleep = sleep
        self._refreshable = refreshable

    @property
    def attempts(self) -> int:
        """Tries per part (chunk, page, job) before the whole operation fails."""
        return self.backoff.attempts

    def translate(self, exc: BaseException, what: str) -> StorageError:
        return translate(exc, what, refreshable=self._refreshable)

    def sdk(self, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call, turning every failure into one of our error types."""
        try:
            return fn()
        except Exception as exc:
            raise self.translate(exc, what) from exc

    def retrying(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying transient failures; the last one escapes."""
        return self.backoff.call(what, fn, on_failure=self.link.note_failure)

    def wait(self, exc: TransientStorageError, attempt: int, what: str) -> None:
        """Sleep before retry ``attempt`` of a part the caller retries itself."""
        self.backoff.wait(exc, attempt, what)
